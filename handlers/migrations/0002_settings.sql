-- The single settings row. Column defaults are the shipped defaults; schemas/settings.py
-- validates every change and names the field and allowed values on error.
CREATE TABLE settings (
    id                                boolean PRIMARY KEY DEFAULT true CHECK (id),
    delete_mode                       text NOT NULL DEFAULT 'soft' CHECK (delete_mode IN ('soft', 'hard')),
    graveyard_group                   text NOT NULL DEFAULT 'NetBox graveyard',
    archived_suffix                   text NOT NULL DEFAULT ' (archived)',
    import_settings_interval_min      integer NOT NULL DEFAULT 60 CHECK (import_settings_interval_min > 0),
    sync_refresh_interval_min         integer NOT NULL DEFAULT 60 CHECK (sync_refresh_interval_min > 0),
    maintenance_cleanup_interval_min  integer NOT NULL DEFAULT 15 CHECK (maintenance_cleanup_interval_min > 0),
    sync_refresh_cutoff_min           integer NOT NULL DEFAULT 60 CHECK (sync_refresh_cutoff_min > 0),
    agent_port                        integer NOT NULL DEFAULT 10050 CHECK (agent_port BETWEEN 1 AND 65535),
    snmp_port                         integer NOT NULL DEFAULT 161 CHECK (snmp_port BETWEEN 1 AND 65535),
    snmp_community                    text NOT NULL DEFAULT '{$SNMP_COMMUNITY}',
    snmpv3_securityname               text NOT NULL DEFAULT '{$SNMPV3_SECURITYNAME}',
    snmpv3_securitylevel              text NOT NULL DEFAULT 'authPriv'
                                      CHECK (snmpv3_securitylevel IN ('noAuthNoPriv', 'authNoPriv', 'authPriv')),
    snmpv3_authprotocol               text NOT NULL DEFAULT 'SHA256',
    snmpv3_authpassphrase             text NOT NULL DEFAULT '{$SNMPV3_AUTHPASS}',
    snmpv3_privprotocol               text NOT NULL DEFAULT 'AES256',
    snmpv3_privpassphrase             text NOT NULL DEFAULT '{$SNMPV3_PRIVPASS}',
    tls_connect                       text NOT NULL DEFAULT 'unencrypted'
                                      CHECK (tls_connect IN ('unencrypted', 'psk', 'cert')),
    tls_accept                        text[] NOT NULL DEFAULT '{unencrypted}',
    tls_psk_identity                  text NOT NULL DEFAULT '',
    tls_psk                           text NOT NULL DEFAULT '',
    inventory_mode                    text NOT NULL DEFAULT 'manual'
                                      CHECK (inventory_mode IN ('disabled', 'manual', 'automatic')),
    tag_prefix                        text NOT NULL DEFAULT 'netbox-',
    tag_name_format                   text NOT NULL DEFAULT 'keep' CHECK (tag_name_format IN ('keep', 'upper', 'lower')),
    monitored_statuses                text[] NOT NULL DEFAULT '{active}',
    disabled_statuses                 text[] NOT NULL DEFAULT '{offline,planned,staged,failed,inventory}',
    removed_statuses                  text[] NOT NULL DEFAULT '{decommissioning}',
    max_deletions                     integer NOT NULL DEFAULT 50 CHECK (max_deletions >= 0),
    event_log_retention_days          integer NOT NULL DEFAULT 30 CHECK (event_log_retention_days > 0),
    updated_at                        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings DEFAULT VALUES;
