-- Mapping rules: which NetBox devices/VMs get which templates, groups, proxy, interfaces.
CREATE TABLE mappings (
    id               serial PRIMARY KEY,
    name             text NOT NULL UNIQUE,
    object_type      text NOT NULL CHECK (object_type IN ('dcim.device', 'virtualization.virtualmachine')),
    is_default       boolean NOT NULL DEFAULT false,
    sites            text[] NOT NULL DEFAULT '{}',   -- NetBox slugs; empty = any
    roles            text[] NOT NULL DEFAULT '{}',
    platforms        text[] NOT NULL DEFAULT '{}',
    tags             text[] NOT NULL DEFAULT '{}',
    templates        text[] NOT NULL DEFAULT '{}',   -- Zabbix template names
    host_groups      text[] NOT NULL DEFAULT '{}',   -- Zabbix host group names (created on demand)
    proxy            text,
    proxy_group      text,
    interface_types  text[] NOT NULL DEFAULT '{agent}',
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX mappings_one_default_idx ON mappings (object_type) WHERE is_default;
INSERT INTO mappings (name, object_type, is_default, templates, host_groups)
VALUES ('default devices', 'dcim.device', true, '{ICMP Ping}', '{NetBox devices}'),
       ('default virtual machines', 'virtualization.virtualmachine', true, '{ICMP Ping}', '{NetBox virtual machines}');

-- One row per NetBox object the service manages in Zabbix.
CREATE TABLE host_configs (
    target          text PRIMARY KEY,                -- dcim.device:42
    hostid          text UNIQUE,
    host            text NOT NULL,
    name            text NOT NULL,
    mapping_id      integer REFERENCES mappings (id) ON DELETE SET NULL,
    in_sync         boolean NOT NULL DEFAULT true,
    last_diff       jsonb,
    last_synced_at  timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Targets an event touched and a reconcile run has not yet brought in line.
CREATE TABLE dirty_targets (
    target          text PRIMARY KEY,
    generation      bigint NOT NULL DEFAULT 1,
    reason          text NOT NULL,
    request_id      text,
    first_marked_at timestamptz NOT NULL DEFAULT now(),
    last_marked_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dirty_targets_first_idx ON dirty_targets (first_marked_at);

-- Set when a reconcile run has been asked for and has not started: a burst of events sends
-- one reconcile message, not one per event.
CREATE TABLE reconcile_state (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    pending  boolean NOT NULL DEFAULT false
);
INSERT INTO reconcile_state DEFAULT VALUES;
