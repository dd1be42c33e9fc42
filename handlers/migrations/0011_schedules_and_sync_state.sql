-- The recurring system jobs: when each was last enqueued and as which job. Its interval is
-- read from the settings row at every tick, so the next due time is derived, not stored,
-- and a changed interval applies at the next tick.
CREATE TABLE schedules (
    name              text PRIMARY KEY,
    last_enqueued_at  timestamptz,
    last_job_id       text
);
INSERT INTO schedules (name) VALUES
    ('import_zabbix_settings'), ('sync_hosts'), ('host_config_sync_refresh');

-- The full sync's own interval (SyncHostsNow on its schedule).
ALTER TABLE settings ADD COLUMN sync_hosts_interval_min integer NOT NULL DEFAULT 60
    CHECK (sync_hosts_interval_min > 0);

-- Each host config's sync state: when it was last compared with NetBox and Zabbix, and
-- the differences found, in words (empty when in sync).
ALTER TABLE host_configs ADD COLUMN checked_at timestamptz;
ALTER TABLE host_configs ADD COLUMN differences jsonb NOT NULL DEFAULT '[]';
