-- A reconcile run can succeed for most targets and fail for some: such a run is "partial",
-- and each failed target keeps its last error here until a run brings it in line.
ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'dead', 'replayed'));
CREATE TABLE target_failures (
    target     text PRIMARY KEY,
    job_id     text NOT NULL,
    error      text NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now()
);
