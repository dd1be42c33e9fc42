-- NetBox requests whose change log the service read (or chose not to), so that a bulk
-- edit's many webhooks cause one read, whichever worker process handles them first.
CREATE TABLE netbox_requests (
    request_id  text PRIMARY KEY,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    read_at     timestamptz,
    changes     integer,                     -- change records read
    targets     integer,                     -- hosts marked dirty from them
    outcome     text,                        -- read, forbidden, failed
    error       text
);
CREATE INDEX netbox_requests_seen_idx ON netbox_requests (seen_at);

-- When a webhook's request is read from the change log: bulk (a request that is not about
-- one object's URL), always, or off (webhooks alone).
ALTER TABLE settings ADD COLUMN changelog_reads text NOT NULL DEFAULT 'bulk'
    CHECK (changelog_reads IN ('bulk', 'always', 'off'));
