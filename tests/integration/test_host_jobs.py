"""The host jobs run by hand (`nzc provision`, `nzc validate`, `nzc hosts ...`): the real
CLI in its own process sends them through RabbitMQ to the worker, which acts on real
Zabbix 6.0 and 7.0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.zabbix_stack import MIRRORS, host_get, one_host
from tests.netbox_sim.model import site_ref
from tests.waiting import wait_for

pytestmark = pytest.mark.integration
NZC = str(Path(sys.executable).parent / "nzc")


def nzc(stack, *args, wait=True):
    """Run the nzc command against the stack; (exit status, stdout, stderr). Commands that
    send a job wait up to 60 s for it (``wait``)."""
    done = subprocess.run(
        [NZC, *args, *(("--wait", "60") if wait else ())],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.returncode, done.stdout, done.stderr


def mirror_afresh(stack):
    """Import Zabbix's settings into empty mirrors: they may hold another version's rows,
    from an earlier test, whose removal max_deletions would refuse."""
    for table in MIRRORS:
        stack.db.execute(f"DELETE FROM {table}")
    code, _, err = nzc(stack, "zabbix", "import")
    assert code == 0, err


def interfaces(zabbix, hostid):
    found = zabbix.call(
        "host.get",
        {
            "hostids": [hostid],
            "output": ["hostid"],
            "selectInterfaces": ["interfaceid", "type", "ip", "port", "details"],
        },
    )[0]["interfaces"]
    return sorted(
        (i["type"], i["ip"], i["port"], (i["details"] or {}).get("version", "")) for i in found
    )


def test_provision_snmp_validate_and_repair_by_hand(stack, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("edge-01", ip="10.0.50.1/24", serial="S1")
    target = f"dcim.device:{dev}"
    host = wait_for(lambda: one_host(zabbix, "edge-01"), "the host from the webhooks")
    stack.settle()
    hostid = host["hostid"]
    assert interfaces(zabbix, hostid) == [("1", "10.0.50.1", "10050", "")]

    # ProvisionSNMP switches the host to SNMP v3 and the choice outlives later changes.
    code, out, err = nzc(stack, "provision", "snmp", f"device:{dev}", "--version", "v3")
    assert code == 0, err
    assert f'"hostid": "{hostid}"' in out
    assert interfaces(zabbix, hostid) == [("2", "10.0.50.1", "161", "3")]
    row = db.execute("SELECT interface_types FROM host_configs WHERE target = %s", [target])
    assert row.fetchone()["interface_types"] == ["snmpv3"]
    sim.sim.update_device(dev, name="edge-01-ams")
    wait_for(lambda: one_host(zabbix, "edge-01-ams"), "the rename")
    stack.settle()
    assert interfaces(zabbix, hostid) == [("2", "10.0.50.1", "161", "3")]

    code, out, err = nzc(stack, "validate", target)
    assert (code, out.strip()) == (0, "1 host(s) in step with NetBox"), err

    # Someone edits the host in Zabbix: validation names each difference and fails.
    stack.settle()
    writes_before = runtime.zabbix.calls["host.update"]
    zabbix.call("host.update", {"hostid": hostid, "name": "hand-edited", "status": 1})
    code, out, err = nzc(stack, "validate", "--all")
    assert code == 1
    assert f"1 of 1 hosts differ from NetBox:\n  {target}: visible name: Zabbix has " in err
    assert "'hand-edited', NetBox wants 'edge-01-ams'" in err
    assert "status: Zabbix has it disabled, NetBox wants it enabled" in err
    assert runtime.zabbix.calls["host.update"] == writes_before  # validation wrote nothing
    job = db.execute(
        "SELECT status, error FROM jobs WHERE actor = 'validate_host' ORDER BY enqueued_at DESC"
    ).fetchone()
    assert job["status"] == "dead" and "visible name" in job["error"]  # refused, not retried

    # UpdateZabbixHost repairs it with one write; run again, it writes nothing.
    code, out, err = nzc(stack, "hosts", "update", target)
    assert code == 0, err
    assert runtime.zabbix.calls["host.update"] == writes_before + 1
    assert one_host(zabbix, "edge-01-ams")["status"] == "0"
    code, out, err = nzc(stack, "hosts", "update", target)
    assert code == 0 and runtime.zabbix.calls["host.update"] == writes_before + 1


def test_interface_jobs_add_missing_and_repair_existing_interfaces(stack, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("edge-02", ip="10.0.51.1/24")
    target = f"dcim.device:{dev}"
    hostid = wait_for(lambda: one_host(zabbix, "edge-02"), "the host")["hostid"]
    stack.settle()

    # The host config now wants an SNMP interface too (as a provision choice would say).
    db.execute(
        "UPDATE host_configs SET interface_types = '{agent,snmpv2c}' WHERE target = %s", [target]
    )
    code, out, err = nzc(stack, "hosts", "add-interfaces", target)
    assert code == 0, err
    assert '"added": 1' in out
    assert interfaces(zabbix, hostid) == [
        ("1", "10.0.51.1", "10050", ""),
        ("2", "10.0.51.1", "161", "2"),
    ]
    code, out, err = nzc(stack, "hosts", "add-interfaces", target)
    assert code == 0 and '"added": 0' in out, err

    agent = next(
        i
        for i in zabbix.call(
            "hostinterface.get", {"hostids": [hostid], "output": ["interfaceid", "type"]}
        )
        if i["type"] == "1"
    )
    zabbix.call("hostinterface.update", {"interfaceid": agent["interfaceid"], "port": "10099"})
    code, out, err = nzc(stack, "hosts", "update-interfaces", target)
    assert code == 0 and '"updated": 1' in out, err
    assert ("1", "10.0.51.1", "10050", "") in interfaces(zabbix, hostid)
    code, out, err = nzc(stack, "hosts", "update-interfaces", target)
    assert code == 0 and '"updated": 0' in out, err


def test_hand_jobs_refuse_clearly_and_delete_converges(stack, db):
    sim, runtime, zabbix = stack
    # No primary IP: the event path skips it, and provisioning by hand says why.
    bare = sim.sim.create_device("no-ip-01")
    code, out, err = nzc(stack, "provision", "agent", f"dcim.device:{bare}")
    assert code == 1
    assert "ProvisionAgent dcim.device:" in err and "no primary IP address" in err
    assert one_host(zabbix, "no-ip-01") is None

    code, out, err = nzc(stack, "provision", "agent", "switch-42")
    assert code == 2 and "write OBJECT_TYPE:ID, e.g. dcim.device:42" in err

    # A Zabbix host of the same name that is not ours is never adopted.
    groupid = zabbix.call("hostgroup.get", {"output": ["groupid"], "limit": 1})[0]["groupid"]
    zabbix.call("host.create", {"host": "legacy-01", "groups": [{"groupid": groupid}]})
    legacy = sim.sim.create_device("legacy-01", ip="10.0.52.1/24")
    code, out, err = nzc(stack, "hosts", "create", f"dcim.device:{legacy}")
    assert code == 1 and "is not ours" in err and "`nzc import hosts dcim.device:" in err
    assert host_get(zabbix, host=["legacy-01"])[0]["tags"] == []

    # Hard delete by hand; a second delete finds nothing to do and succeeds.
    dev = sim.sim.create_device("edge-03", ip="10.0.53.1/24")
    target = f"dcim.device:{dev}"
    wait_for(lambda: one_host(zabbix, "edge-03"), "the host")
    stack.settle()
    code, out, err = nzc(stack, "hosts", "delete", target, "--mode", "hard")
    assert code == 0 and '"mode": "hard"' in out, err
    assert one_host(zabbix, "edge-03") is None
    row = db.execute("SELECT count(*) AS n FROM host_configs WHERE target = %s", [target])
    assert row.fetchone()["n"] == 0
    code, out, err = nzc(stack, "hosts", "delete", target)
    assert code == 0 and '"deleted": false' in out, err

    # CreateZabbixHost brings it back, with one host.create.
    stack.settle()
    creates = runtime.zabbix.calls["host.create"]
    code, out, err = nzc(stack, "hosts", "create", target)
    assert code == 0, err
    assert one_host(zabbix, "edge-03") is not None
    assert runtime.zabbix.calls["host.create"] == creates + 1


def test_clearing_the_primary_ip_disables_the_host_alike_in_events_validate_and_update(stack, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("edge-04", ip="10.0.54.1/24")
    target = f"dcim.device:{dev}"
    hostid = wait_for(lambda: one_host(zabbix, "edge-04"), "the host")["hostid"]
    stack.settle()

    sim.sim.update_device(dev, primary_ip=None, primary_ip4=None)
    wait_for(lambda: one_host(zabbix, "edge-04")["status"] == "1", "the host to be disabled")
    assert interfaces(zabbix, hostid) == [("1", "10.0.54.1", "10050", "")]  # kept, not deleted
    stack.settle()
    code, out, err = nzc(stack, "validate", target)
    assert (code, out.strip()) == (0, "1 host(s) in step with NetBox"), err

    zabbix.call("host.update", {"hostid": hostid, "status": 0})  # enabled again by hand
    code, out, err = nzc(stack, "validate", target)
    assert code == 1 and "status: Zabbix has it enabled, NetBox wants it disabled" in err
    code, out, err = nzc(stack, "hosts", "update", target)
    assert code == 0, err
    assert one_host(zabbix, "edge-04")["status"] == "1"
    assert interfaces(zabbix, hostid) == [("1", "10.0.54.1", "10050", "")]

    code, out, err = nzc(stack, "provision", "snmp", target)
    assert code == 1 and "no primary IP address (no_primary_ip=disable)" in err


def test_a_target_failing_inside_a_batch_makes_the_run_partial_and_validate_fail(stack, db):
    sim, runtime, zabbix = stack
    sim.sim.create_device("good-01", ip="10.0.55.1/24")
    bad = sim.sim.create_device(
        "bad-01", ip="10.0.55.2/24", custom_fields={"zabbix_templates": ["No such template"]}
    )
    target = f"dcim.device:{bad}"
    wait_for(lambda: one_host(zabbix, "good-01"), "the good host")
    stack.settle()
    assert one_host(zabbix, "bad-01") is None

    failure = db.execute("SELECT * FROM target_failures WHERE target = %s", [target]).fetchone()
    assert "template 'No such template' does not exist in Zabbix" in failure["error"]
    run = db.execute("SELECT * FROM jobs WHERE id = %s", [failure["job_id"]]).fetchone()
    assert (run["actor"], run["status"]) == ("reconcile", "partial")
    code, out, err = nzc(stack, "jobs", "list", "--status", "failed", wait=False)
    assert code == 0 and failure["job_id"] in out and "partial" in out, err

    code, out, err = nzc(stack, "validate", "--all")
    assert code == 1
    assert f"{target}: template 'No such template' does not exist in Zabbix" in err
    assert f"{target}: its last reconcile run ({failure['job_id']}) failed" in err

    sim.sim.update_host("device", bad, custom_fields={})  # fixed in NetBox
    wait_for(lambda: one_host(zabbix, "bad-01"), "the host once fixed")
    stack.settle()
    assert (
        db.execute(
            "SELECT count(*) AS n FROM target_failures WHERE target = %s", [target]
        ).fetchone()["n"]
        == 0
    )


def test_two_devices_of_one_name_in_two_sites_both_get_hosts_named_by_the_rule(stack, db):
    sim, runtime, zabbix = stack
    ams = sim.sim.create_device("core-01", ip="10.0.56.1/24")  # site dc1-ams
    rtm = sim.sim.create_device("core-01", ip="10.0.57.1/24", site=site_ref("dc2-rtm"))
    first = wait_for(lambda: one_host(zabbix, "core-01"), "the first host")
    stack.settle()
    hosts = zabbix.call(
        "host.get", {"output": ["host", "name"], "search": {"host": "core-01"}, "sortfield": "host"}
    )
    assert len(hosts) == 2
    second = next(h for h in hosts if h["hostid"] != first["hostid"])
    owners = {
        t["value"]
        for h in host_get(zabbix, host=[first["host"], second["host"]])
        for t in h["tags"]
        if t["tag"] == "netbox-object"
    }
    assert owners == {f"dcim.device:{ams}", f"dcim.device:{rtm}"}
    site = "dc1-ams" if second["host"].endswith("dc1-ams") else "dc2-rtm"
    assert (second["host"], second["name"]) == (f"core-01-{site}", f"core-01 ({site})")
    renamed = f"dcim.device:{ams if site == 'dc1-ams' else rtm}"
    note = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND created_at >= %s"
        " AND message LIKE '%%is taken%%'",
        [renamed, stack.since],
    ).fetchone()
    plain = f"dcim.device:{rtm if site == 'dc1-ams' else ams}"
    # Held by the other object's host: in Zabbix already, or made in the same run.
    assert "the name 'core-01' is taken by" in note["message"]
    assert f"for {plain}" in note["message"]
    code, out, err = nzc(stack, "validate", "--all")
    assert (code, out.strip()) == (0, "2 host(s) in step with NetBox"), err
