"""Pure functions that decide, with no I/O: targets, event translation, desired state,
diff, the reconcile planner, Zabbix payloads, archive names. Most unit tests live here."""
