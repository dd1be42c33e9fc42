-- Interface types chosen by hand (nzc provision agent|snmp): they win over the mapping's,
-- so a later change of the object does not switch the host back. NULL: from the mapping.
ALTER TABLE host_configs ADD COLUMN interface_types text[];
