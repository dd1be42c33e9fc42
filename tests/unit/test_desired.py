"""Desired state and diff, as pure functions, on the captured NetBox representations."""

import json

import pytest

from handlers.decide.desired import (
    NotMonitorable,
    build_desired,
    host_facts,
    ip_facts,
    overrides,
    select_mapping,
    technical_name,
)
from handlers.decide.diff import describe_differences, diff
from handlers.decide.host_state import interface_kind
from handlers.decide.payloads import interface_changes
from schemas.netbox import parse_target
from tests.unit.objects import SETTINGS, actual_from, api, mapping


@pytest.fixture
def device():
    obj = api("device_sw-core-01_final.json")
    obj["custom_fields"] = {}
    return obj


@pytest.fixture
def ips():
    return api("device_ip-addresses_sw-core-01_final.json")["results"]


def test_technical_names_keep_valid_names_and_make_others_stable_and_distinct():
    assert technical_name("sw-core-01", "dcim.device:1") == "sw-core-01"
    accented = technical_name("routeur-été", "dcim.device:2")
    assert accented.startswith("routeur-ete-") and accented == technical_name(
        "routeur-été", "dcim.device:2"
    )
    assert technical_name("routeur-ete", "dcim.device:3") == "routeur-ete"
    assert technical_name("交换机", "dcim.device:4").startswith("dcim-device-4-")
    assert technical_name("a/b", "dcim.device:5").startswith("a_b-")


def test_the_most_specific_matching_mapping_wins_and_the_default_catches_the_rest(device):
    rules = [
        mapping(1, default=True),
        mapping(2, sites=["dc1-ams"]),
        mapping(3, sites=["dc1-ams"], roles=["core-switch"]),
        mapping(4, sites=["elsewhere"], roles=["core-switch"], platforms=["cisco-ios-xe"]),
    ]
    assert select_mapping(device, "dcim.device", rules)["id"] == 3
    device["site"] = {"slug": "dc9"}
    assert select_mapping(device, "dcim.device", rules)["id"] == 1
    assert select_mapping(device, "virtualization.virtualmachine", rules) is None


def test_custom_fields_override_config_context(device):
    device["config_context"] = {"zabbix": {"templates": ["A"], "proxy": "p1"}}
    device["custom_fields"] = {"zabbix_templates": ["B"], "zabbix_proxy": None}
    assert overrides(device) == {"templates": ["B"], "proxy": "p1"}


def test_an_active_device_becomes_a_monitored_host_with_agent_interface_tags_and_inventory(
    device, ips
):
    desired = build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    assert desired.host == desired.name == device["name"]
    assert desired.status == 0
    assert desired.groups == ("NetBox devices",) and desired.templates == ("ICMP Ping",)
    (iface,) = desired.interfaces
    assert (iface["type"], iface["ip"], iface["port"], iface["useip"]) == (
        1,
        "10.0.10.11",
        "10050",
        1,
    )
    assert iface["dns"] == ips[0]["dns_name"]
    tags = dict((k, v) for k, v in desired.tags if k != "netbox-tag")
    assert tags["netbox-object"] == "dcim.device:1"
    assert tags["netbox-site"] == "DC1 Amsterdam" and tags["netbox-role"] == "Core Switch"
    assert ("netbox-tag", "zabbix") in desired.tags
    assert desired.inventory["serialno_a"] == device["serial"]
    assert desired.inventory["vendor"] == "Cisco"
    assert ("{$NETBOX.ID}", "1") in desired.macros


def test_snmp_v2c_and_v3_interfaces_carry_their_details(device, ips):
    desired = build_desired(
        "dcim.device:1", device, ips, mapping(interface_types=["snmpv2c", "snmpv3"]), SETTINGS
    )
    v2, v3 = desired.interfaces
    assert (v2["main"], v3["main"]) == (1, 0)  # one default interface per type
    assert v2["type"] == 2 and v2["details"] == {
        "bulk": 1,
        "version": 2,
        "community": "{$SNMP_COMMUNITY}",
    }
    assert v3["details"]["version"] == 3 and v3["details"]["securitylevel"] == 2
    assert v3["details"]["authprotocol"] == 3 and v3["details"]["privprotocol"] == 3


def test_status_mapping_and_missing_address_are_explained(device, ips):
    device["status"] = {"value": "offline"}
    assert build_desired("dcim.device:1", device, ips, mapping(), SETTINGS).status == 1
    device["status"] = {"value": "inventory"}
    with pytest.raises(NotMonitorable, match="'inventory' is neither monitored nor disabling"):
        build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    device["status"] = {"value": "active"}
    device["primary_ip4"] = device["primary_ip"] = None
    with pytest.raises(NotMonitorable, match="no primary IP"):
        build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    with pytest.raises(NotMonitorable, match="no mapping"):
        build_desired("dcim.device:1", device, ips, None, SETTINGS)


def test_a_host_in_step_has_no_changes_and_hand_added_tags_and_macros_are_kept(device, ips):
    desired = build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    assert diff(desired, actual_from(desired), SETTINGS) == {}
    by_hand = actual_from(
        desired,
        tags=desired.tags + (("owner", "noc"),),
        macros=desired.macros + (("{$MY.MACRO}", "x"),),
    )
    assert diff(desired, by_hand, SETTINGS) == {}


def test_changes_are_the_fields_that_differ(device, ips):
    desired = build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    stale = actual_from(
        desired,
        name="old",
        templates=("Old template",),
        tags=(("netbox-site", "old"), ("owner", "noc")),
        interfaces=(
            {"type": 1, "ip": "10.9.9.9", "dns": "", "useip": 1, "port": "10050", "details": []},
        ),
    )
    changes = diff(desired, stale, SETTINGS)
    assert set(changes) == {"name", "templates", "templates_clear", "tags", "interfaces"}
    assert changes["templates_clear"] == ("Old template",)
    assert ("owner", "noc") in changes["tags"] and ("netbox-site", "old") not in changes["tags"]


def test_differences_are_told_as_sentences_an_operator_can_act_on(device, ips):
    desired = build_desired("dcim.device:1", device, ips, mapping(), SETTINGS)
    stale = actual_from(
        desired,
        name="old",
        status=1,
        templates=("Old template",),
        tags=(("netbox-site", "old"), ("owner", "noc")),
        interfaces=(
            {"type": 1, "ip": "10.9.9.9", "dns": "", "useip": 1, "port": "10050", "details": []},
        ),
    )
    told = describe_differences(desired, stale, diff(desired, stale, SETTINGS), SETTINGS)
    assert f"visible name: Zabbix has 'old', NetBox wants {desired.name!r}" in told
    assert "status: Zabbix has it disabled, NetBox wants it enabled" in told
    assert "templates missing in Zabbix: ICMP Ping" in told
    assert "templates in Zabbix that NetBox does not want: Old template" in told
    assert "tags in Zabbix that NetBox does not want: netbox-site=old" in told
    assert not any("owner" in line for line in told)  # a hand-added tag is not a difference
    ip = desired.interfaces[0]["ip"]
    assert f"interfaces: Zabbix has agent 10.9.9.9:10050; NetBox wants agent {ip}:10050" in told
    assert describe_differences(desired, actual_from(desired), {}, SETTINGS) == []


def test_interfaces_are_named_by_kind():
    assert interface_kind({"type": "1"}) == "agent"
    assert interface_kind({"type": 2, "details": {"version": "3"}}) == "snmpv3"
    assert interface_kind({"type": 2, "details": {"version": 2}}) == "snmpv2c"
    assert interface_kind({"type": "3"}) == "type 3"


def test_interface_jobs_create_what_is_missing_and_update_only_what_differs(device, ips):
    desired = build_desired(
        "dcim.device:1", device, ips, mapping(interface_types=["agent", "snmpv2c"]), SETTINGS
    )
    agent = {**desired.interfaces[0], "interfaceid": "7", "port": "10099", "details": []}
    create, update = interface_changes(desired, actual_from(desired, interfaces=(agent,)))
    assert [(c["hostid"], c["type"]) for c in create] == [("10001", 2)]
    assert [(u["interfaceid"], u["port"]) for u in update] == [("7", "10050")]
    in_step = {**agent, "port": "10050"}
    create, update = interface_changes(
        desired, actual_from(desired, interfaces=(in_step, {**create[0], "interfaceid": "8"}))
    )
    assert (create, update) == ([], [])


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("dcim.device:42", "dcim.device:42"),
        ("device:042", "dcim.device:42"),
        ("vm:7", "virtualization.virtualmachine:7"),
    ],
)
def test_targets_accept_the_object_type_or_a_short_form(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize("text", ["switch-42", "dcim.site:1", "device:", "device:x"])
def test_a_bad_target_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="write OBJECT_TYPE:ID, e.g. dcim.device:42"):
        parse_target(text)


@pytest.mark.parametrize(
    "obj_file,ips_file,target",
    [
        (
            "device_sw-core-01_final.json",
            "device_ip-addresses_sw-core-01_final.json",
            "dcim.device:1",
        ),
        (
            "vm_vm-app-01_final.json",
            "vm_ip-addresses_vm-app-01_final.json",
            "virtualization.virtualmachine:1",
        ),
    ],
)
def test_the_facts_kept_of_a_netbox_object_decide_exactly_as_the_whole_object(
    obj_file, ips_file, target
):
    obj, ips = api(obj_file), api(ips_file)["results"]
    obj["status"] = {"value": "active", "label": "Active"}
    obj["custom_fields"] = {"zabbix_templates": ["Linux by Zabbix agent"], "owner": "ops"}
    obj["config_context"] = {"zabbix": {"proxy": "proxy-ams-01"}, "ntp": ["10.0.0.1"]}
    kind = target.split(":")[0]
    rules = [
        mapping(1, default=True, object_type=kind),
        mapping(2, object_type=kind, sites=["dc1-ams"], templates=["Cisco IOS by SNMP"]),
    ]
    facts, ip_rows = host_facts(obj), [ip_facts(ip) for ip in ips]
    rule = select_mapping(obj, kind, rules)
    assert select_mapping(facts, kind, rules) == rule
    assert overrides(facts) == overrides(obj)
    whole = build_desired(target, obj, ips, rule, SETTINGS)
    assert build_desired(target, facts, ip_rows, rule, SETTINGS) == whole
    assert whole.interfaces and whole.templates == ("Linux by Zabbix agent",)
    assert len(json.dumps(facts)) * 2 < len(json.dumps(obj))


def test_secrets_in_recorded_data_are_masked_and_macros_kept():
    from handlers.decide.secrets import mask_secrets

    recorded = {
        "interfaces": [
            {"type": 2, "details": {"version": 3, "authpassphrase": "s3cret-auth"}},
            {"type": 2, "details": {"version": 2, "community": "{$SNMP_COMMUNITY}"}},
        ],
        "note": "community",
        "privpassphrase": "",
    }
    assert mask_secrets(recorded) == {
        "interfaces": [
            {"type": 2, "details": {"version": 3, "authpassphrase": "***"}},
            {"type": 2, "details": {"version": 2, "community": "{$SNMP_COMMUNITY}"}},
        ],
        "note": "community",
        "privpassphrase": "",
    }
