"""A message delivered again after its job committed: the job is not run twice, and the
follow-up it sends after its commit is sent again (its worker may have died in between)."""

import dramatiq
import pytest

from handlers.broker import QUEUE_EVENTS
from tests.integration.conftest import FINAL
from tests.waiting import job_in, wait_for

pytestmark = pytest.mark.integration


def host_names(zabbix, prefix):
    return {
        h["host"] for h in zabbix.call("host.get", {"output": ["host"], "search": {"host": prefix}})
    }


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_an_event_batch_delivered_again_after_its_commit_sends_the_run_it_owed(stack, db):
    sim, runtime, zabbix = stack
    device = sim.sim.create_device("redeliver-01", ip="10.72.0.1/24")
    wait_for(lambda: host_names(zabbix, "redeliver-") == {"redeliver-01"}, "the host")
    stack.settle()
    batch = db.execute(
        "SELECT * FROM jobs WHERE actor = 'handle_events' AND status = 'succeeded'"
        " AND enqueued_at >= %s ORDER BY finished_at DESC LIMIT 1",
        [stack.since],
    ).fetchone()

    # The state a worker leaves when it dies between an event batch's commit and the run it
    # sends after it: the target marked, a run pending, no run message anywhere.
    stack.hold()
    sim.sender.dropped = lambda _body: True
    sim.sim.update_device(device, name="redeliver-02")
    db.execute(
        "INSERT INTO dirty_targets (target, reason) VALUES (%s, 'renamed')",
        [f"dcim.device:{device}"],
    )
    db.execute("UPDATE reconcile_state SET pending = true")

    # RabbitMQ delivers the batch's message again (same id).
    runtime.broker.enqueue(
        dramatiq.Message(
            queue_name=QUEUE_EVENTS,
            actor_name="handle_events",
            args=tuple(batch["args"]),
            kwargs={},
            options={},
            message_id=batch["id"],
        )
    )
    stack.start_worker()
    wait_for(lambda: host_names(zabbix, "redeliver-") == {"redeliver-02"}, "the renamed host")
    stack.settle()
    row = job_in(db, batch["id"], FINAL)
    assert (row["status"], row["attempts"]) == ("succeeded", batch["attempts"])  # not run again
    skipped = db.execute(
        "SELECT count(*) AS n FROM event_log WHERE job_id = %s AND message LIKE %s",
        [batch["id"], "%delivered again after its job ended%"],
    ).fetchone()["n"]
    assert skipped == 1
