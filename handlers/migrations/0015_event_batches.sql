-- The web edge commits concurrent webhooks as one batch: one job row (handle_events) for
-- several events, which may come from several NetBox requests. request_id keeps the one
-- request of a batch whose events share it; request_ids holds them all, for lookups.
ALTER TABLE jobs ADD COLUMN request_ids text[];
-- Built at the upgrade (`nzc migrate`, before the new web processes start); on a jobs
-- table of millions of rows it takes a while and holds up writes to jobs meanwhile.
CREATE INDEX jobs_request_ids_idx ON jobs USING gin (request_ids);

-- A batch's arguments are tens of kilobytes of JSON written once per batch on the
-- webhook's path: lz4 compresses them several times faster than the default pglz. A server
-- built without lz4 keeps pglz (slower, same behaviour).
DO $$
BEGIN
    ALTER TABLE jobs ALTER COLUMN args SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: job arguments stay compressed with pglz';
END $$;
