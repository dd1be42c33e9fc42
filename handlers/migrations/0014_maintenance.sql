-- Maintenance windows: planned by operators (owner 'operator') or driven by NetBox tags and
-- statuses named in the settings (owner 'netbox', open-ended: ends_at NULL). One Zabbix
-- maintenance per window while it has hosts or host groups (maintenanceid NULL otherwise).
CREATE TABLE maintenance_windows (
    id              serial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    description     text NOT NULL DEFAULT '',
    owner           text NOT NULL DEFAULT 'operator' CHECK (owner IN ('operator', 'netbox')),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz CHECK (ends_at IS NULL OR ends_at > starts_at),
    -- [{kind: once|daily|weekly|monthly, start_time: "HH:MM", duration_min, every, days}]
    periods         jsonb NOT NULL DEFAULT '[]',
    collect_data    boolean NOT NULL DEFAULT true,
    -- What it covers: {hosts, sites, regions, tenants, clusters, tags, statuses,
    -- host_groups, proxies, proxy_groups}, each a list of names (targets for hosts).
    scope           jsonb NOT NULL DEFAULT '{}',
    -- The Zabbix host groups of scope.host_groups, resolved when the window is written.
    groupids        text[] NOT NULL DEFAULT '{}',
    maintenanceid   text,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'active', 'expired', 'failed')),
    error           text,
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    applied_at      timestamptz,
    expired_at      timestamptz
);
CREATE INDEX maintenance_windows_live_idx ON maintenance_windows (ends_at)
    WHERE status <> 'expired';

-- The Zabbix hosts of each window: those of NetBox objects (target set) and those a proxy
-- or proxy group monitors that no host config names (target NULL).
CREATE TABLE maintenance_members (
    window_id  integer NOT NULL REFERENCES maintenance_windows (id) ON DELETE CASCADE,
    hostid     text NOT NULL,
    target     text,
    PRIMARY KEY (window_id, hostid)
);
CREATE INDEX maintenance_members_target_idx ON maintenance_members (target)
    WHERE target IS NOT NULL;

ALTER TABLE settings ADD COLUMN maintenance_tags text[] NOT NULL DEFAULT '{}';
ALTER TABLE settings ADD COLUMN maintenance_statuses text[] NOT NULL DEFAULT '{}';
ALTER TABLE settings ADD COLUMN maintenance_collect_data boolean NOT NULL DEFAULT true;
ALTER TABLE settings ADD COLUMN maintenance_retention_days integer NOT NULL DEFAULT 30
    CHECK (maintenance_retention_days > 0);
ALTER TABLE settings ADD COLUMN delete_during_maintenance boolean NOT NULL DEFAULT false;

INSERT INTO schedules (name) VALUES ('maintenance_cleanup') ON CONFLICT DO NOTHING;
