"""Own only what we wrote, on real Zabbix 6.0 and 7.0: templates and host groups a person
added to a host stay through mapping changes, updates and full syncs; a template removed
from a mapping is unlinked (its items cleared) where the service linked it, and only there."""

import pytest

from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import one_host
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"], ids=["zabbix6.0", "zabbix7.0"]),
]

#: A template a person links by hand (4 agent items on both versions).
HAND = "Zabbix agent"
#: A template a mapping links.
MAPPED = "HAProxy by Zabbix agent"


@pytest.fixture
def mapping(db):
    """Add a mapping for devices tagged ``tag``; removed after the test."""
    added = []

    def add(tag, templates, groups=("NetBox devices",)):
        added.append(tag)
        db.execute(
            "INSERT INTO mappings (name, object_type, tags, templates, host_groups)"
            " VALUES (%s, 'dcim.device', %s, %s, %s)",
            [f"own {tag}", [tag], list(templates), list(groups)],
        )

    yield add
    db.execute("DELETE FROM mappings WHERE name = ANY(%s)", [[f"own {t}" for t in added]])


def templates_of(zabbix, name):
    return sorted(t["host"] for t in one_host(zabbix, name)["parentTemplates"])


def groups_of(zabbix, name):
    return sorted(g["name"] for g in one_host(zabbix, name)[zabbix.dialect.group_key])


def link_by_hand(zabbix, name, template):
    templateid = zabbix.call("template.get", {"filter": {"host": [template]}})[0]["templateid"]
    hostid = one_host(zabbix, name)["hostid"]
    zabbix.call(
        "host.massadd", {"hosts": [{"hostid": hostid}], "templates": [{"templateid": templateid}]}
    )


def item_keys(zabbix, name):
    hostid = one_host(zabbix, name)["hostid"]
    return {i["key_"] for i in zabbix.call("item.get", {"hostids": [hostid], "output": ["key_"]})}


def template_keys(zabbix, template):
    templateid = zabbix.call("template.get", {"filter": {"host": [template]}})[0]["templateid"]
    found = zabbix.call("item.get", {"templateids": [templateid], "output": ["key_"]})
    return {i["key_"] for i in found}


def owned(db, target):
    row = db.execute(
        "SELECT owned_groups, owned_templates FROM host_configs WHERE target = %s", [target]
    ).fetchone()
    return row["owned_groups"], row["owned_templates"]


def sync(stack):
    status, out, err = nzc(stack, "sync", "now", wait=False)
    assert status == 0, out + err
    stack.settle()


def test_a_hand_linked_template_survives_a_mapping_change_and_a_full_sync(stack, db, mapping):
    sim, _, zabbix = stack
    mapping("own-a", [MAPPED])
    dev = sim.sim.create_device("own-a-01", ip="10.0.80.1/24")
    wait_for(lambda: one_host(zabbix, "own-a-01"), "the host")
    stack.settle()
    target = f"dcim.device:{dev}"
    assert owned(db, target) == (["NetBox devices"], ["ICMP Ping"])
    link_by_hand(zabbix, "own-a-01", HAND)

    sim.sim.update_device(dev, tags=["own-a"])
    wait_for(lambda: MAPPED in templates_of(zabbix, "own-a-01"), "the mapping's template")
    stack.settle()
    assert templates_of(zabbix, "own-a-01") == sorted([HAND, MAPPED])
    assert template_keys(zabbix, HAND) <= item_keys(zabbix, "own-a-01")
    assert owned(db, target) == (["NetBox devices"], [MAPPED])

    sync(stack)
    assert templates_of(zabbix, "own-a-01") == sorted([HAND, MAPPED])
    status, out, err = nzc(stack, "validate", target)
    assert status == 0, out + err


def test_a_template_dropped_from_a_mapping_is_unlinked_only_where_the_service_linked_it(
    stack, db, mapping
):
    sim, _, zabbix = stack
    mapping("own-b", ["ICMP Ping"])
    ours = sim.sim.create_device("own-b-01", ip="10.0.81.1/24", tags=["own-b"])
    sim.sim.create_device("own-b-02", ip="10.0.81.2/24", tags=["own-b"])
    for name in ("own-b-01", "own-b-02"):
        wait_for(lambda name=name: one_host(zabbix, name), f"the host of {name}")
    stack.settle()
    # A person links the template on one host before the mapping names it.
    link_by_hand(zabbix, "own-b-02", MAPPED)

    db.execute(
        "UPDATE mappings SET templates = %s WHERE name = 'own own-b'", [["ICMP Ping", MAPPED]]
    )
    sync(stack)
    assert templates_of(zabbix, "own-b-01") == sorted(["ICMP Ping", MAPPED])
    assert owned(db, f"dcim.device:{ours}")[1] == sorted(["ICMP Ping", MAPPED])

    db.execute("UPDATE mappings SET templates = %s WHERE name = 'own own-b'", [["ICMP Ping"]])
    sync(stack)
    assert templates_of(zabbix, "own-b-01") == ["ICMP Ping"]
    # Unlinked and cleared: the template's items are gone from the host.
    assert not template_keys(zabbix, MAPPED) & item_keys(zabbix, "own-b-01")
    assert templates_of(zabbix, "own-b-02") == sorted(["ICMP Ping", MAPPED])
    assert template_keys(zabbix, MAPPED) <= item_keys(zabbix, "own-b-02")


def test_a_hand_added_group_survives_an_update_unless_keep_foreign_groups_is_off(stack, db):
    sim, _, zabbix = stack
    dev = sim.sim.create_device("own-c-01", ip="10.0.82.1/24")
    wait_for(lambda: one_host(zabbix, "own-c-01"), "the host")
    stack.settle()
    groupid = zabbix.call("hostgroup.create", {"name": "Hand made"})["groupids"][0]
    hostid = one_host(zabbix, "own-c-01")["hostid"]
    zabbix.call("host.massadd", {"hosts": [{"hostid": hostid}], "groups": [{"groupid": groupid}]})

    sim.sim.update_device(dev, name="own-c-02")
    wait_for(lambda: one_host(zabbix, "own-c-02"), "the renamed host")
    stack.settle()
    assert groups_of(zabbix, "own-c-02") == ["Hand made", "NetBox devices"]

    status, out, err = nzc(stack, "settings", "set", "keep_foreign_groups", "false", wait=False)
    assert status == 0, out + err
    try:
        status, _, err = nzc(stack, "validate", f"dcim.device:{dev}")
        assert status == 1 and "host groups in Zabbix that NetBox does not want: Hand made" in err
        sim.sim.update_device(dev, name="own-c-03")
        wait_for(lambda: one_host(zabbix, "own-c-03"), "the renamed host")
        stack.settle()
        assert groups_of(zabbix, "own-c-03") == ["NetBox devices"]
    finally:
        db.execute("UPDATE settings SET keep_foreign_groups = true")


def clashing_templates(zabbix, *names):
    """Templates ``names``, each with a trapper item of one key: Zabbix refuses to link
    two of them to a host."""
    if zabbix.dialect.version >= (6, 2):
        group = zabbix.call("templategroup.get", {"filter": {"name": ["Templates"]}})[0]
    else:
        group = zabbix.call("hostgroup.get", {"filter": {"name": ["Templates"]}})[0]
    for name in names:
        templateid = zabbix.call(
            "template.create", {"host": name, "groups": [{"groupid": group["groupid"]}]}
        )["templateids"][0]
        zabbix.call(
            "item.create",
            {
                "hostid": templateid,
                "name": "clash",
                "key_": "own.clash",
                "type": 2,
                "value_type": 3,
            },
        )


def test_a_hand_linked_template_that_clashes_with_the_mappings_is_reported_on_the_target(
    stack, db, mapping
):
    sim, _, zabbix = stack
    clashing_templates(zabbix, "Own clash by hand", "Own clash mapped")
    mapping("own-d", ["ICMP Ping", "Own clash mapped"])
    dev = sim.sim.create_device("own-d-01", ip="10.0.83.1/24")
    wait_for(lambda: one_host(zabbix, "own-d-01"), "the host")
    stack.settle()
    link_by_hand(zabbix, "own-d-01", "Own clash by hand")

    sim.sim.update_device(dev, tags=["own-d"])
    stack.settle()
    target = f"dcim.device:{dev}"
    failure = db.execute("SELECT * FROM target_failures WHERE target = %s", [target]).fetchone()
    assert failure["error"].startswith(
        "Zabbix refused to link template(s) 'Own clash mapped' next to template(s) "
        "'Own clash by hand' linked by hand"
    )
    logged = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND level = 'error'", [target]
    ).fetchall()
    assert any("'Own clash by hand' linked by hand" in r["message"] for r in logged)
    # Nothing was dropped to make the link fit.
    assert templates_of(zabbix, "own-d-01") == sorted(["ICMP Ping", "Own clash by hand"])
