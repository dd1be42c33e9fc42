import pytest

from handlers.gateways.zabbix_dialect import Dialect

Z60, Z70, Z72 = Dialect((6, 0)), Dialect((7, 0)), Dialect((7, 2))


def test_host_groups_are_selected_and_sent_by_version():
    assert (Z60.group_select, Z60.group_key, Z60.group_param) == (
        "selectGroups",
        "groups",
        "groups",
    )
    assert (Z70.group_select, Z70.group_key, Z70.group_param) == (
        "selectHostGroups",
        "hostgroups",
        "groups",
    )
    assert Z72.group_param == "hostgroups"


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


def test_maintenance_hosts_parameter_changes_in_72():
    assert Z70.maintenance_hosts(["1"]) == {"hostids": ["1"]}
    assert Z72.maintenance_hosts(["1"]) == {"hosts": [{"hostid": "1"}]}
