"""The only code that does I/O: Zabbix (client, version dialect, host reads and batched
writes), NetBox, and Postgres split by table family (dirty targets, host configs,
mappings, job records, ingest, settings). Gateways read and write; they never decide."""
