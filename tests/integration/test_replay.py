"""Failed work brought back: dead letters listed, grouped, replayed once, and converging;
a redelivered message whose job already ended is acknowledged without running."""

import threading
import uuid

import dramatiq
import pytest

from consumer.app import create_app
from handlers.broker import QUEUE_SYSTEM
from handlers.jobs.replay import failure_groups, list_dead_letters, replay, replay_matching
from handlers.runner import atomic_job
from tests.integration.test_host_jobs import nzc
from tests.integration.zabbix_stack import one_host
from tests.waiting import job_in, wait_for

pytestmark = pytest.mark.integration

TEMPLATE = "NZC Replay Template"
ADMIN_TOKEN = "replay-test-admin-token"


#: The normalised error of a host job refused for a missing template.
CAUSE = "Refused: CreateZabbixHost <target>: template '<name>' does not exist in Zabbix"


def failures_of(stack, cause):
    """How many open failures `nzc jobs failures` counts for ``cause`` (0 when none)."""
    code, out, err = nzc(stack, "jobs", "failures", "--limit", "1000", wait=False)
    assert code == 0, err
    counts = [int(line.split()[0]) for line in out.splitlines() if cause in line]
    assert len(counts) <= 1, out  # one cause, one line
    return sum(counts)


def letters(runtime):
    """Message ids in the dead-letter queues (read, not taken)."""
    return {letter.message_id for letter in list_dead_letters(runtime)}


def test_a_job_that_exhausts_its_retries_is_replayed_once_and_the_dlq_drains(
    rabbit_runtime, start_worker, db
):
    broken = threading.Event()
    broken.set()

    @atomic_job
    def flaky(job, device_id):
        if broken.is_set():
            raise RuntimeError(
                f"Zabbix at 10.0.0.{device_id} did not answer (attempt {job.attempt})"
            )
        return {"device": device_id}

    actor = dramatiq.actor(
        flaky,
        broker=rabbit_runtime.broker,
        actor_name=f"flaky_{uuid.uuid4().hex[:8]}",
        queue_name=QUEUE_SYSTEM,
        max_retries=2,
        min_backoff=10,
        max_backoff=50,
        job_targets=lambda device_id: [f"dcim.device:{device_id}"],
    )
    start_worker(rabbit_runtime.broker)
    first, second = actor.send(1), actor.send(2)
    for message in (first, second):
        assert job_in(db, message.message_id, {"dead"})["attempts"] == 3  # 1 run + 2 retries
    wait_for(
        lambda: {first.message_id, second.message_id} <= letters(rabbit_runtime),
        "both dead letters",
    )

    # Two failures, one cause: one group (ids, addresses and numbers stripped).
    groups = [g for g in failure_groups(db) if g.actors == [actor.actor_name]]
    assert len(groups) == 1 and groups[0].count == 2
    assert groups[0].error == "RuntimeError: Zabbix at <ip> did not answer (attempt <n>)"
    assert groups[0].sample_job_id in (first.message_id, second.message_id)

    broken.clear()  # fixed
    dry = replay(rabbit_runtime, [first.message_id], requested_by="test", dry_run=True)
    assert [o.outcome for o in dry] == ["would_replay"]
    assert first.message_id in letters(rabbit_runtime)  # a dry run takes nothing out

    # By filter, as `nzc jobs replay --status dead --actor A --limit 1`: the oldest first.
    (outcome,) = replay_matching(
        rabbit_runtime,
        status="dead",
        actor=actor.actor_name,
        limit=1,
        requested_by="test",
        reason="fixed",
    )
    assert outcome.asked == first.message_id
    assert outcome.outcome == "replayed" and outcome.new_job_id
    new = job_in(db, outcome.new_job_id, {"succeeded"})
    assert new["replay_of"] == first.message_id and new["result"] == {"device": 1}
    assert (new["replay_requested_by"], new["replay_reason"]) == ("test", "fixed")
    old = db.execute("SELECT * FROM jobs WHERE id = %s", [first.message_id]).fetchone()
    assert old["status"] == "replayed" and old["replayed_as"] == outcome.new_job_id
    assert (old["replay_requested_by"], old["replay_reason"]) == ("test", "fixed")
    assert old["replay_requested_at"] is not None
    assert first.message_id not in letters(rabbit_runtime) and second.message_id in letters(
        rabbit_runtime
    )

    # Twice: nothing more is sent, and the answer names the first replay.
    (again,) = replay(rabbit_runtime, [first.message_id], requested_by="test")
    assert (again.outcome, again.new_job_id) == ("already_replayed", outcome.new_job_id)
    assert f"already replayed as job {outcome.new_job_id} (succeeded)" in again.detail
    replays = db.execute("SELECT count(*) AS n FROM jobs WHERE replay_of = %s", [first.message_id])
    assert replays.fetchone()["n"] == 1

    # A dead letter whose row was purged is still replayed, by its message id.
    db.execute("DELETE FROM event_log WHERE job_id = %s", [second.message_id])
    db.execute("DELETE FROM jobs WHERE id = %s", [second.message_id])
    (orphan,) = replay(rabbit_runtime, [second.message_id], requested_by="test")
    assert orphan.outcome == "replayed"
    assert job_in(db, orphan.new_job_id, {"succeeded"})["targets"] == ["dcim.device:2"]
    row = db.execute("SELECT * FROM jobs WHERE id = %s", [second.message_id]).fetchone()
    assert (row["status"], row["actor"], row["replayed_as"]) == (
        "replayed",
        actor.actor_name,
        orphan.new_job_id,
    )
    assert not letters(rabbit_runtime) & {first.message_id, second.message_id}

    # A letter that reached its queue only after its job was replayed (the row said dead
    # before the broker moved the message): the next replay session takes it out.
    late = dramatiq.Message(**{**first.asdict(), "options": {}})
    rabbit_runtime.broker.channel.basic_publish("", f"{QUEUE_SYSTEM}.XQ", late.encode())
    wait_for(lambda: first.message_id in letters(rabbit_runtime), "the late dead letter")
    assert replay(rabbit_runtime, [], requested_by="test") == []
    assert first.message_id not in letters(rabbit_runtime)

    refused = replay(rabbit_runtime, ["no-such-job"], requested_by="test")
    assert [o.outcome for o in refused] == ["refused"]
    assert "no job and no dead letter" in refused[0].detail


@pytest.mark.parametrize("stack_env", [{"NZC_ADMIN_TOKEN": ADMIN_TOKEN}])
@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_a_refused_host_job_is_listed_grouped_replayed_by_cli_and_api_and_converges(stack, db):
    sim, runtime, zabbix = stack
    api = create_app(runtime=runtime, start_relay=False).test_client()
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    overrides = {"zabbix_templates": [TEMPLATE]}
    ids = [
        sim.sim.create_device(f"replay-0{n}", ip=f"10.0.60.{n}/24", custom_fields=overrides)
        for n in (1, 2)
    ]
    targets = [f"dcim.device:{i}" for i in ids]
    stack.settle()  # the reconcile runs failed for both (the template is missing)
    earlier = failures_of(stack, CAUSE)  # the session's database has older failures
    create = runtime.broker.get_actor("create_zabbix_host")
    jobs = [create.send(target).message_id for target in targets]
    for job_id in jobs:
        assert (
            "template 'NZC Replay Template' does not exist" in job_in(db, job_id, {"dead"})["error"]
        )
    wait_for(lambda: set(jobs) <= letters(runtime), "the dead letters")

    code, out, err = nzc(stack, "jobs", "list", "--status", "dead", wait=False)
    assert code == 0 and all(job_id in out for job_id in jobs), err
    code, out, err = nzc(stack, "jobs", "dlq", wait=False)
    assert code == 0 and all(f"{job_id}  nzc-hosts" in out for job_id in jobs), out
    assert failures_of(stack, CAUSE) == earlier + 2  # both jobs, one cause

    groupid = zabbix.call("templategroup.get", {"filter": {"name": ["Templates"]}})[0]["groupid"]
    zabbix.call("template.create", {"host": TEMPLATE, "groups": [{"groupid": groupid}]})

    code, out, err = nzc(
        stack, "jobs", "replay", jobs[0], "--reason", "template created", wait=True
    )
    assert code == 0, err
    new_id = out.split("replayed as job ")[1].split()[0]
    assert f"job {new_id} succeeded" in out
    host = wait_for(lambda: one_host(zabbix, "replay-01"), "the replayed host")
    assert TEMPLATE in [t["host"] for t in host["parentTemplates"]]
    old = db.execute("SELECT * FROM jobs WHERE id = %s", [jobs[0]]).fetchone()
    assert old["replay_requested_by"].startswith("cli:") and old["replay_reason"] == (
        "template created"
    )

    # The second device changed in NetBox since its job died: its reconcile run makes the
    # host; the replay then finds it in step and changes nothing (no second host, the new
    # name kept: jobs read NetBox afresh).
    sim.sim.update_device(ids[1], name="replay-02-new")
    wait_for(lambda: one_host(zabbix, "replay-02-new"), "the reconciled host")
    stack.settle()
    answer = api.post(
        f"/api/v1/jobs/{jobs[1]}/replay", json={"reason": "template created"}, headers=auth
    )
    assert answer.status_code == 202, answer.get_json()
    (outcome,) = answer.get_json()["outcomes"]
    assert (outcome["asked"], outcome["outcome"]) == (jobs[1], "replayed")
    assert job_in(db, outcome["new_job_id"], {"succeeded"})["replay_requested_by"].startswith(
        "api:"
    )
    stack.settle()
    assert one_host(zabbix, "replay-02-new") and one_host(zabbix, "replay-02") is None
    assert (
        len(zabbix.call("host.get", {"search": {"host": "replay-02"}, "output": ["hostid"]})) == 1
    )

    assert not letters(runtime) & set(jobs)  # the dead-letter queue drained
    code, out, err = nzc(stack, "jobs", "replay", jobs[0], wait=False)
    assert code == 0 and f"already replayed as job {new_id} (succeeded)" in out, err
    n = db.execute("SELECT count(*) AS n FROM jobs WHERE replay_of = ANY(%s)", [jobs])
    assert n.fetchone()["n"] == 2  # one replay each, whatever was asked


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_a_message_delivered_again_after_its_job_succeeded_runs_no_zabbix_call(stack, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("redelivered-01", ip="10.0.61.1/24")
    target = f"dcim.device:{dev}"
    hostid = wait_for(lambda: one_host(zabbix, "redelivered-01"), "the host")["hostid"]
    stack.settle()
    message = runtime.broker.get_actor("update_zabbix_host").send(target)
    job_in(db, message.message_id, {"succeeded"})

    zabbix.call("host.update", {"hostid": hostid, "name": "hand-edited"})  # drift
    calls = sum(runtime.zabbix.calls.values())
    runtime.broker.enqueue(message)  # RabbitMQ delivers it again, same message id

    def skipped():
        return db.execute(
            "SELECT 1 FROM event_log WHERE job_id = %s AND message LIKE %s",
            [message.message_id, "%delivered again after its job ended%"],
        ).fetchone()

    wait_for(skipped, "the redelivery to be acknowledged")
    assert sum(runtime.zabbix.calls.values()) == calls  # no Zabbix call at all
    assert one_host(zabbix, "hand-edited")  # the drift is still there: nothing ran
    row = db.execute("SELECT status, attempts FROM jobs WHERE id = %s", [message.message_id])
    assert row.fetchone() == {"status": "succeeded", "attempts": 1}


def test_a_failed_batch_of_events_writes_nothing_and_its_replay_converges(
    rabbit_runtime, start_worker, db
):
    """A batch of webhook events is one job: refused as a whole (nothing half-written), then
    replayed, each event logged against its own target and each mark with its request."""
    from handlers.actors import handle_events
    from handlers.broker import QUEUE_EVENTS
    from schemas.webhook import WebhookSchema
    from tests.webhook_shapes import sample

    def event(name, object_id, request_id):
        body = sample(name)["body"]
        body = {**body, "request_id": request_id, "data": {**body["data"], "id": object_id}}
        return WebhookSchema().load(body)

    events = [
        event("07_device_updated.json", 9101, "req-one"),
        event("28_device_deleted.json", 9102, "req-two"),
        event("07_device_updated.json", 9101, "req-three"),
    ]
    targets = ["dcim.device:9101", "dcim.device:9102"]
    db.execute("DELETE FROM dirty_targets WHERE target = ANY(%s)", [targets])
    db.execute("DELETE FROM deletion_evidence WHERE target = ANY(%s)", [targets])
    db.execute("UPDATE reconcile_state SET pending = true")  # no run is sent: none needed here
    # Postgres itself refuses the second target's mark, after the first was written.
    db.execute(
        "CREATE FUNCTION nzc_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.target = 'dcim.device:9102' THEN RAISE EXCEPTION 'refused by the test';"
        " END IF; RETURN NEW; END $$"
    )
    db.execute(
        "CREATE TRIGGER nzc_test_refuse BEFORE INSERT ON dirty_targets"
        " FOR EACH ROW EXECUTE FUNCTION nzc_test_refuse()"
    )
    try:
        start_worker(rabbit_runtime.broker, queues={QUEUE_EVENTS})
        message = handle_events.send_with_options(args=(events,), max_retries=0)
        dead = job_in(db, message.message_id, {"dead"})
        assert "refused by the test" in dead["error"] and sorted(dead["targets"]) == targets
        marks = db.execute("SELECT * FROM dirty_targets WHERE target = ANY(%s)", [targets])
        assert marks.fetchall() == []
        logged = db.execute("SELECT * FROM event_log WHERE job_id = %s", [message.message_id])
        assert [r for r in logged.fetchall() if r["level"] == "info"] == []
        evidence = db.execute("SELECT * FROM deletion_evidence WHERE target = ANY(%s)", [targets])
        assert evidence.fetchall() == []
        wait_for(lambda: message.message_id in letters(rabbit_runtime), "the dead letter")

        db.execute("DROP TRIGGER nzc_test_refuse ON dirty_targets")
        (outcome,) = replay(rabbit_runtime, [message.message_id], requested_by="test")
        assert outcome.outcome == "replayed"
        new = job_in(db, outcome.new_job_id, {"succeeded"})
        assert new["result"]["events"] == 3
        marks = db.execute(
            "SELECT target, request_id FROM dirty_targets WHERE target = ANY(%s) ORDER BY target",
            [targets],
        ).fetchall()
        # The last event of a target names the mark's request.
        assert [(m["target"], m["request_id"]) for m in marks] == [
            ("dcim.device:9101", "req-three"),
            ("dcim.device:9102", "req-two"),
        ]
        logged = db.execute(
            "SELECT target, data->>'request_id' AS rid FROM event_log"
            " WHERE job_id = %s AND level = 'info' AND target IS NOT NULL ORDER BY id",
            [outcome.new_job_id],
        ).fetchall()
        assert [(r["target"], r["rid"]) for r in logged] == [
            ("dcim.device:9101", "req-one"),
            ("dcim.device:9102", "req-two"),
            ("dcim.device:9101", "req-three"),
        ]
        evidence = db.execute(
            "SELECT target, request_id FROM deletion_evidence WHERE target = ANY(%s)", [targets]
        )
        assert [(r["target"], r["request_id"]) for r in evidence] == [
            ("dcim.device:9102", "req-two")
        ]
    finally:
        db.execute("DROP TRIGGER IF EXISTS nzc_test_refuse ON dirty_targets")
        db.execute("DROP FUNCTION IF EXISTS nzc_test_refuse()")
        db.execute("DELETE FROM dirty_targets WHERE target = ANY(%s)", [targets])
        db.execute("DELETE FROM deletion_evidence WHERE target = ANY(%s)", [targets])
        db.execute("UPDATE reconcile_state SET pending = false")
