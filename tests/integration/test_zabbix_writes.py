"""Batched Zabbix writes against the real frontends: concurrent reconcile runs that want the
same new host group do not fail one another."""

import pytest

from handlers.gateways.zabbix_hosts import create_groups

pytestmark = pytest.mark.integration


def test_a_host_group_another_run_created_meanwhile_is_read_not_failed(zabbix):
    (theirs,) = zabbix.call("hostgroup.create", [{"name": "nzc-race-a"}])["groupids"]
    ids = create_groups(zabbix, ("nzc-race-a", "nzc-race-b"))
    assert ids["nzc-race-a"] == theirs
    found = zabbix.call(
        "hostgroup.get", {"output": ["groupid", "name"], "filter": {"name": ["nzc-race-b"]}}
    )
    assert [g["groupid"] for g in found] == [ids["nzc-race-b"]]
