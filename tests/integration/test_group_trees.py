"""Host-group trees from NetBox on real Zabbix 6.0 and 7.0: ``Sites/{region_path}/{site}``
with nested regions creates every parent group before its child (so permissions on the
parent reach the leaf), and a device without a region gets no broken group name."""

import pytest

from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import one_host
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"], ids=["zabbix6.0", "zabbix7.0"]),
]

TREE = "Sites/{region_path}/{site}"


@pytest.fixture
def tree_mapping(db):
    db.execute(
        """INSERT INTO mappings (name, object_type, tags, templates, host_groups, interface_types)
           VALUES ('tree', 'dcim.device', '{tree}', '{ICMP Ping}', %s, '{agent}')""",
        [[TREE, "NetBox devices"]],
    )
    yield
    db.execute("DELETE FROM mappings WHERE name = 'tree'")


def groups_of(zabbix, host):
    return sorted(g["name"] for g in host[zabbix.dialect.group_key])


def read_rights(zabbix, usrgrpid):
    """The host group ids a user group has rights on (6.2 renamed the option)."""
    v62 = zabbix.dialect.version >= (6, 2)
    option = "selectHostGroupRights" if v62 else "selectRights"
    found = zabbix.call("usergroup.get", {"usrgrpids": [usrgrpid], option: "extend"})[0]
    return {r["id"] for r in found["hostgroup_rights" if v62 else "rights"]}


def test_nested_regions_create_parent_groups_first_and_the_host_lands_in_the_leaf(
    stack, db, tree_mapping
):
    sim, _, zabbix = stack
    # An administrator gave a team rights on "Sites": Zabbix passes them to a new subgroup
    # only when its parent exists as it is created.
    sites = zabbix.call("hostgroup.create", {"name": "Sites"})["groupids"][0]
    rights = [{"permission": 2, "id": sites}]
    key = "hostgroup_rights" if zabbix.dialect.version >= (6, 2) else "rights"
    team = zabbix.call("usergroup.create", {"name": "Site team", key: rights})["usrgrpids"][0]
    europe = sim.sim.add_org("region", "Europe")
    netherlands = sim.sim.add_org("region", "Netherlands", parent=europe)
    amsterdam = sim.sim.add_org("region", "Amsterdam", parent=netherlands)
    site = sim.sim.add_org("site", "DC1 Amsterdam", "dc1-ams", region=amsterdam)

    sim.sim.create_device(
        "tree-01", ip="10.0.70.1/24", tags=["tree"], site=sim.sim.org_ref("site", site)
    )
    host = wait_for(lambda: one_host(zabbix, "tree-01"), "the host in the region tree")
    stack.settle()

    leaf = "Sites/Europe/Netherlands/Amsterdam/DC1 Amsterdam"
    assert groups_of(zabbix, one_host(zabbix, "tree-01")) == ["NetBox devices", leaf]
    made = zabbix.call(
        "hostgroup.get", {"output": ["groupid", "name"], "search": {"name": "Sites"}}
    )
    by_name = {g["name"]: g["groupid"] for g in made}
    assert sorted(by_name) == [
        "Sites",
        "Sites/Europe",
        "Sites/Europe/Netherlands",
        "Sites/Europe/Netherlands/Amsterdam",
        leaf,
    ]
    # Each level was created after its parent, so the team's rights reached the leaf.
    assert read_rights(zabbix, team) == set(by_name.values())
    assert host["hostid"]


def test_a_device_without_a_region_gets_its_other_groups_and_the_event_log_says_why(
    stack, db, tree_mapping
):
    sim, _, zabbix = stack
    site = sim.sim.add_org("site", "Lab", "lab")
    dev = sim.sim.create_device(
        "tree-02", ip="10.0.70.2/24", tags=["tree"], site=sim.sim.org_ref("site", site)
    )
    host = wait_for(lambda: one_host(zabbix, "tree-02"), "the host without a region")
    stack.settle()

    assert groups_of(zabbix, host) == ["NetBox devices"]
    broken = zabbix.call("hostgroup.get", {"output": ["name"], "search": {"name": "Sites"}})
    assert broken == []
    logged = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND level = 'warning'",
        [f"dcim.device:{dev}"],
    ).fetchall()
    assert any(
        f"host group {TREE!r} left out: its field {{region_path}} is empty for this object"
        in row["message"]
        for row in logged
    ), logged


def test_nzc_mappings_add_refuses_an_unknown_field_and_accepts_a_template(stack, db):
    code, _, err = nzc(
        stack, "mappings", "add", "bad-tree", "--host-groups", "Sites/{regoin}", wait=False
    )
    assert code == 1
    assert "{regoin} is not a field a host-group template may use; known: site," in err
    assert "region_path" in err

    code, out, err = nzc(
        stack, "mappings", "add", "cli-tree", "--tags", "x", "--host-groups", TREE, wait=False
    )
    try:
        assert code == 0, err
        assert "is not in the mirror" not in out
        row = db.execute("SELECT host_groups FROM mappings WHERE name = 'cli-tree'").fetchone()
        assert row["host_groups"] == [TREE]
    finally:
        db.execute("DELETE FROM mappings WHERE name IN ('cli-tree', 'bad-tree')")
