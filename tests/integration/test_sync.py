"""SyncHostsNow (`nzc sync now`) and HostConfigSyncRefresh on real Zabbix 6.0 and 7.0: what
NetBox failed to send and what people changed in Zabbix by hand is healed, orphans go only
on NetBox's own evidence, hosts that are not ours are never touched, and a mass deletion
past max_deletions deletes nothing."""

import json

import pytest

from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import one_host
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"], ids=["zabbix6.0", "zabbix7.0"]),
]


def hosts_by_name(zabbix):
    found = zabbix.call("host.get", {"output": ["hostid", "host", "name", "status"]})
    return {h["name"]: h for h in found}


def rows(db, table):
    return db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


def make_devices(stack, *names):
    sim, _, zabbix = stack
    ids = [sim.sim.create_device(n, ip=f"10.0.70.{i + 1}/24") for i, n in enumerate(names)]
    for name in names:
        wait_for(lambda name=name: one_host(zabbix, name), f"the host of {name}")
    stack.settle()
    return ids


def nzc_sync(stack, *args):
    return nzc(stack, "sync", "now", *args, wait=False)


@pytest.fixture
def max_deletions(db):
    before = db.execute("SELECT max_deletions FROM settings").fetchone()["max_deletions"]
    yield lambda n: db.execute("UPDATE settings SET max_deletions = %s", [n])
    db.execute("UPDATE settings SET max_deletions = %s", [before])


def test_lost_webhooks_are_healed_by_a_sync_and_the_dry_run_lists_exactly_those_changes(stack, db):
    sim, runtime, zabbix = stack
    renamed, deleted, kept = make_devices(stack, "sync-a", "sync-b", "sync-c")
    before_kept = one_host(zabbix, "sync-c")

    # NetBox fails to deliver every webhook from now on.
    sim.sender.dropped = lambda _body: True
    sim.sim.update_device(renamed, name="sync-a-renamed")
    sim.sim.delete_device(deleted)
    stack.settle()
    assert one_host(zabbix, "sync-a") and one_host(zabbix, "sync-b")

    zabbix_before = hosts_by_name(zabbix)
    tables = {t: rows(db, t) for t in ("host_configs", "dirty_targets", "target_failures")}
    jobs_before = db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"]
    code, out, err = nzc_sync(stack, "--dry-run")
    assert code == 0, err
    planned = [line for line in out.splitlines() if not line.startswith(("    ", "dry run"))]
    assert sorted(planned) == sorted(
        [
            f"update   dcim.device:{renamed} 'sync-a-renamed'",
            f"delete   dcim.device:{deleted} 'sync-b'",
        ]
    ), out
    assert "visible name: Zabbix has 'sync-a', NetBox wants 'sync-a-renamed'" in out
    assert "NetBox's change log records its deletion" in out
    # The dry run wrote nothing, in Zabbix or in Postgres.
    assert hosts_by_name(zabbix) == zabbix_before
    assert {t: rows(db, t) for t in tables} == tables
    assert db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"] == jobs_before

    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 0, err
    result = json.loads(out[: out.rindex("}") + 1])
    assert result["marked"] == 2 and result["compared"] == 3
    after = hosts_by_name(zabbix)
    assert "sync-a-renamed" in after and "sync-a" not in after
    assert after["sync-b (archived)"]["status"] == "1"
    assert one_host(zabbix, "sync-c") == before_kept
    stack.settle()

    # Everything is in step now: a second sync marks nothing and writes nothing to Zabbix.
    writes = sum(n for m, n in runtime.zabbix.calls.items() if not m.endswith(".get"))
    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 0, err
    assert json.loads(out[: out.rindex("}") + 1])["marked"] == 0
    stack.settle()
    assert sum(n for m, n in runtime.zabbix.calls.items() if not m.endswith(".get")) == writes


def test_a_host_edited_by_hand_shows_out_of_sync_after_a_refresh_and_a_sync_repairs_it(stack, db):
    sim, runtime, zabbix = stack
    (dev,) = make_devices(stack, "hand-01")
    target = f"dcim.device:{dev}"
    host = one_host(zabbix, "hand-01")
    zabbix.call("host.update", {"hostid": host["hostid"], "name": "edited by hand"})
    # Last checked two hours ago: past the cutoff (60 minutes).
    db.execute("UPDATE host_configs SET checked_at = now() - interval '2 hours'")

    code, out, err = nzc(stack, "schedules", "run", "host_config_sync_refresh")
    assert code == 0, err
    assert json.loads(out)["checked"] == 1 and json.loads(out)["differing"] == 1
    code, out, err = nzc(stack, "hosts", "list", "--out-of-sync", wait=False)
    assert code == 0, err
    assert target in out and "differs" in out
    assert "visible name: Zabbix has 'edited by hand', NetBox wants 'hand-01'" in out
    code, out, err = nzc(stack, "hosts", "show", target, wait=False)
    shown = json.loads(out)
    assert shown["state"] == "differs" and shown["hostid"] == host["hostid"]
    assert any("edited by hand" in d for d in shown["differences"])
    assert one_host(zabbix, "edited by hand")  # the refresh wrote nothing to Zabbix

    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 0, err
    assert one_host(zabbix, "hand-01")["hostid"] == host["hostid"]
    stack.settle()
    code, out, err = nzc(stack, "hosts", "list", "--out-of-sync", wait=False)
    assert out.strip() == "every host config was in sync when last checked", out


@pytest.mark.parametrize("delete_mode", ["soft", "hard"])
def test_an_orphaned_host_of_ours_goes_per_delete_mode_and_other_hosts_are_never_touched(
    stack, db, delete_mode
):
    sim, runtime, zabbix = stack
    orphan, hidden = make_devices(stack, "orphan-01", "hidden-01")
    db.execute("UPDATE settings SET delete_mode = %s", [delete_mode])
    group = zabbix.call(
        "hostgroup.get", {"output": ["groupid"], "filter": {"name": ["NetBox devices"]}}
    )
    groupid = group[0]["groupid"]
    # A host someone made by hand, with no ownership tag; and a host of ours for an object
    # NetBox never returns and whose deletion nothing records (a token that cannot see it).
    manual = zabbix.call("host.create", {"host": "manual-01", "groups": [{"groupid": groupid}]})
    unseen = zabbix.call(
        "host.create",
        {
            "host": "unseen-01",
            "groups": [{"groupid": groupid}],
            "tags": [{"tag": "netbox-object", "value": "dcim.device:9999"}],
        },
    )

    # The orphan: its object is deleted in NetBox without a webhook, and its host config
    # was lost, so only its ownership tag names it.
    sim.sender.dropped = lambda _body: True
    sim.sim.delete_device(orphan)
    db.execute("DELETE FROM host_configs WHERE target = %s", [f"dcim.device:{orphan}"])
    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 0, err
    stack.settle()
    after = hosts_by_name(zabbix)
    assert "orphan-01" not in after
    if delete_mode == "hard":
        assert "orphan-01 (archived)" not in after
    else:
        archived = zabbix.call(
            "host.get",
            {"hostids": [after["orphan-01 (archived)"]["hostid"]], "selectTags": "extend"},
        )[0]
        assert archived["status"] == "1"
        tags = {(t["tag"], t["value"]) for t in archived["tags"]}
        assert ("netbox-archived", f"dcim.device:{orphan}") in tags
        assert not any(tag == "netbox-object" for tag, _ in tags)
        # No longer ours: a second sync leaves the archived host alone.
        writes = runtime.zabbix.calls["host.update"]
        assert nzc_sync(stack, "--wait", "120")[0] == 0
        stack.settle()
        assert runtime.zabbix.calls["host.update"] == writes
        assert "orphan-01 (archived)" in hosts_by_name(zabbix)
    assert after["hidden-01"]["status"] == "0"
    assert after["manual-01"]["hostid"] == manual["hostids"][0]
    assert after["unseen-01"]["hostid"] == unseen["hostids"][0]
    assert (
        zabbix.call("host.get", {"hostids": manual["hostids"], "selectTags": "extend"})[0]["tags"]
        == []
    )


def test_a_sync_that_would_delete_more_than_max_deletions_deletes_nothing(stack, db, max_deletions):
    sim, runtime, zabbix = stack
    ids = make_devices(stack, "mass-01", "mass-02", "mass-03")
    max_deletions(2)
    sim.sender.dropped = lambda _body: True
    for dev in ids:
        sim.sim.delete_device(dev)

    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 1
    assert "the sync would delete 3 Zabbix hosts, more than max_deletions (2)" in err
    assert "nzc sync now --allow-deletions 3" in err
    stack.settle()
    after = hosts_by_name(zabbix)
    assert all(after[f"mass-0{n}"]["status"] == "0" for n in (1, 2, 3))
    assert db.execute("SELECT count(*) AS n FROM host_configs").fetchone()["n"] == 3

    code, out, err = nzc_sync(stack, "--allow-deletions", "3", "--wait", "120")
    assert code == 0, err
    stack.settle()
    after = hosts_by_name(zabbix)
    assert {f"mass-0{n} (archived)" for n in (1, 2, 3)} <= set(after)


def test_a_sync_never_makes_a_second_host_for_an_object_whose_host_config_was_lost(stack, db):
    sim, runtime, zabbix = stack
    (dev,) = make_devices(stack, "twice-01")
    host = one_host(zabbix, "twice-01")
    # Renamed by hand, and its host config lost: only the ownership tag ties it to NetBox.
    zabbix.call("host.update", {"hostid": host["hostid"], "host": "renamed", "name": "renamed"})
    db.execute("DELETE FROM host_configs WHERE target = %s", [f"dcim.device:{dev}"])
    creates = runtime.zabbix.calls["host.create"]

    code, out, err = nzc_sync(stack, "--wait", "120")
    assert code == 0, err
    stack.settle()
    assert runtime.zabbix.calls["host.create"] == creates
    ours = zabbix.call(
        "host.get",
        {
            "output": ["hostid", "name"],
            "tags": [{"tag": "netbox-object", "value": f"dcim.device:{dev}", "operator": 1}],
        },
    )
    assert ours == [{"hostid": host["hostid"], "name": "twice-01"}]
    config = db.execute(
        "SELECT * FROM host_configs WHERE target = %s", [f"dcim.device:{dev}"]
    ).fetchone()
    assert config["hostid"] == host["hostid"] and config["in_sync"]


def test_a_sync_plans_no_create_where_a_host_that_is_not_ours_holds_the_name(stack, db):
    sim, runtime, zabbix = stack
    sim.sender.dropped = lambda _body: True  # the device's webhooks never arrive
    dev = sim.sim.create_device("taken-01", ip="10.0.71.1/24")
    group = zabbix.call(
        "hostgroup.get", {"output": ["groupid"], "filter": {"name": ["Zabbix servers"]}}
    )[0]["groupid"]
    zabbix.call("host.create", {"host": "taken-01", "groups": [{"groupid": group}]})

    code, out, err = nzc_sync(stack, "--dry-run")
    assert code == 0, err
    assert f"refuse   dcim.device:{dev}" in out.splitlines()
    assert "a Zabbix host named 'taken-01' already exists and is not ours" in out
    creates = runtime.zabbix.calls["host.create"]
    assert nzc_sync(stack, "--wait", "120")[0] == 1  # the target failed, and says so
    stack.settle()
    assert runtime.zabbix.calls["host.create"] == creates
    assert [
        h["host"]
        for h in zabbix.call("host.get", {"output": ["host"], "search": {"host": "taken-01"}})
    ] == ["taken-01"]
