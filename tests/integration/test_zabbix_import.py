"""ImportZabbixSettings (`nzc zabbix import`) on real Zabbix 6.0 and 7.0 and the 7.2/7.4
stand-ins: the mirrors follow Zabbix, and a mass removal past max_deletions changes nothing."""

import pytest

from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import MIRRORS

pytestmark = pytest.mark.integration


def template_group(zabbix):
    method = "templategroup.get" if zabbix.dialect.version >= (6, 2) else "hostgroup.get"
    return zabbix.call(method, {"output": ["groupid"], "filter": {"name": ["Templates"]}})[0]


def make_templates(zabbix, *names):
    group = template_group(zabbix)["groupid"]
    return [
        zabbix.call("template.create", {"host": n, "groups": [{"groupid": group}]})["templateids"][
            0
        ]
        for n in names
    ]


def mirrored(db, table="zabbix_templates"):
    return {r["name"]: r for r in db.execute(f"SELECT * FROM {table}").fetchall()}


@pytest.fixture
def empty_mirrors(db):
    before = db.execute("SELECT max_deletions FROM settings").fetchone()["max_deletions"]
    for table in MIRRORS:
        db.execute(f"DELETE FROM {table}")
    yield db
    db.execute("UPDATE settings SET max_deletions = %s", [before])


def test_the_mirrors_follow_zabbix_and_a_mass_removal_changes_nothing(
    stack, empty_mirrors, zabbix_version
):
    sim, runtime, zabbix = stack
    db = empty_mirrors
    if zabbix.dialect.has_proxy_groups:
        zabbix.call("proxygroup.create", {"name": "ams", "failover_delay": "1m", "min_online": "1"})
    code, out, err = nzc(stack, "zabbix", "import")
    assert code == 0, err
    templates = mirrored(db)
    count = int(zabbix.call("template.get", {"countOutput": True}))
    assert len(templates) == count
    assert templates["Linux by Zabbix agent"]["interface_kinds"] == ["agent"]
    assert templates["Generic by SNMP"]["interface_kinds"] == ["snmp"]
    assert templates["ICMP Ping"]["interface_kinds"] == []
    assert "Zabbix servers" in mirrored(db, "zabbix_host_groups")
    groups = mirrored(db, "zabbix_proxy_groups")
    assert list(groups) == (["ams"] if zabbix.dialect.has_proxy_groups else [])
    code, out, err = nzc(stack, "zabbix", "templates", wait=False)
    assert code == 0 and any(line.endswith("Generic by SNMP  snmp") for line in out.splitlines())

    # A template removed in Zabbix leaves the mirror; one import costs a handful of calls.
    gone, *more = make_templates(zabbix, "nzc-tmp-1", "nzc-tmp-2", "nzc-tmp-3")
    assert nzc(stack, "zabbix", "import")[0] == 0
    zabbix.call("template.delete", [gone])
    calls = sum(runtime.zabbix.calls.values())
    assert nzc(stack, "zabbix", "import")[0] == 0
    assert sum(runtime.zabbix.calls.values()) - calls <= 6
    assert "nzc-tmp-1" not in mirrored(db) and "nzc-tmp-2" in mirrored(db)

    # More removals than max_deletions: refused with the count and the limit, nothing changed.
    db.execute("UPDATE settings SET max_deletions = 1")
    zabbix.call("template.delete", more)
    before = mirrored(db)
    code, out, err = nzc(stack, "zabbix", "import")
    assert code == 1
    assert "would remove 2 mirrored objects (2 templates)" in err
    assert "max_deletions setting (1); nothing was changed" in err
    assert mirrored(db) == before
