"""Own only what we wrote: the planner adds and removes only the host groups and templates
the host config records as the service's; foreign ones stay unless a setting says otherwise.

Built like tests/unit/test_plan.py: a host config and the Zabbix host of device 1, decided
on; the mapping gives ``ICMP Ping`` and ``NetBox devices``.
"""

from dataclasses import replace

import pytest

from handlers.decide.diff import describe_differences
from handlers.decide.ownership import Owned, link_refused
from handlers.decide.payloads import update_payload
from handlers.decide.plan import CREATE, IN_STEP, UPDATE, decide, problems
from handlers.gateways.zabbix_dialect import Dialect
from tests.unit.objects import SETTINGS
from tests.unit.test_plan import ONE, actual, config, desired_for, device, known, mapping, reading
from tests.unit.test_plan import view as zabbix_view

HAND = "Linux by Zabbix agent"  # a template a person linked
ROOM = "Server room"  # a group a person added
#: What Zabbix knows of the groups and templates the mappings name.
IDS = known(
    groups={"NetBox devices": "5", "Core": "6"},
    templates={"ICMP Ping": "10564", "Cisco IOS by SNMP": "10218", HAND: "10001"},
)


def host(groups=("NetBox devices",), templates=("ICMP Ping",)):
    """The Zabbix host of device 1, in step but for its groups and templates."""
    base = actual(desired_for(device(1)))
    return replace(
        base,
        groups=tuple(sorted(groups)),
        templates=tuple(sorted(templates)),
        group_ids={g: f"g-{g}" for g in groups},
        template_ids={t: f"t-{t}" for t in templates},
    )


def decided(zabbix_host, *, owned=None, rule=None, keep=True, keep_groups=True):
    """The step for device 1, whose host config records ``owned`` (groups, templates)
    (None: a host config written before ownership was recorded)."""
    row = config()
    if owned is not None:
        row |= {"owned_groups": list(owned[0]), "owned_templates": list(owned[1])}
    settings = SETTINGS | {"keep_foreign_templates": keep, "keep_foreign_groups": keep_groups}
    plan = decide(
        reading(
            {ONE: device(1)},
            configs=[row],
            mappings=[rule or mapping()],
            settings=settings,
        ),
        zabbix_view(zabbix_host, ids=IDS),
    )
    return plan, plan.steps[ONE]


OURS = (("NetBox devices",), ("ICMP Ping",))
CASES = [
    # (case, Zabbix host, recorded, mapping changes, settings, action, groups, templates,
    #  templates_clear, owned after)
    (
        "a foreign template stays",
        host(templates=("ICMP Ping", HAND)),
        OURS,
        {},
        {},
        IN_STEP,
        ("NetBox devices",),
        ("ICMP Ping", HAND),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "a foreign group stays",
        host(groups=("NetBox devices", ROOM)),
        OURS,
        {},
        {},
        IN_STEP,
        ("NetBox devices", ROOM),
        ("ICMP Ping",),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "a foreign template stays when the mapping changes",
        host(templates=("ICMP Ping", HAND)),
        OURS,
        {"templates": ["Cisco IOS by SNMP"]},
        {},
        UPDATE,
        ("NetBox devices",),
        ("Cisco IOS by SNMP", HAND),
        ("ICMP Ping",),
        Owned(("NetBox devices",), ("Cisco IOS by SNMP",)),
    ),
    (
        "an owned template the mapping dropped is unlinked and cleared",
        host(templates=("Cisco IOS by SNMP", "ICMP Ping")),
        (("NetBox devices",), ("Cisco IOS by SNMP", "ICMP Ping")),
        {},
        {},
        UPDATE,
        ("NetBox devices",),
        ("ICMP Ping",),
        ("Cisco IOS by SNMP",),
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "an owned group the mapping dropped goes, a foreign one stays",
        host(groups=("Core", "NetBox devices", ROOM)),
        (("Core", "NetBox devices"), ("ICMP Ping",)),
        {},
        {},
        UPDATE,
        ("NetBox devices", ROOM),
        ("ICMP Ping",),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "foreign templates and groups go when the settings are off",
        host(groups=("NetBox devices", ROOM), templates=("ICMP Ping", HAND)),
        OURS,
        {},
        {"keep": False, "keep_groups": False},
        UPDATE,
        ("NetBox devices",),
        ("ICMP Ping",),
        (HAND,),
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "keep_foreign_groups off drops groups only",
        host(groups=("NetBox devices", ROOM), templates=("ICMP Ping", HAND)),
        OURS,
        {},
        {"keep_groups": False},
        UPDATE,
        ("NetBox devices",),
        ("ICMP Ping", HAND),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "a legacy host config (NULL) owns only what the mapping names: the rest is kept",
        host(groups=("NetBox devices", ROOM), templates=("ICMP Ping", HAND)),
        None,
        {},
        {},
        IN_STEP,
        ("NetBox devices", ROOM),
        ("ICMP Ping", HAND),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "a legacy host config whose mapping changed keeps the old template (maybe by hand)",
        host(templates=("ICMP Ping",)),
        None,
        {"templates": ["Cisco IOS by SNMP"]},
        {},
        UPDATE,
        ("NetBox devices",),
        ("Cisco IOS by SNMP", "ICMP Ping"),
        (),
        Owned(("NetBox devices",), ("Cisco IOS by SNMP",)),
    ),
    (
        "an adopted host (empty sets) keeps what it had and owns what the mapping adds",
        host(groups=(ROOM,), templates=(HAND,)),
        ((), ()),
        {},
        {},
        UPDATE,
        ("NetBox devices", ROOM),
        ("ICMP Ping", HAND),
        (),
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
    (
        "a foreign template the mapping also names stays foreign",
        host(templates=("ICMP Ping", HAND)),
        OURS,
        {"templates": ["ICMP Ping", HAND]},
        {},
        IN_STEP,
        ("NetBox devices",),
        ("ICMP Ping", HAND),
        None,
        Owned(("NetBox devices",), ("ICMP Ping",)),
    ),
]


@pytest.mark.parametrize(
    (
        "zabbix_host",
        "recorded",
        "rule",
        "settings",
        "action",
        "groups",
        "templates",
        "clear",
        "own",
    ),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_updates_add_and_remove_only_what_the_service_owns(
    zabbix_host, recorded, rule, settings, action, groups, templates, clear, own
):
    _, step = decided(
        zabbix_host, owned=recorded, rule=mapping(**rule) if rule else None, **settings
    )
    assert step.action == action
    assert (step.desired.groups, step.desired.templates) == (groups, templates)
    assert step.changes.get("templates_clear") == clear
    assert step.owned == own


def test_a_new_host_owns_everything_the_mapping_gives():
    plan = decide(reading({ONE: device(1)}, mappings=[mapping()]), zabbix_view(ids=IDS))
    step = plan.steps[ONE]
    assert step.action == CREATE
    assert step.owned == Owned(("NetBox devices",), ("ICMP Ping",))


def test_validation_does_not_report_kept_foreign_templates_and_groups():
    zabbix_host = host(groups=("NetBox devices", ROOM), templates=("ICMP Ping", HAND))
    plan, _ = decided(zabbix_host, owned=OURS)
    assert problems(plan) == {}
    plan, step = decided(zabbix_host, owned=OURS, keep=False, keep_groups=False)
    assert describe_differences(step.desired, step.actual, step.changes, SETTINGS) == [
        f"host groups in Zabbix that NetBox does not want: {ROOM}",
        f"templates in Zabbix that NetBox does not want: {HAND}",
    ]


def test_an_update_sends_kept_groups_and_templates_with_the_ids_the_host_carries():
    # Zabbix was not asked for the ids of templates only the host names.
    zabbix_host = host(groups=("NetBox devices", ROOM), templates=("ICMP Ping", "By hand"))
    plan, step = decided(zabbix_host, owned=OURS, rule=mapping(templates=["Cisco IOS by SNMP"]))
    payload = update_payload(Dialect((7, 0)), step.actual, step.changes, step.desired, plan.ids, [])
    assert payload["templates"] == [{"templateid": "t-By hand"}, {"templateid": "10218"}]
    assert payload["templates_clear"] == [{"templateid": "t-ICMP Ping"}]
    assert "groups" not in payload


def test_a_groups_change_creates_only_the_services_groups_not_the_kept_ones():
    zabbix_host = host(groups=("NetBox devices", ROOM))
    plan, step = decided(zabbix_host, owned=OURS, rule=mapping(host_groups=["Access"]))
    assert step.desired.groups == ("Access", ROOM)
    assert plan.groups_to_create == ("Access",)


def test_a_refused_link_next_to_a_hand_linked_template_names_both():
    zabbix_host = host(templates=("ICMP Ping", HAND))
    _, step = decided(zabbix_host, owned=OURS, rule=mapping(templates=["Cisco IOS by SNMP"]))
    message = link_refused('Item key "x" already exists', step.desired, step.actual, step.owned)
    assert message.startswith(
        f"Zabbix refused to link template(s) 'Cisco IOS by SNMP' next to template(s) {HAND!r} "
        "linked by hand"
    )
    assert message.endswith('Zabbix said: Item key "x" already exists')
    # Nothing linked next to a kept template: Zabbix's words as they are.
    _, step = decided(host(templates=("ICMP Ping",)), owned=OURS)
    assert link_refused("boom", step.desired, step.actual, step.owned) == "boom"
