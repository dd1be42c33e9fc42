-- A reconcile run claims dirty targets with a committed lease instead of holding their row
-- locks for the whole run: events marking a claimed target again no longer wait for the
-- run (they used to block every event worker thread while a long run wrote to Zabbix).
ALTER TABLE dirty_targets ADD COLUMN claimed_by text, ADD COLUMN claimed_at timestamptz;
