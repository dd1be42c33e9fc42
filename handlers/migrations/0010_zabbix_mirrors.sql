-- Mirrors of what Zabbix has, imported by ImportZabbixSettings (nzc zabbix import), so that
-- mappings and settings can be checked against them without calling Zabbix.
CREATE TABLE zabbix_templates (
    id               text PRIMARY KEY,                 -- templateid
    name             text NOT NULL,                    -- technical name (template.host)
    visible_name     text NOT NULL,
    parent_ids       text[] NOT NULL DEFAULT '{}',     -- templates linked to it
    interface_kinds  text[] NOT NULL DEFAULT '{}',     -- interfaces its items need: agent, snmp, ipmi, jmx
    imported_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE zabbix_host_groups (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE zabbix_proxies (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE zabbix_proxy_groups (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    imported_at  timestamptz NOT NULL DEFAULT now()
);
