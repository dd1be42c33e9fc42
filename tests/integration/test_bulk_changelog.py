"""A bulk edit learnt from its first webhook: NetBox's change log names every object the
request changed, so every host is in Zabbix before NetBox's one-at-a-time delivery of the
other webhooks gets far; without permission to read it, the webhooks alone converge.

Held still with the simulator's delivery gate (NetBox's first webhook only), never timed.
"""

import logging

import pytest

from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("zabbix_version", ["7.0"])]

WRITE_SUFFIXES = (".create", ".update", ".delete", ".massadd", ".massupdate", ".massremove")


def writes(calls):
    return {m: n for m, n in calls.items() if m.endswith(WRITE_SUFFIXES)}


def disabled(zabbix, prefix):
    hosts = zabbix.call("host.get", {"output": ["status"], "search": {"host": prefix}})
    return sum(h["status"] == "1" for h in hosts)


def bulk_of(stack, prefix, n):
    """``n`` devices in NetBox and their hosts in Zabbix, the service settled; their ids."""
    sim = stack.sim
    ids = [
        sim.sim.create_device(f"{prefix}{i:02d}", ip=f"10.31.{i // 200}.{i % 200 + 1}/16")
        for i in range(n)
    ]
    stack.settle(timeout=120)
    assert disabled(stack.zabbix, prefix) == 0
    sim.sim.version = "4.6"  # webhooks carry their request's path from here on
    return ids


def test_a_bulk_edit_is_in_zabbix_before_its_second_webhook_is_sent(stack, db):
    sim, runtime, zabbix = stack
    ids = bulk_of(stack, "bulkcl-", 50)
    changelog_reads = runtime.netbox.calls["core.object_changes"]

    delivered = sim.sender.started
    sim.sender.allow(1)  # NetBox's RQ worker sends the first webhook, and no other yet
    request_id = sim.sim.bulk_update("device", ids, status="offline")
    wait_for(lambda: disabled(zabbix, "bulkcl-") == 50, "all 50 hosts disabled", timeout=120)
    assert sim.sender.started == delivered + 1
    read = db.execute("SELECT * FROM netbox_requests WHERE request_id = %s", [request_id])
    row = read.fetchone()
    assert (row["outcome"], row["changes"], row["targets"]) == ("read", 50, 50)
    # The first webhook's work done: every job final, nothing dirty (the rest are held).
    wait_for(lambda: stack.busy() is None, "the first webhook's work", timeout=120)
    done = writes(runtime.zabbix.calls)

    sim.sender.allow(None)  # the other 49 webhooks: each finds its host in step
    stack.settle(timeout=120)
    assert writes(runtime.zabbix.calls) == done
    # One request, read once (one page), however many of its webhooks came.
    assert runtime.netbox.calls["core.object_changes"] == changelog_reads + 1
    marks = db.execute(
        "SELECT count(*) AS n FROM event_log WHERE message LIKE %s",
        [f"NetBox request {request_id}:%"],
    ).fetchone()["n"]
    assert marks == 1


def test_without_change_log_permission_a_bulk_converges_through_its_webhooks(stack, db, caplog):
    sim, _runtime, zabbix = stack
    ids = bulk_of(stack, "nocl-", 10)
    sim.restrict(changelog=False)  # the token lacks core.view_objectchange
    caplog.set_level(logging.WARNING, logger="handlers.gateways.netbox")

    first = sim.sim.bulk_update("device", ids[:5], status="offline")
    second = sim.sim.bulk_update("device", ids[5:], status="offline")
    stack.settle(timeout=120)
    assert disabled(zabbix, "nocl-") == 10
    outcomes = db.execute(
        "SELECT outcome FROM netbox_requests WHERE request_id = ANY(%s)", [[first, second]]
    ).fetchall()
    assert sorted(r["outcome"] for r in outcomes) == ["forbidden", "forbidden"]
    warnings = [r for r in caplog.records if "core.view_objectchange" in r.getMessage()]
    assert len(warnings) == 1
