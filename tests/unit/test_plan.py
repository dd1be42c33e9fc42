"""The reconcile planner, a pure function: what NetBox, Postgres and Zabbix said in, one
decision per target out (plus the groups to create and the interface switches to prepare).

Readings and Zabbix views are built by hand; the NetBox device is the captured
``sw-core-01`` representation, renamed per test so that several can share a batch.
"""

import copy
from dataclasses import replace

import pytest

from handlers.decide.desired import NotMonitorable, build_desired
from handlers.decide.host_state import ActualHost, Ids, interface_kind
from handlers.decide.maintenance import Window
from handlers.decide.plan import (
    CREATE,
    DELETE,
    DISABLE,
    IN_STEP,
    MISSING,
    REFUSE,
    SKIP,
    UPDATE,
    InterfaceSwitch,
    Reading,
    ZabbixView,
    decide,
    lookups,
)
from tests.unit.objects import SETTINGS, actual_from, api
from tests.unit.objects import mapping as base_mapping

#: The evidence of a deletion the tests give unless they say otherwise.
WEBHOOK = "a signed deleted webhook"
#: The target most tests decide on, and the Zabbix host its host config names.
ONE = "dcim.device:1"
HOSTID = "10001"
#: What a test does not set: the device as captured.
_CAPTURED = object()


def target(object_id):
    return f"dcim.device:{object_id}"


def device(object_id=1, **fields):
    """The captured device as object ``object_id``, named ``sw-NN``, without overrides."""
    obj = copy.deepcopy(api("device_sw-core-01_final.json"))
    obj.update(id=object_id, name=f"sw-{object_id:02d}", custom_fields={}, config_context={})
    obj.update(fields)
    return obj


def ips():
    return copy.deepcopy(api("device_ip-addresses_sw-core-01_final.json")["results"])


def mapping(id=1, *, default=True, **kw):
    return base_mapping(id, default=default, **kw)


def config(tgt=ONE, hostid=HOSTID, *, interface_types=None):
    """A host config row as Postgres returns it."""
    return {
        "target": tgt,
        "hostid": hostid,
        "host": "sw-old",
        "name": "sw-old",
        "mapping_id": 1,
        "in_sync": True,
        "last_diff": None,
        "interface_types": interface_types,
    }


def known(**kw):
    """The name -> id maps Zabbix answered with."""
    maps = {
        "groups": {"NetBox devices": "5"},
        "templates": {"ICMP Ping": "10564", "Cisco IOS by SNMP": "10218"},
        "proxies": {"proxy-ams-01": "7"},
        "proxy_groups": {"ams": "3"},
    }
    maps.update(kw)
    return Ids(**maps)


def desired_for(obj, *, rule=None, provisioned=None, settings=SETTINGS):
    return build_desired(
        target(obj["id"]), obj, ips(), rule or mapping(), settings, provisioned=provisioned
    )


def actual(desired, hostid=HOSTID, **changes):
    return actual_from(desired, hostid, **changes)


def reading(
    objects,
    *,
    targets=None,
    configs=(),
    mappings=None,
    provisioned=None,
    settings=None,
    deleted=None,
):
    """A Reading of ``objects`` (target -> NetBox object) and ``configs``; the targets are
    all those named, unless given; ``deleted``: target -> the evidence of its deletion."""
    configs = {c["target"]: c for c in configs}
    return Reading(
        targets=list(targets) if targets is not None else sorted(set(objects) | set(configs)),
        objects={t: {"obj": o, "ips": ips()} for t, o in objects.items()},
        configs=configs,
        settings=settings or SETTINGS,
        mappings=[mapping()] if mappings is None else mappings,
        provisioned=provisioned or {},
        deleted=deleted or {},
    )


def view(*hosts, named=(), ids=None, has_proxy_groups=True, version="7.0"):
    """What Zabbix answered: ``hosts`` found by the config hostids, ``named`` found by
    technical name (which the gateway also lists by id)."""
    return ZabbixView(
        ids=ids or known(),
        by_id={h.hostid: h for h in (*hosts, *named)},
        by_name={h.host: h for h in named},
        by_visible={h.name: h for h in named},
        has_proxy_groups=has_proxy_groups,
        version=version,
    )


def world(
    obj=_CAPTURED,
    *,
    configured=False,
    host=None,
    named=None,
    mappings=None,
    provisioned=None,
    settings=None,
    ids=None,
    has_proxy_groups=True,
    version="7.0",
    deleted=WEBHOOK,
):
    """(Reading, ZabbixView) for the one target ONE.

    obj: its NetBox object (None: not in NetBox; default: ``device(1)``).
    deleted: when not in NetBox, what proves it was deleted (None: nothing).
    configured: it has a host config naming Zabbix host HOSTID.
    host: Zabbix host HOSTID, as changes to the in-step host (or an ActualHost);
      None: Zabbix has no such host.
    named: changes to an in-step host 20002 with the same technical name; None: none.
    """
    obj = device(1) if obj is _CAPTURED else obj
    mappings = [mapping()] if mappings is None else mappings
    rule = next((m for m in mappings if m["is_default"]), mapping())
    try:
        in_step = obj and desired_for(obj, rule=rule, settings=settings or SETTINGS)
    except NotMonitorable:
        in_step = None
    in_step = in_step or desired_for(device(1))  # what Zabbix has for a removed object
    hosts = []
    if isinstance(host, ActualHost):
        hosts.append(host)
    elif host is not None:
        hosts.append(actual(in_step, **host))
    others = [] if named is None else [actual(in_step, hostid="20002", **named)]
    return (
        reading(
            {} if obj is None else {ONE: obj},
            targets=[ONE],
            configs=[config()] if configured else [],
            mappings=mappings,
            provisioned=provisioned,
            settings=settings,
            deleted={ONE: deleted} if obj is None and deleted else None,
        ),
        view(*hosts, named=others, ids=ids, has_proxy_groups=has_proxy_groups, version=version),
    )


def step_of(setup, **kw):
    return decide(*setup, **kw).steps[ONE]


#: The in-step host of device 1 with the default mapping: one agent interface, id 1000101.
AGENT_HOST = actual(desired_for(device(1)))


NOT_OURS = (
    "a Zabbix host named 'sw-01' already exists and is not ours (no netbox-object tag): "
    "adopt it, keeping its history, with `nzc import hosts dcim.device:1`, or rename one "
    "of them"
)
DECISIONS = [
    # (case, world(...) arguments, action, reason: a fragment, or "" for none)
    (
        "deleted in NetBox (webhook), host config, host in Zabbix",
        {"obj": None, "configured": True, "host": {}},
        DELETE,
        "deleted in NetBox (a signed deleted webhook)",
    ),
    (
        "deleted in NetBox (change log), host config, host in Zabbix",
        {
            "obj": None,
            "configured": True,
            "host": {},
            "deleted": "NetBox's change log records its deletion",
        },
        DELETE,
        "deleted in NetBox (NetBox's change log records its deletion)",
    ),
    (
        "deleted in NetBox, host config, host gone too",
        {"obj": None, "configured": True},
        DELETE,
        "deleted in NetBox",
    ),
    (
        "not returned by NetBox, no evidence: the host is kept",
        {"obj": None, "configured": True, "host": {}, "deleted": None},
        MISSING,
        "missing in NetBox, deletion not confirmed",
    ),
    (
        "not returned by NetBox, no evidence, host gone too",
        {"obj": None, "configured": True, "deleted": None},
        MISSING,
        "the NetBox token may not see it",
    ),
    (
        "gone from NetBox, no host config",
        {"obj": None},
        SKIP,
        "not in NetBox (or removed) and not in Zabbix: nothing to do",
    ),
    (
        "removal status, host config",
        {"obj": device(1, status={"value": "decommissioning"}), "configured": True, "host": {}},
        DELETE,
        "its NetBox status 'decommissioning' removes its host",
    ),
    (
        "removal status (webhook form), no host config",
        {"obj": device(1, status="decommissioning")},
        SKIP,
        "nothing to do",
    ),
    (
        "no primary IP",
        {"obj": device(1, primary_ip=None, primary_ip4=None)},
        SKIP,
        "not monitored: it has no primary IP address (set one in NetBox)",
    ),
    (
        "status neither monitored nor disabling",
        {"obj": device(1, status={"value": "inventory"})},
        SKIP,
        "not monitored: its status 'inventory' is neither monitored nor disabling",
    ),
    (
        "no mapping at all",
        {"mappings": []},
        SKIP,
        "not monitored: no mapping matches it and there is no default mapping",
    ),
    (
        "only a non-matching mapping and a VM default",
        {
            "mappings": [
                mapping(2, default=False, sites=["elsewhere"]),
                mapping(3, object_type="virtualization.virtualmachine"),
            ]
        },
        SKIP,
        "not monitored: no mapping matches it",
    ),
    (
        "unknown interface type override",
        {"obj": device(1, custom_fields={"zabbix_interface_type": "telnet"})},
        SKIP,
        "not monitored: interface type 'telnet' is not one of agent, snmpv1",
    ),
    (
        "mapping template missing in Zabbix",
        {"mappings": [mapping(templates=["ICMP Ping", "Linux by Zabbix agent"])]},
        REFUSE,
        "template 'Linux by Zabbix agent' does not exist in Zabbix: import it",
    ),
    (
        "override template missing in Zabbix",
        {"obj": device(1, custom_fields={"zabbix_templates": ["Juniper by SNMP"]})},
        REFUSE,
        "template 'Juniper by SNMP' does not exist in Zabbix",
    ),
    (
        "proxy missing in Zabbix",
        {"mappings": [mapping(proxy="proxy-fra-01")]},
        REFUSE,
        "proxy 'proxy-fra-01' does not exist in Zabbix",
    ),
    (
        "proxy group missing in Zabbix 7.0",
        {"mappings": [mapping(proxy_group="fra")]},
        REFUSE,
        "proxy group 'fra' does not exist in Zabbix",
    ),
    (
        "proxy group on Zabbix 6.0",
        {
            "mappings": [mapping(proxy_group="ams")],
            "ids": known(proxy_groups={}),
            "has_proxy_groups": False,
            "version": "6.0",
        },
        REFUSE,
        "proxy group 'ams' does not exist in Zabbix (6.0 has no proxy groups)",
    ),
    ("proxy Zabbix has", {"mappings": [mapping(proxy="proxy-ams-01")]}, CREATE, ""),
    ("proxy group Zabbix has", {"mappings": [mapping(proxy_group="ams")]}, CREATE, ""),
    (
        "same-named host without any tag",
        {"named": {"tags": ()}},
        REFUSE,
        NOT_OURS,
    ),
    (
        "same-named host with hand tags only",
        {"named": {"tags": (("owner", "noc"),)}},
        REFUSE,
        NOT_OURS,
    ),
    (
        "same-named host that is ours for another target: named by the rule instead",
        {"named": {"tags": (("netbox-object", "dcim.device:2"),)}},
        CREATE,
        "",
    ),
    ("same-named host of ours, in step", {"named": {}}, IN_STEP, ""),
    ("same-named host of ours, stale", {"named": {"name": "old"}}, UPDATE, ""),
    ("new object", {}, CREATE, ""),
    ("new object with a disabling status", {"obj": device(1, status="offline")}, CREATE, ""),
    ("host config, host deleted by hand", {"configured": True}, CREATE, ""),
    ("host config, host in step", {"configured": True, "host": {}}, IN_STEP, ""),
    ("host config, visible name changed", {"configured": True, "host": {"name": "x"}}, UPDATE, ""),
    (
        "disabling status, host enabled",
        {"obj": device(1, status={"value": "offline"}), "configured": True, "host": {"status": 0}},
        DISABLE,
        "",
    ),
    (
        "disabling status, host disabled",
        {"obj": device(1, status={"value": "planned"}), "configured": True, "host": {}},
        IN_STEP,
        "",
    ),
    (
        "monitored status, host disabled",
        {"configured": True, "host": {"status": 1}},
        UPDATE,
        "",
    ),
]


@pytest.mark.parametrize(
    ("setup", "action", "reason"),
    [pytest.param(s, a, r, id=case) for case, s, a, r in DECISIONS],
)
def test_each_situation_gets_its_action_and_reason(setup, action, reason):
    step = step_of(world(**setup))
    assert step.target == ONE
    assert step.action == action
    if reason:
        assert reason in step.reason
    else:
        assert step.reason == ""


def test_a_proxy_group_refusal_names_the_version_only_when_it_has_no_proxy_groups():
    on_70 = step_of(world(mappings=[mapping(proxy_group="fra")]))
    assert on_70.reason == "proxy group 'fra' does not exist in Zabbix"
    on_60 = step_of(
        world(mappings=[mapping(proxy_group="fra")], has_proxy_groups=False, version="6.0")
    )
    assert on_60.reason.endswith("(6.0 has no proxy groups)")


def test_templates_are_checked_before_the_proxy_and_the_first_missing_is_named():
    step = step_of(world(mappings=[mapping(templates=["B missing", "A missing"], proxy="none")]))
    assert step.action == REFUSE
    assert step.reason.startswith("template 'A missing' does not exist")


@pytest.mark.parametrize(
    ("obj", "host_there"),
    [
        pytest.param(None, True, id="gone from NetBox, host there"),
        pytest.param(None, False, id="gone from NetBox, host gone"),
        pytest.param(device(1, status={"value": "decommissioning"}), True, id="removal status"),
        pytest.param(
            device(1, status={"value": "decommissioning"}), False, id="removal status, host gone"
        ),
    ],
)
def test_a_delete_carries_the_host_config_and_the_host_only_when_zabbix_still_has_it(
    obj, host_there
):
    r, v = world(obj, configured=True, host={} if host_there else None)
    step = decide(r, v).steps[ONE]
    assert step.action == DELETE
    assert step.config == config()
    assert step.actual is (v.by_id[HOSTID] if host_there else None)
    assert step.desired is None and step.mapping_id is None and step.changes == {}


@pytest.mark.parametrize(
    "setup",
    [
        pytest.param({"obj": device(1, primary_ip=None, primary_ip4=None)}, id="not monitored"),
        pytest.param({"mappings": [mapping(templates=["Missing"])]}, id="missing template"),
        pytest.param({"named": {"tags": ()}}, id="name taken"),
    ],
)
def test_a_skip_or_refusal_keeps_the_host_config_and_wants_no_host(setup):
    with_config = step_of(world(configured=True, **setup))
    without = step_of(world(**setup))
    assert with_config.action in (SKIP, REFUSE) and with_config.action == without.action
    assert with_config.config == config() and without.config is None
    assert with_config.desired is None and with_config.changes == {}


def test_a_same_named_host_of_ours_is_adopted_and_brought_in_line():
    # Without a host config nothing records what the service put there: a template no
    # mapping names may have been linked by hand, and stays.
    r, v = world(named={"name": "old", "templates": ("ICMP Ping", "Old")})
    step = decide(r, v).steps[ONE]
    assert step.action == UPDATE
    assert step.actual is v.by_name["sw-01"] and step.actual.hostid == "20002"
    assert step.changes == {"name": "sw-01"}
    assert step.owned.templates == ("ICMP Ping",)
    assert step.mapping_id == 1 and step.config is None and step.note is None


def test_ownership_is_recognised_whatever_the_case_of_the_tag_name():
    theirs = actual(desired_for(device(1)), hostid="20002")
    tags = tuple(
        (name.upper() if name == "netbox-object" else name, value) for name, value in theirs.tags
    )
    r, v = world(named={"tags": tags})
    step = decide(r, v).steps[ONE]
    assert step.action == UPDATE and step.actual.hostid == "20002"
    assert ("netbox-object", ONE) in step.changes["tags"]
    assert ("NETBOX-OBJECT", ONE) not in step.changes["tags"]


def test_a_host_config_whose_host_was_deleted_by_hand_creates_it_again_and_says_so():
    r, v = world(configured=True)
    step = decide(r, v).steps[ONE]
    assert step.action == CREATE
    assert step.note == (
        "its host config names Zabbix host 10001, which is gone (deleted by hand?)"
    )
    assert step.config == config() and step.actual is None
    assert step.desired.host == "sw-01" and step.mapping_id == 1


@pytest.mark.parametrize(
    ("named", "action"),
    [
        pytest.param({}, IN_STEP, id="same-named host of ours: adopted"),
        pytest.param({"tags": ()}, REFUSE, id="same-named host not ours: refused"),
    ],
)
def test_when_the_config_host_is_gone_the_same_named_host_decides_and_the_note_stays(named, action):
    r, v = world(configured=True, named=named)
    step = decide(r, v).steps[ONE]
    assert step.action == action
    assert "Zabbix host 10001, which is gone" in step.note
    assert step.config == config()


def test_a_new_object_is_created_with_no_note():
    step = step_of(world())
    assert (step.action, step.note, step.actual, step.config) == (CREATE, None, None, None)
    assert step.desired.target == ONE and step.desired.status == 0


def test_a_host_in_step_has_no_changes_and_keeps_what_zabbix_has():
    r, v = world(configured=True, host={})
    step = decide(r, v).steps[ONE]
    assert (step.action, step.changes, step.note) == (IN_STEP, {}, None)
    assert step.actual is v.by_id[HOSTID] and step.config == config()
    assert step.desired.host == step.actual.host and step.mapping_id == 1


def test_a_changed_visible_name_is_an_update_with_only_that_change():
    step = step_of(world(configured=True, host={"name": "old name"}))
    assert step.action == UPDATE
    assert step.changes == {"name": "sw-01"}


def test_a_disabling_status_on_an_enabled_host_is_a_disable_of_that_host():
    r, v = world(device(1, status={"value": "offline"}), configured=True, host={"status": 0})
    step = decide(r, v).steps[ONE]
    assert step.action == DISABLE
    assert step.changes == {"status": 1}
    assert step.desired.status == 1 and step.actual is v.by_id[HOSTID]


def test_the_host_config_proves_ownership_of_a_host_whose_tag_was_removed_by_hand():
    step = step_of(world(configured=True, host={"tags": (("owner", "noc"),)}))
    assert step.action == UPDATE
    assert ("netbox-object", ONE) in step.changes["tags"]
    assert ("owner", "noc") in step.changes["tags"]


def test_the_most_specific_mapping_applies_and_is_recorded():
    rules = [
        mapping(1),
        mapping(2, default=False, sites=["dc1-ams"], templates=["Cisco IOS by SNMP"]),
        mapping(3, default=False, sites=["elsewhere"], roles=["core-switch"]),
    ]
    step = step_of(world(mappings=rules))
    assert (step.action, step.mapping_id) == (CREATE, 2)
    assert step.desired.templates == ("Cisco IOS by SNMP",)
    fallback = step_of(world(mappings=[mapping(7), rules[2]]))
    assert fallback.mapping_id == 7


@pytest.mark.parametrize(
    ("custom_fields", "config_context", "templates"),
    [
        pytest.param({}, {}, ("ICMP Ping",), id="the mapping's"),
        pytest.param(
            {"zabbix_templates": ["Cisco IOS by SNMP"]},
            {},
            ("Cisco IOS by SNMP",),
            id="custom field",
        ),
        pytest.param(
            {},
            {"zabbix": {"templates": ["Cisco IOS by SNMP", "ICMP Ping"]}},
            ("Cisco IOS by SNMP", "ICMP Ping"),
            id="config context",
        ),
        pytest.param(
            {"zabbix_templates": ["Cisco IOS by SNMP"]},
            {"zabbix": {"templates": ["ICMP Ping"]}},
            ("Cisco IOS by SNMP",),
            id="custom field over config context",
        ),
    ],
)
def test_an_object_override_replaces_the_mappings_templates(
    custom_fields, config_context, templates
):
    obj = device(1, custom_fields=custom_fields, config_context=config_context)
    r, v = world(obj, configured=True, host=AGENT_HOST)
    step = decide(r, v).steps[ONE]
    assert step.desired.templates == templates
    if templates == ("ICMP Ping",):
        assert step.action == IN_STEP
    else:
        assert step.action == UPDATE
        assert step.changes["templates"] == templates


@pytest.mark.parametrize(
    ("provisioned", "configured_types", "rule_types", "override", "kinds"),
    [
        pytest.param(None, None, ["agent"], None, ["agent"], id="the mapping's agent"),
        pytest.param(None, None, ["snmpv2c"], None, ["snmpv2c"], id="the mapping's SNMP"),
        pytest.param(None, None, [], None, ["agent"], id="an empty mapping list: agent"),
        pytest.param(None, ["snmpv3"], ["agent"], None, ["snmpv3"], id="host config's choice"),
        pytest.param(
            ["snmpv2c"], ["snmpv3"], ["agent"], None, ["snmpv2c"], id="this run's choice first"
        ),
        pytest.param(
            ["agent", "snmpv2c"],
            None,
            ["agent"],
            None,
            ["agent", "snmpv2c"],
            id="several chosen types",
        ),
        pytest.param(
            ["snmpv2c"], ["snmpv3"], ["snmpv1"], "agent", ["agent"], id="the override wins"
        ),
    ],
)
def test_interface_types_come_from_override_then_provision_then_host_config_then_mapping(
    provisioned, configured_types, rule_types, override, kinds
):
    obj = device(1, custom_fields={"zabbix_interface_type": override} if override else {})
    r = reading(
        {ONE: obj},
        configs=[config(interface_types=configured_types)],
        mappings=[mapping(interface_types=rule_types)],
        provisioned={ONE: provisioned} if provisioned else None,
    )
    plan = decide(r, view())
    step = plan.steps[ONE]
    assert step.action == CREATE
    assert [interface_kind(i) for i in step.desired.interfaces] == kinds
    assert plan.provisioned == ({ONE: provisioned} if provisioned else {})


def test_the_provisioned_choice_is_handed_on_for_every_target_of_the_plan():
    chosen = {ONE: ["snmpv3"], target(2): ["agent"]}
    r = reading({ONE: device(1), target(2): device(2)}, provisioned=chosen)
    plan = decide(r, view())
    assert plan.provisioned == chosen
    assert interface_kind(plan.steps[ONE].desired.interfaces[0]) == "snmpv3"


SWITCHES = [
    # (case, object, the mapping's interface types, host Zabbix has, action, switch: (new
    #  kinds, dropped ids) or None)
    (
        "agent to SNMP",
        device(1),
        ["snmpv2c"],
        AGENT_HOST,
        UPDATE,
        (["snmpv2c"], (f"{HOSTID}01",)),
    ),
    (
        "agent to SNMP while disabling",
        device(1, status="offline"),
        ["snmpv3"],
        AGENT_HOST,
        DISABLE,
        (["snmpv3"], (f"{HOSTID}01",)),
    ),
    (
        "SNMP to agent",
        device(1),
        ["agent"],
        actual(desired_for(device(1), rule=mapping(interface_types=["snmpv2c"]))),
        UPDATE,
        (["agent"], (f"{HOSTID}01",)),
    ),
    (
        "the agent interface's IP changes",
        device(1),
        ["agent"],
        replace(
            AGENT_HOST,
            interfaces=({**AGENT_HOST.interfaces[0], "ip": "10.9.9.9"},),
        ),
        UPDATE,
        None,
    ),
    ("an SNMP interface is added", device(1), ["agent", "snmpv2c"], AGENT_HOST, UPDATE, None),
    (
        "SNMP v2c to v3, the same Zabbix type",
        device(1),
        ["snmpv3"],
        actual(desired_for(device(1), rule=mapping(interface_types=["snmpv2c"]))),
        UPDATE,
        None,
    ),
    ("only the name changes", device(1), ["agent"], replace(AGENT_HOST, name="x"), UPDATE, None),
]


@pytest.mark.parametrize(
    ("obj", "kinds", "host", "action", "switch"),
    [pytest.param(o, k, h, a, s, id=case) for case, o, k, h, a, s in SWITCHES],
)
def test_an_interface_switch_is_prepared_only_when_a_type_goes_and_another_comes(
    obj, kinds, host, action, switch
):
    r, v = world(obj, configured=True, host=host, mappings=[mapping(interface_types=kinds)])
    plan = decide(r, v)
    step = plan.steps[ONE]
    assert step.action == action
    assert "interfaces" in step.changes or switch is None
    if switch is None:
        assert plan.switches == {}
        return
    new_kinds, dropped = switch
    got = plan.switches[ONE]
    assert isinstance(got, InterfaceSwitch)
    assert (got.target, got.hostid, got.dropped) == (ONE, HOSTID, dropped)
    assert [interface_kind(i) for i in got.new] == new_kinds
    assert all("interfaceid" not in i for i in got.new)
    assert all(i["ip"] == "10.0.10.11" for i in got.new)


def test_an_ip_change_updates_the_interface_in_place():
    moved = replace(AGENT_HOST, interfaces=({**AGENT_HOST.interfaces[0], "ip": "10.9.9.9"},))
    step = step_of(world(configured=True, host=moved))
    assert step.action == UPDATE
    assert set(step.changes) == {"interfaces"}
    assert step.changes["interfaces"][0]["ip"] == "10.0.10.11"


def test_a_new_snmp_host_needs_no_switch():
    plan = decide(*world(mappings=[mapping(interface_types=["snmpv2c"])]))
    assert plan.steps[ONE].action == CREATE and plan.switches == {}


GRAVEYARD = ("NetBox graveyard",)
GROUPS = [
    # (case, world(...) arguments, delete_mode argument, groups to create)
    ("the mapping's group exists", {}, None, ()),
    (
        "an override group Zabbix lacks",
        {"obj": device(1, custom_fields={"zabbix_host_groups": ["Core", "NetBox devices"]})},
        None,
        ("Core",),
    ),
    (
        "a config-context group Zabbix lacks, for an update",
        {
            "obj": device(1, config_context={"zabbix": {"host_groups": ["Core"]}}),
            "configured": True,
            "host": AGENT_HOST,
        },
        None,
        ("Core",),
    ),
    (
        "no groups known at all",
        {"ids": known(groups={})},
        None,
        ("NetBox devices",),
    ),
    (
        "soft delete of a host Zabbix has",
        {"obj": None, "configured": True, "host": {}},
        None,
        GRAVEYARD,
    ),
    (
        "soft delete, graveyard exists",
        {
            "obj": None,
            "configured": True,
            "host": {},
            "ids": known(groups={"NetBox devices": "5", "NetBox graveyard": "9"}),
        },
        None,
        (),
    ),
    ("soft delete of a host already gone", {"obj": None, "configured": True}, None, ()),
    ("hard delete by argument", {"obj": None, "configured": True, "host": {}}, "hard", ()),
    (
        "hard delete by setting",
        {
            "obj": None,
            "configured": True,
            "host": {},
            "settings": {**SETTINGS, "delete_mode": "hard"},
        },
        None,
        (),
    ),
    (
        "soft delete by argument over a hard setting",
        {
            "obj": None,
            "configured": True,
            "host": {},
            "settings": {**SETTINGS, "delete_mode": "hard"},
        },
        "soft",
        GRAVEYARD,
    ),
    (
        "a refused target's group",
        {
            "obj": device(
                1, custom_fields={"zabbix_host_groups": ["Core"], "zabbix_templates": ["Nope"]}
            )
        },
        None,
        (),
    ),
    (
        "a name taken by a host not ours",
        {"mappings": [mapping(host_groups=["Core"])], "named": {"tags": ()}},
        None,
        (),
    ),
    (
        "a skipped target",
        {"obj": device(1, status="inventory"), "mappings": [mapping(host_groups=["Core"])]},
        None,
        (),
    ),
]


@pytest.mark.parametrize(
    ("setup", "delete_mode", "groups"),
    [pytest.param(s, m, g, id=case) for case, s, m, g in GROUPS],
)
def test_groups_to_create_are_the_wanted_ones_zabbix_lacks(setup, delete_mode, groups):
    plan = decide(*world(**setup), delete_mode=delete_mode)
    assert plan.groups_to_create == groups


def test_groups_wanted_by_several_hosts_are_created_once_in_order_and_not_for_refusals():
    r = reading(
        {
            ONE: device(1, custom_fields={"zabbix_host_groups": ["Zeta", "Alpha"]}),
            target(2): device(2, custom_fields={"zabbix_host_groups": ["Alpha"]}),
            target(3): device(
                3, custom_fields={"zabbix_host_groups": ["Refused"], "zabbix_templates": ["X"]}
            ),
        },
        configs=[config(target(4), "10004")],  # gone from NetBox
        deleted={target(4): WEBHOOK},
    )
    plan = decide(r, view(actual(desired_for(device(4)), hostid="10004")))
    assert plan.steps[target(3)].action == REFUSE
    assert plan.steps[target(4)].action == DELETE
    assert plan.groups_to_create == ("Alpha", "NetBox graveyard", "Zeta")


@pytest.mark.parametrize(
    ("setting", "argument", "mode"),
    [
        ("soft", None, "soft"),
        ("hard", None, "hard"),
        ("soft", "hard", "hard"),
        ("hard", "soft", "soft"),
    ],
)
def test_the_delete_mode_argument_overrides_the_setting(setting, argument, mode):
    settings = {**SETTINGS, "delete_mode": setting}
    plan = decide(*world(settings=settings), delete_mode=argument)
    assert plan.delete_mode == mode
    assert plan.settings is settings


def test_a_batch_gets_one_decision_per_target_in_order_with_the_views_ids():
    objects = {target(n): device(n) for n in (3, 1, 2)}
    objects[target(2)] = device(2, status="offline")
    r = reading(
        objects,
        targets=[target(3), target(1), target(2), target(1), target(9)],
        configs=[config(target(1)), config(target(2), "10002")],
    )
    v = view(
        actual(desired_for(device(1)), name="renamed"),
        actual(desired_for(device(2)), hostid="10002"),
    )
    plan = decide(r, v)
    assert list(plan.steps) == [target(1), target(2), target(3), target(9)]
    assert {t: s.action for t, s in plan.steps.items()} == {
        target(1): UPDATE,
        target(2): DISABLE,
        target(3): CREATE,
        target(9): SKIP,
    }
    assert [s.target for s in plan.changed] == [target(1), target(2)]
    assert [s.target for s in plan.of(CREATE, SKIP)] == [target(3), target(9)]
    assert plan.ids is v.ids


def test_lookups_name_the_hosts_groups_and_templates_of_the_hosts_netbox_wants():
    r = reading(
        {
            ONE: device(1),
            target(2): device(
                2,
                custom_fields={"zabbix_templates": ["Cisco IOS by SNMP"]},
                config_context={"zabbix": {"host_groups": ["Core", "Switches"]}},
            ),
            target(3): device(3, status={"value": "decommissioning"}),
            target(4): device(4, primary_ip=None, primary_ip4=None),
            target(5): device(5, status="inventory"),
        },
        targets=[ONE, target(2), target(3), target(4), target(5), target(6)],
        configs=[
            config(ONE, "10001"),
            config(target(3), "10003"),
            config(target(6), "10006"),
            config(target(7), None),
        ],
    )
    found = lookups(r)
    assert found.hostids == ("10001", "10003", "10006")
    assert found.host_names == (
        "sw-01",
        "sw-01-dc1-ams",
        "sw-01-dc1-ams-1",
        "sw-02",
        "sw-02-dc1-ams",
        "sw-02-dc1-ams-2",
    )
    assert found.visible_names == (
        "sw-01",
        "sw-01 (dc1-ams)",
        "sw-01 (dc1-ams, 1)",
        "sw-02",
        "sw-02 (dc1-ams)",
        "sw-02 (dc1-ams, 2)",
    )
    assert found.groups == ("Core", "NetBox devices", "NetBox graveyard", "Switches")
    assert found.templates == ("Cisco IOS by SNMP", "ICMP Ping")


def test_lookups_always_ask_for_the_graveyard_group_and_nothing_for_absent_objects():
    r = reading({ONE: device(1)}, mappings=[mapping(templates=[], host_groups=[])])
    found = lookups(r)
    assert found.host_names == ("sw-01", "sw-01-dc1-ams", "sw-01-dc1-ams-1")
    assert found.groups == GRAVEYARD and found.templates == ()
    nothing = lookups(reading({}, targets=[ONE]))
    assert (nothing.hostids, nothing.host_names, nothing.templates) == ((), (), ())
    assert nothing.groups == GRAVEYARD


@pytest.mark.parametrize(
    "policy,host_status,action,status_change",
    [
        ("disable", 0, DISABLE, {"status": 1}),
        ("disable", 1, IN_STEP, {}),
        ("keep", 0, IN_STEP, {}),
        ("delete", 0, DELETE, {}),
    ],
)
def test_an_object_that_lost_its_primary_ip_gets_the_no_primary_ip_settings_choice(
    policy, host_status, action, status_change
):
    was = desired_for(device())
    host = actual(was, status=host_status)
    bare = device(primary_ip=None, primary_ip4=None, primary_ip6=None)
    settings = {**SETTINGS, "no_primary_ip": policy}
    plan = decide(reading({ONE: bare}, configs=[config()], settings=settings), view(host))
    step = plan.steps[ONE]
    assert (step.action, step.changes, step.no_primary_ip) == (action, status_change, True)
    assert f"no_primary_ip={policy}" in step.reason
    if action != DELETE:
        # The host keeps its last interface, templates and tags: only the status may change.
        assert step.desired.interfaces == host.interfaces
        assert step.desired.templates == host.templates and step.desired.tags == host.tags
        assert step.desired.status == (1 if policy == "disable" else host_status)
    assert not plan.groups_to_create or policy == "delete"


def test_an_object_without_a_primary_ip_and_no_host_is_skipped_whatever_the_setting():
    bare = device(primary_ip=None, primary_ip4=None, primary_ip6=None)
    for policy in ("disable", "keep", "delete"):
        settings = {**SETTINGS, "no_primary_ip": policy}
        new = decide(reading({ONE: bare}, settings=settings), view()).steps[ONE]
        assert (new.action, new.no_primary_ip) == (SKIP, False)
        assert "no primary IP address" in new.reason
        gone = decide(reading({ONE: bare}, configs=[config()], settings=settings), view())
        assert gone.steps[ONE].action == SKIP


def test_a_name_another_of_our_objects_holds_gets_the_site_then_the_id_and_a_note():
    """NetBox allows one name in two sites (and for a device and a VM); Zabbix does not."""
    r, v = world(named={"tags": (("netbox-object", "dcim.device:2"),)})
    step = decide(r, v).steps[ONE]
    assert (step.action, step.desired.host, step.desired.name) == (
        CREATE,
        "sw-01-dc1-ams",
        "sw-01 (dc1-ams)",
    )
    assert "host 'sw-01' (ours, for dcim.device:2)" in step.note
    assert "named 'sw-01-dc1-ams' (visible name 'sw-01 (dc1-ams)')" in step.note

    twin = actual(step.desired, hostid="20003", tags=(("netbox-object", "dcim.device:3"),))
    v2 = replace(
        v, by_name={**v.by_name, twin.host: twin}, by_visible={**v.by_visible, twin.name: twin}
    )
    third = decide(r, v2).steps[ONE]
    assert (third.desired.host, third.desired.name) == ("sw-01-dc1-ams-1", "sw-01 (dc1-ams, 1)")

    last = actual(third.desired, hostid="20004", tags=(("netbox-object", "dcim.device:4"),))
    v3 = replace(
        v2, by_name={**v2.by_name, last.host: last}, by_visible={**v2.by_visible, last.name: last}
    )
    refused = decide(r, v3).steps[ONE]
    assert refused.action == REFUSE
    assert "every name this host may take is held by another host" in refused.reason
    assert "(ours, for dcim.device:2)" in refused.reason


def test_a_visible_name_held_by_another_host_moves_both_names_to_the_next_candidate():
    r, v = world()
    other = actual(
        desired_for(device(1)),
        hostid="20005",
        host="elsewhere",
        tags=(("netbox-object", "virtualization.virtualmachine:1"),),
    )
    step = decide(r, replace(v, by_visible={other.name: other})).steps[ONE]
    assert (step.desired.host, step.desired.name) == ("sw-01-dc1-ams", "sw-01 (dc1-ams)")


def test_a_host_goes_back_to_its_netbox_name_once_that_is_free():
    named = desired_for(device(1))
    mine = actual(named, host="sw-01-dc1-ams", name="sw-01 (dc1-ams)")
    step = decide(reading({ONE: device(1)}, configs=[config()]), view(mine)).steps[ONE]
    assert step.action == UPDATE and step.note is None
    assert (step.changes["host"], step.changes["name"]) == ("sw-01", "sw-01")


def test_a_host_of_ours_under_an_alternative_name_is_adopted_not_made_twice():
    """Its host config was lost (a run whose commit failed after the Zabbix writes)."""
    named = desired_for(device(1))
    holder = actual(named, hostid="20002", tags=(("netbox-object", "dcim.device:2"),))
    mine = actual(named, hostid="20003", host="sw-01-dc1-ams", name="sw-01 (dc1-ams)")
    v = replace(
        view(),
        by_id={h.hostid: h for h in (holder, mine)},
        by_name={holder.host: holder, mine.host: mine},
        by_visible={holder.name: holder, mine.name: mine},
    )
    step = decide(reading({ONE: device(1)}), v).steps[ONE]
    assert (step.action, step.actual) == (IN_STEP, mine)


def test_an_untagged_host_taking_the_netbox_name_does_not_block_a_host_that_exists():
    named = desired_for(device(1))
    mine = actual(named, host="sw-01-dc1-ams", name="sw-01 (dc1-ams)")
    stranger = actual(named, hostid="20009", tags=())
    v = replace(view(mine), by_name={stranger.host: stranger}, by_visible={stranger.name: stranger})
    step = decide(reading({ONE: device(1)}, configs=[config()]), v).steps[ONE]
    assert step.action == IN_STEP and "host 'sw-01' (not ours)" in step.note


def test_two_objects_of_one_name_in_one_batch_do_not_both_take_it():
    rtm = {"id": 2, "slug": "dc2-rtm", "name": "RTM", "display": "RTM"}
    r = reading({ONE: device(1, name="core"), target(2): device(2, name="core", site=rtm)})
    plan = decide(r, view())
    first, second = plan.steps[ONE], plan.steps[target(2)]
    assert (first.action, first.desired.host, first.desired.name) == (CREATE, "core", "core")
    assert (second.action, second.desired.host, second.desired.name) == (
        CREATE,
        "core-dc2-rtm",
        "core (dc2-rtm)",
    )
    assert "the host this run makes for dcim.device:1" in second.note


def test_groups_are_created_only_for_writes_that_send_them():
    """A host disabled for want of a primary IP keeps its groups: none is looked up or
    created for it (Zabbix refuses to create a group that exists)."""
    was = desired_for(device())
    bare = device(primary_ip=None, primary_ip4=None, primary_ip6=None)
    plan = decide(reading({ONE: bare}, configs=[config()]), view(actual(was), ids=Ids()))
    assert plan.steps[ONE].action == DISABLE
    assert plan.groups_to_create == ()
    in_step = decide(reading({ONE: device()}, configs=[config()]), view(actual(was), ids=Ids()))
    assert in_step.steps[ONE].action == REFUSE  # the template is unknown to these ids
    assert in_step.groups_to_create == ()


def owned_view(host, **kw):
    """What Zabbix answered when the host was found only by its ownership tag."""
    return replace(view(**kw), by_id={host.hostid: host}, owned={ONE: (host,)})


def test_a_host_of_ours_found_only_by_its_tag_is_adopted_never_made_twice():
    renamed = actual(desired_for(device(1)), host="renamed-by-hand", name="renamed-by-hand")
    step = decide(reading({ONE: device(1)}), owned_view(renamed)).steps[ONE]
    assert (step.action, step.actual.hostid) == (UPDATE, HOSTID)
    assert step.changes["host"] == "sw-01" and step.changes["name"] == "sw-01"


def test_an_orphan_of_ours_without_a_host_config_is_deleted_only_on_evidence():
    orphan = actual(desired_for(device(1)))
    proven = decide(reading({}, targets=[ONE], deleted={ONE: WEBHOOK}), owned_view(orphan))
    step = proven.steps[ONE]
    assert (step.action, step.actual.hostid, step.config["hostid"]) == (DELETE, HOSTID, HOSTID)
    assert proven.forget_evidence == ()  # it serves the delete
    unproven = decide(reading({}, targets=[ONE]), owned_view(orphan)).steps[ONE]
    assert unproven.action == MISSING


def test_an_archived_host_of_ours_is_left_as_it_is():
    archived = actual(desired_for(device(1)), groups=("NetBox graveyard",), status=1)
    gone = decide(reading({}, targets=[ONE], deleted={ONE: WEBHOOK}), owned_view(archived))
    assert gone.steps[ONE].action == SKIP and gone.forget_evidence == (ONE,)
    back = decide(reading({ONE: device(1)}), owned_view(archived)).steps[ONE]
    assert back.action == CREATE


def test_a_live_host_of_ours_wins_over_one_archived_before_archives_lost_the_tag():
    archived = actual(desired_for(device(1)), hostid="9", groups=("NetBox graveyard",))
    live = actual(desired_for(device(1)), name="renamed-by-hand")
    both = replace(view(), by_id={"9": archived, HOSTID: live}, owned={ONE: (archived, live)})
    step = decide(reading({ONE: device(1)}), both).steps[ONE]
    assert (step.action, step.actual.hostid) == (UPDATE, HOSTID)


def test_lookups_ask_for_hosts_by_tag_only_for_new_objects_netbox_wants_a_host_for():
    r = reading(
        {ONE: device(1), target(2): device(2), target(3): device(3, status={"value": "x"})},
        targets=[ONE, target(2), target(3), target(4), target(5)],
        configs=[config()],
        deleted={target(5): WEBHOOK},
    )
    found = lookups(r)
    assert (found.owners, found.owner_tag) == ((target(2), target(5)), "netbox-object")


def test_a_delete_is_held_back_while_an_active_maintenance_window_holds_the_host():
    r, v = world(None, configured=True, host={})
    held = replace(r, protected={ONE: "maintenance window 'rack move' (until 12:00)"})
    step = step_of((held, v))
    assert step.action == DISABLE and step.changes == {"status": 1}
    assert "held back by maintenance window 'rack move'" in step.note
    assert step.windows is None  # it stays in its windows until they end
    allowed = replace(held, settings={**SETTINGS, "delete_during_maintenance": True})
    step = step_of((allowed, v))
    assert step.action == DELETE and step.windows == frozenset()


def test_a_host_joins_the_windows_that_cover_its_object():
    r, v = world(configured=True, host={})
    windows = (
        Window(name="this one", owner="operator", scope={"hosts": [ONE]}),
        Window(name="its site", owner="operator", scope={"sites": ["dc1-ams"]}),
        Window(name="a tag", owner="netbox", scope={"tags": ["not-on-it"]}),
    )
    step = step_of((replace(r, windows=windows), v))
    assert step.action == IN_STEP and step.windows == {"this one", "its site"}


def test_a_delete_for_want_of_a_primary_ip_is_held_back_by_an_active_window_too():
    bare = device(primary_ip=None, primary_ip4=None, primary_ip6=None)
    settings = {**SETTINGS, "no_primary_ip": "delete"}
    r, v = world(bare, configured=True, host={}, settings=settings)
    step = step_of((r, v))
    assert step.action == DELETE and step.windows == frozenset()  # out of its windows first
    held = replace(r, protected={ONE: "maintenance window 'w' (until 12:00)"})
    step = step_of((held, v))
    assert step.action == DISABLE and step.no_primary_ip and step.windows is None
    assert "held back by maintenance window 'w'" in step.note


def test_lookups_name_the_proxies_and_proxy_groups_the_hosts_want():
    r, _ = world(mappings=[mapping(proxy="proxy-ams-01")])
    assert (lookups(r).proxies, lookups(r).proxy_groups) == (("proxy-ams-01",), ())
    r, _ = world(mappings=[mapping(proxy_group="ams")])
    assert (lookups(r).proxies, lookups(r).proxy_groups) == ((), ("ams",))
    r, _ = world()
    assert (lookups(r).proxies, lookups(r).proxy_groups) == ((), ())
