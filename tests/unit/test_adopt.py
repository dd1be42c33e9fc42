"""ImportHost's decisions (handlers/decide/adopt.py): which Zabbix host a NetBox object
adopts, and every refusal in words."""

from dataclasses import replace

import pytest

from handlers.decide.adopt import decide, describe, lookups, parse_match
from handlers.decide.host_state import ActualHost
from tests.unit.objects import SETTINGS, mapping

MAPPINGS = [mapping(1, default=True)]
#: The template ids the mirror knows.
MIRROR = {"t-icmp", "t-linux"}


def obj(id, name, ip, **extra):
    """A device and its IP addresses, as the NetBox gateway gives them."""
    primary = {"id": id * 10, "address": f"{ip}/24"} if ip else None
    facts = {"id": id, "name": name, "status": {"value": "active"}, "primary_ip4": primary}
    ips = [{"id": id * 10, "dns_name": "", "address": f"{ip}/24"}] if ip else []
    return {"obj": {**facts, **extra}, "ips": ips}


def host(hostid, name, *ips, tags=(), templates=("Linux by Zabbix agent",), port="10050"):
    """A Zabbix host made by hand: agent interfaces on ``ips``."""
    return ActualHost(
        hostid=hostid,
        host=name,
        name=name,
        status=0,
        groups=("Linux servers",),
        templates=templates,
        proxy=None,
        proxy_group=None,
        interfaces=tuple(
            {
                "interfaceid": f"{hostid}{n}",
                "type": "1",
                "main": "1" if n == 0 else "0",
                "useip": "1",
                "ip": ip,
                "dns": "",
                "port": port,
                "details": [],
            }
            for n, ip in enumerate(ips)
        ),
        tags=tuple(tags),
        macros=(),
        inventory_mode=0,
        template_ids={t: "t-linux" for t in templates},
    )


OBJECTS = {
    "dcim.device:1": obj(1, "web-01", "10.0.0.1"),
    "dcim.device:2": obj(2, "web-02", "10.0.0.2"),
}


def plan_of(hosts, objects=OBJECTS, candidates=None, configs=None, match="name", **kw):
    return decide(
        list(objects) if candidates is None else candidates,
        objects,
        hosts,
        configs or {},
        kw.get("mirror", MIRROR),
        SETTINGS,
        MAPPINGS,
        parse_match(match),
    )


def test_lookups_ask_for_the_names_and_with_match_ip_the_primary_ips():
    wanted = lookups(OBJECTS, parse_match("name,ip"))
    assert wanted.host_names == ("web-01", "web-02")
    assert wanted.visible_names == ("web-01", "web-02")
    assert wanted.ips == ("10.0.0.1", "10.0.0.2")
    assert lookups(OBJECTS, parse_match("name")).ips == ()


def test_a_host_of_the_same_name_is_adopted_with_its_tags_plus_ours_and_no_interface_change():
    hand = ("owner", "team-a")
    plan = plan_of([host("100", "web-01", "10.0.0.1", tags=[hand])])
    adoption = plan.adopt["dcim.device:1"]
    assert adoption.actual.hostid == "100"
    assert adoption.matched_by == "technical name and visible name"
    assert adoption.tags == (("netbox-object", "dcim.device:1"), hand)
    assert adoption.interface_types is None  # the mapping's agent interface: kept as it is
    assert not any("interfaces" in d for d in adoption.differences)
    assert plan.not_found == ("dcim.device:2",) and plan.refused == {}


def test_match_ip_finds_a_host_named_otherwise_and_name_alone_does_not():
    found = [host("100", "legacy-web", "10.0.0.2")]
    assert plan_of(found, match="name").adopt == {}
    adoption = plan_of(found, match="ip").adopt["dcim.device:2"]
    assert adoption.matched_by == "IP"
    assert "visible name: Zabbix has 'legacy-web', NetBox wants 'web-02'" in adoption.differences


def test_an_snmp_host_keeps_its_interface_type_over_the_mappings_agent():
    snmp = host("100", "web-01", "10.0.0.1", port="161")
    snmp = replace(
        snmp,
        interfaces=(
            {**snmp.interfaces[0], "type": "2", "details": {"version": "2", "community": "x"}},
        ),
    )
    assert plan_of([snmp]).adopt["dcim.device:1"].interface_types == ["snmpv2c"]


REFUSALS = [
    # (case, hosts found, NetBox objects, host configs, the reason: a fragment)
    (
        "two NetBox objects",
        [host("100", "web-01", "10.0.0.1")],
        {**OBJECTS, "virtualization.virtualmachine:7": obj(7, "web-01", None)},
        {},
        "Zabbix host 'web-01' (100) matches 2 NetBox objects (dcim.device:1, "
        "virtualization.virtualmachine:7): rename one of them in NetBox",
    ),
    (
        "an IP NetBox does not know",
        [host("100", "web-01", "10.0.0.1", "10.9.9.9")],
        OBJECTS,
        {},
        "its agent interface 10.9.9.9:10050 uses IP 10.9.9.9, which NetBox does not have "
        "on dcim.device:1: add the address to the object in NetBox",
    ),
    (
        "a duplicate IP and port",
        [host("100", "web-01", "10.0.0.1", "10.0.0.1")],
        OBJECTS,
        {},
        "it has two interfaces on 10.0.0.1:10050: remove one of them in Zabbix",
    ),
    (
        "owned by another target (tag)",
        [host("100", "web-01", "10.0.0.1", tags=[("netbox-object", "dcim.device:9")])],
        OBJECTS,
        {},
        "Zabbix host 'web-01' (100) is already owned by dcim.device:9",
    ),
    (
        "owned by another target (host config)",
        [host("100", "web-01", "10.0.0.1")],
        OBJECTS,
        {"dcim.device:9": {"target": "dcim.device:9", "hostid": "100"}},
        "Zabbix host 'web-01' (100) is already owned by dcim.device:9",
    ),
    (
        "two Zabbix hosts",
        [host("100", "web-01", "10.0.0.5"), host("101", "other", "10.0.0.1")],
        OBJECTS,
        {},
        "it matches 2 Zabbix hosts: 'web-01' (100, by technical name and visible name), "
        "'other' (101, by IP)",
    ),
]


@pytest.mark.parametrize(
    ("case", "hosts", "objects", "configs", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_refusals_say_why(case, hosts, objects, configs, reason):
    plan = plan_of(
        hosts,
        objects=objects,
        candidates=["dcim.device:1"],
        configs=configs,
        match="name,ip" if case == "two Zabbix hosts" else "name",
    )
    assert plan.adopt == {}
    assert reason in plan.refused["dcim.device:1"], plan.refused


def test_a_template_the_mirror_does_not_know_is_refused_with_what_to_do():
    plan = plan_of([host("100", "web-01", "10.0.0.1")], mirror={"t-icmp"})
    assert plan.refused["dcim.device:1"].endswith(
        "template 'Linux by Zabbix agent' is not in the mirror: import Zabbix's settings "
        "(`nzc zabbix import`) and try again"
    )


def test_a_host_already_tagged_for_its_own_target_is_adopted_without_a_tag_write():
    tagged = host("100", "web-01", "10.0.0.1", tags=[("netbox-object", "dcim.device:1")])
    assert plan_of([tagged]).adopt["dcim.device:1"].tags is None


def test_an_object_without_a_primary_ip_is_refused_as_not_monitored():
    objects = {"dcim.device:3": obj(3, "bare", None)}
    plan = plan_of([host("100", "bare")], objects=objects)
    assert (
        "the object is not monitored: it has no primary IP address" in plan.refused["dcim.device:3"]
    )


def test_describe_lists_adoptions_with_the_next_changes_then_refusals_and_the_rest():
    hosts = [host("100", "web-01", "10.0.0.1"), host("101", "web-02", "10.0.0.2", "10.0.0.2")]
    lines = describe(plan_of(hosts), {"dcim.device:1": "web-01", "dcim.device:2": "web-02"})
    assert lines[0] == (
        "adopt    dcim.device:1 'web-01': Zabbix host 'web-01' (100), matched by technical "
        "name and visible name"
    )
    assert lines[1] == "    the next reconcile run changes: groups, inventory, macros, templates"
    assert lines[-1].startswith("refuse   dcim.device:2 'web-02': Zabbix host 'web-02' (101)")


def test_parse_match_refuses_anything_else_naming_the_choices():
    assert parse_match("ip,name") == {"name", "ip"}
    with pytest.raises(ValueError, match="give name, ip or name,ip"):
        parse_match("serial")


def test_an_archived_host_is_not_adopted_for_another_object():
    archived = host("100", "web-01", "10.0.0.1", tags=[("netbox-archived", "dcim.device:9")])
    plan = plan_of([archived])
    assert plan.adopt == {}
    assert "is the archived host of dcim.device:9" in plan.refused["dcim.device:1"]
