-- A replay is recorded on both rows: the original (status 'replayed', replayed_as the new
-- job) and the new one (replay_of the original), each with who asked, when and why.
ALTER TABLE jobs ADD COLUMN replayed_as text REFERENCES jobs (id);
ALTER TABLE jobs ADD COLUMN replay_requested_by text;
ALTER TABLE jobs ADD COLUMN replay_requested_at timestamptz;
ALTER TABLE jobs ADD COLUMN replay_reason text;
CREATE INDEX jobs_replay_of_idx ON jobs (replay_of) WHERE replay_of IS NOT NULL;
-- Failure groups read the failed rows of a window, newest first.
CREATE INDEX jobs_failed_finished_idx ON jobs (finished_at DESC)
    WHERE status IN ('failed', 'partial', 'dead');
