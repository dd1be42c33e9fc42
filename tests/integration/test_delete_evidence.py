"""A host is deleted only on evidence that its NetBox object is gone: a signed deleted
webhook, or NetBox's change log. An object the token cannot see (NetBox answers 404, or
leaves it out of a list) keeps its host, and the service says why."""

import pytest

from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import one_host
from tests.netbox_sim.model import site_ref
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def host_config(db, target):
    return db.execute("SELECT * FROM host_configs WHERE target = %s", [target]).fetchone()


def test_a_device_the_token_cannot_see_keeps_its_host_until_a_deleted_webhook_arrives(stack, db):
    sim, runtime, zabbix = stack
    sim.sim.create_device("ams-01", ip="10.0.60.1/24")  # the capture's site, dc1-ams
    rtm = sim.sim.create_device("rtm-01", ip="10.0.61.1/24", site=site_ref("dc2-rtm"))
    target = f"dcim.device:{rtm}"
    hostid = wait_for(lambda: one_host(zabbix, "rtm-01"), "the host")["hostid"]
    wait_for(lambda: one_host(zabbix, "ams-01"), "the other host")
    stack.settle()

    # An administrator limits the token to Amsterdam, and to no change log: only the webhook
    # can prove the deletion below.
    sim.restrict(sites=["dc1-ams"], changelog=False)
    writes = runtime.zabbix.calls["host.update"] + runtime.zabbix.calls["host.delete"]
    sim.sim.update_device(rtm, description="rack 4")
    stack.settle()
    host = one_host(zabbix, "rtm-01")
    assert (host["hostid"], host["status"]) == (hostid, "0")  # neither archived nor disabled
    assert runtime.zabbix.calls["host.update"] + runtime.zabbix.calls["host.delete"] == writes
    config = host_config(db, target)
    assert config["missing_since"] is not None
    assert "the NetBox token may not see it" in config["missing_reason"]
    warning = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND level = 'warning'"
        " AND created_at >= %s ORDER BY id DESC LIMIT 1",
        [target, stack.since],
    ).fetchone()
    assert "missing in NetBox, deletion not confirmed" in warning["message"]
    code, out, err = nzc(stack, "validate", target)
    assert code == 1 and "missing in NetBox, deletion not confirmed" in err
    code, out, err = nzc(stack, "hosts", "list", wait=False)
    assert next(line for line in out.splitlines() if line.startswith(target)).split()[2] == (
        "missing"
    )

    sim.sim.delete_device(rtm)  # NetBox's own record: a signed deleted webhook
    archived = wait_for(lambda: one_host(zabbix, "rtm-01 (archived)"), "the soft delete")
    assert archived["hostid"] == hostid
    stack.settle()
    assert host_config(db, target) is None
    logged = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND created_at >= %s"
        " AND message LIKE '%%DeleteZabbixHost%%'",
        [target, stack.since],
    ).fetchone()
    assert logged["message"].endswith("deleted in NetBox (a signed deleted webhook)"), logged
    assert (
        db.execute(
            "SELECT count(*) AS n FROM deletion_evidence WHERE target = %s", [target]
        ).fetchone()["n"]
        == 0
    )


def test_a_deletion_whose_webhook_never_came_is_confirmed_by_the_change_log(stack, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("lost-01", ip="10.0.62.1/24")
    target = f"dcim.device:{dev}"
    hostid = wait_for(lambda: one_host(zabbix, "lost-01"), "the host")["hostid"]
    stack.settle()

    # NetBox fails to deliver the device's own webhook; its IP's and interface's arrive.
    sim.sender.dropped = lambda b: b["object_type"] == "dcim.device" and b["event"] == "deleted"
    sim.sim.delete_device(dev)
    archived = wait_for(lambda: one_host(zabbix, "lost-01 (archived)"), "the soft delete")
    assert archived["hostid"] == hostid
    stack.settle()
    logged = db.execute(
        "SELECT message FROM event_log WHERE target = %s AND created_at >= %s"
        " AND message LIKE '%%DeleteZabbixHost%%'",
        [target, stack.since],
    ).fetchone()
    assert logged["message"].endswith(
        "deleted in NetBox (NetBox's change log records its deletion)"
    ), logged
