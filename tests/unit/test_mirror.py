"""What an import of Zabbix's settings changes in the mirrors, as pure functions."""

from handlers.decide.mirror import interface_kinds, mirror_changes, refusal


def test_templates_need_the_interfaces_their_items_use():
    items = [
        {"hostid": "1", "type": "0"},  # Zabbix agent
        {"hostid": "1", "type": "7"},  # active agent: no interface
        {"hostid": "2", "type": "20"},  # SNMP
        {"hostid": "2", "type": "3"},  # simple check: any
        {"hostid": "3", "type": "3"},
    ]
    assert interface_kinds(items) == {"1": ["agent"], "2": ["snmp"]}


def test_only_new_and_changed_rows_are_written_and_gone_ones_removed():
    current = {"host_groups": {"1": {"id": "1", "name": "A"}, "2": {"id": "2", "name": "B"}}}
    found = {"host_groups": [{"id": "1", "name": "A"}, {"id": "3", "name": "C"}]}
    changes = mirror_changes(current, found)
    assert changes.upserts["host_groups"] == [{"id": "3", "name": "C"}]
    assert changes.removals == {
        "templates": [],
        "host_groups": ["2"],
        "proxies": [],
        "proxy_groups": [],
    }
    renamed = mirror_changes(current, {"host_groups": [{"id": "1", "name": "A2"}]})
    assert renamed.upserts["host_groups"] == [{"id": "1", "name": "A2"}]
    assert renamed.removed == 1


def test_an_import_past_max_deletions_is_refused_naming_the_count_and_the_limit():
    current = {"templates": {str(i): {"id": str(i)} for i in range(3)}}
    changes = mirror_changes(current, {})
    assert refusal(changes, 3) is None
    message = refusal(changes, 2)
    assert "would remove 3 mirrored objects (3 templates)" in message
    assert "max_deletions setting (2); nothing was changed" in message
