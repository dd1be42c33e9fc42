-- The web edge commits concurrent webhooks as one batch: one job row (handle_events) for
-- several events, which may come from several NetBox requests. request_id keeps the one
-- request of a batch whose events share it; request_ids holds them all, for lookups.
ALTER TABLE jobs ADD COLUMN request_ids text[];
CREATE INDEX jobs_request_ids_idx ON jobs USING gin (request_ids);
