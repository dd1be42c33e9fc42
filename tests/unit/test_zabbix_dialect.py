import pytest

from handlers.decide.archive import archive_payloads
from handlers.decide.desired import build_desired
from handlers.decide.host_state import Ids
from handlers.decide.payloads import create_payload, undo_update_payload, update_payload
from handlers.gateways.zabbix_dialect import Dialect
from tests.unit.objects import SETTINGS, actual_from, api, mapping


def device():
    obj = api("device_sw-core-01_final.json")
    obj["custom_fields"] = {}
    return obj


def ips():
    return api("device_ip-addresses_sw-core-01_final.json")["results"]


Z60, Z70, Z72 = Dialect((6, 0)), Dialect((7, 0)), Dialect((7, 2))


def test_host_groups_are_selected_by_version():
    assert (Z60.group_select, Z60.group_key) == ("selectGroups", "groups")
    assert (Z70.group_select, Z70.group_key) == ("selectHostGroups", "hostgroups")
    assert (Z72.group_select, Z72.group_key) == ("selectHostGroups", "hostgroups")


@pytest.mark.parametrize("dialect", [Z60, Z70, Z72], ids=["6.0", "7.0", "7.2"])
def test_host_writes_carry_groups_in_every_version(dialect):
    """7.2 removed selectGroups from host.get; host.create/update never had hostgroups."""
    desired = build_desired("dcim.device:1", device(), ips(), mapping(), SETTINGS)
    ids = Ids(groups={"NetBox devices": "5", "Other": "6"}, templates={"ICMP Ping": "7"})
    created = create_payload(dialect, desired, ids)
    assert created["groups"] == [{"groupid": "5"}] and "hostgroups" not in created
    actual = actual_from(desired, groups=("Other",), group_ids={"Other": "g-Other"})
    changes = {"groups": desired.groups}
    updated = update_payload(dialect, actual, changes, desired, ids, [])
    assert updated["groups"] == [{"groupid": "5"}] and "hostgroups" not in updated
    undo = undo_update_payload(dialect, actual, changes, ids, None)
    assert undo["groups"] == [{"groupid": "g-Other"}] and "hostgroups" not in undo
    config = {"hostid": "1", "host": "a", "name": "a"}
    (archived,) = archive_payloads([config], [actual], SETTINGS, "9", set(), set())
    assert archived["groups"] == [{"groupid": "9"}] and "hostgroups" not in archived
    # No longer ours: the ownership tag becomes the archived tag, other tags stay.
    tags = {(t["tag"], t["value"]) for t in archived["tags"]}
    assert ("netbox-archived", "dcim.device:1") in tags
    assert not any(t == "netbox-object" for t, _ in tags)
    assert {t for t in actual.tags if t[0] != "netbox-object"} <= tags


def test_proxy_assignment_uses_proxy_hostid_on_60_and_monitored_by_from_70():
    assert Z60.monitoring_params("5", None) == {"proxy_hostid": "5"}
    assert Z60.monitoring_params(None, None) == {"proxy_hostid": "0"}
    assert Z70.monitoring_params("5", None) == {"monitored_by": 1, "proxyid": "5"}
    assert Z70.monitoring_params(None, "9") == {"monitored_by": 2, "proxy_groupid": "9"}
    assert Z70.monitoring_params(None, None) == {"monitored_by": 0}
    with pytest.raises(ValueError, match="no proxy groups"):
        Z60.monitoring_params(None, "9")


def test_monitoring_is_read_back_by_version():
    assert Z60.monitoring_of({"proxy_hostid": "0"}) == (None, None)
    assert Z60.monitoring_of({"proxy_hostid": "7"}) == ("7", None)
    assert Z70.monitoring_of({"monitored_by": "1", "proxyid": "7", "proxy_groupid": "0"}) == (
        "7",
        None,
    )
    assert Z70.monitoring_of({"monitored_by": "2", "proxyid": "0", "proxy_groupid": "3"}) == (
        None,
        "3",
    )


def test_maintenance_members_are_objects_from_70():
    assert Dialect((6, 0)).maintenance_members(["1"], ["2"]) == {
        "hostids": ["1"],
        "groupids": ["2"],
    }
    objects = {"hosts": [{"hostid": "1"}], "groups": [{"groupid": "2"}]}
    assert Z70.maintenance_members(["1"], ["2"]) == objects
    assert Z72.maintenance_members(["1"], ["2"]) == objects
