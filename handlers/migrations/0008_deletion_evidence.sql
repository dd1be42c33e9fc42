-- Deletes need evidence: NetBox answers 404, or leaves an object out of a list, both when
-- the object is gone and when the token may not see it. A signed "deleted" webhook is kept
-- here until the reconcile run that deletes the host; a host whose object is missing
-- without evidence is kept and its host config says so.
CREATE TABLE deletion_evidence (
    target       text PRIMARY KEY,
    source       text NOT NULL,
    request_id   text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE host_configs ADD COLUMN missing_since timestamptz;
ALTER TABLE host_configs ADD COLUMN missing_reason text;
