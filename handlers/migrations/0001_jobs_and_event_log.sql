-- One row per Dramatiq message: written when enqueued, updated by the job runner.
CREATE TABLE jobs (
    id           text PRIMARY KEY,                -- the Dramatiq message id
    actor        text NOT NULL,
    queue        text NOT NULL,
    targets      text[] NOT NULL DEFAULT '{}',    -- e.g. {dcim.device:42}; a reconcile run has many
    args         jsonb NOT NULL DEFAULT '[]',
    kwargs       jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'replayed')),
    attempts     integer NOT NULL DEFAULT 0,
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  double precision,
    result       jsonb,
    error        text,
    traceback    text,
    data         jsonb,
    pre_data     jsonb,
    post_data    jsonb,
    request_id   text,                            -- NetBox request_id when the job came from a webhook
    replay_of    text REFERENCES jobs (id)
);
CREATE INDEX jobs_status_enqueued_idx ON jobs (status, enqueued_at DESC);
CREATE INDEX jobs_targets_idx ON jobs USING gin (targets);
CREATE INDEX jobs_actor_idx ON jobs (actor, enqueued_at DESC);
CREATE INDEX jobs_enqueued_idx ON jobs (enqueued_at DESC);

-- What happened, always on; purged after settings.event_log_retention_days.
CREATE TABLE event_log (
    id          bigserial PRIMARY KEY,
    job_id      text REFERENCES jobs (id) ON DELETE SET NULL,
    target      text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    level       text NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
    message     text NOT NULL,
    data        jsonb
);
CREATE INDEX event_log_job_idx ON event_log (job_id, created_at);
CREATE INDEX event_log_target_idx ON event_log (target, created_at DESC);
CREATE INDEX event_log_created_idx ON event_log (created_at);
