"""The AtomicJobRunner contract, on real Postgres and (where a queue matters) real RabbitMQ."""

import json
import threading
import uuid

import dramatiq
import pika
import psycopg
import pytest

from handlers.runner import JobError, atomic_job, lock_targets
from tests.conftest import TEST_BROKER_URL
from tests.waiting import job_in, wait_for

pytestmark = pytest.mark.integration

TEST_QUEUE = "nzc-test"


def declare(broker, fn, **options):
    """Declare ``fn`` as a uniquely named actor on ``broker`` in the test queue."""
    name = f"{fn.__name__}_{uuid.uuid4().hex[:8]}"
    return dramatiq.actor(fn, broker=broker, actor_name=name, queue_name=TEST_QUEUE, **options)


@pytest.fixture
def scratch(db):
    db.execute("CREATE TABLE IF NOT EXISTS scratch (id serial PRIMARY KEY, note text)")
    db.execute("TRUNCATE scratch")
    return db


def device_target(device_id, *_args):
    return [f"dcim.device:{device_id}"]


def test_a_job_that_writes_then_raises_leaves_no_rows_and_a_failed_job_row(
    stub_runtime, start_worker, scratch
):
    @atomic_job
    def write_then_fail(job, device_id):
        job.conn.execute("INSERT INTO scratch (note) VALUES ('half-done')")
        job.log("info", "wrote a row")
        raise JobError(
            f"Zabbix refused host for device {device_id}",
            data={"device_id": device_id},
            pre_data={"host": None},
            post_data={"host": "half"},
        )

    actor = declare(
        stub_runtime.broker,
        write_then_fail,
        max_retries=3,
        min_backoff=60_000,
        job_targets=device_target,
    )
    start_worker(stub_runtime.broker)
    message = actor.send(7)
    row = job_in(scratch, message.message_id, {"failed"})

    assert scratch.execute("SELECT count(*) AS n FROM scratch").fetchone()["n"] == 0
    assert row["attempts"] == 1
    assert row["targets"] == ["dcim.device:7"]
    assert row["error"] == "JobError: Zabbix refused host for device 7"
    assert "raise JobError(" in row["traceback"]
    assert row["data"] == {"device_id": 7}
    assert row["pre_data"] == {"host": None} and row["post_data"] == {"host": "half"}
    assert row["finished_at"] is not None and row["duration_ms"] >= 0
    events = scratch.execute(
        "SELECT level, message FROM event_log WHERE job_id = %s", [message.message_id]
    ).fetchall()
    # The job's own entry was rolled back with its writes; the failure entry stands.
    assert [e["level"] for e in events] == ["error"]
    assert "attempt 1" in events[0]["message"]


def test_a_successful_job_commits_its_rows_with_the_job_row_and_event_log(
    stub_runtime, start_worker, scratch
):
    @atomic_job
    def write(job, device_id):
        job.conn.execute("INSERT INTO scratch (note) VALUES ('done')")
        job.log("info", "wrote a row", target=f"dcim.device:{device_id}")
        return {"rows": 1}

    actor = declare(stub_runtime.broker, write, job_targets=device_target)
    start_worker(stub_runtime.broker)
    message = actor.send(8)
    row = job_in(scratch, message.message_id, {"succeeded"})
    assert row["result"] == {"rows": 1} and row["attempts"] == 1
    assert scratch.execute("SELECT note FROM scratch").fetchall() == [{"note": "done"}]
    events = scratch.execute(
        "SELECT target, message FROM event_log WHERE job_id = %s ORDER BY id",
        [message.message_id],
    ).fetchall()
    assert [e["message"] for e in events] == ["wrote a row", f"{actor.actor_name} succeeded"]
    assert events[0]["target"] == "dcim.device:8"


def waiting_for_an_advisory_lock(db):
    """Whether some session waits for an advisory lock (a job queued behind a target)."""
    return db.execute(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()["n"]


def test_jobs_on_one_target_run_one_after_the_other_and_on_different_targets_overlap(
    rabbit_runtime, start_worker, db, database_url
):
    """Held still, not timed: the first job on target 1 finishes only once the second is
    seen waiting for the target's lock; the jobs on targets 2 and 3 each finish only once
    the other has started. Without the lock, or with a lock too wide, they never finish."""
    first_on_1 = threading.Event()
    both_others = threading.Barrier(2, timeout=60)
    observer = psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row)

    @atomic_job
    def held(job, device_id, tag):
        if device_id == 1 and not first_on_1.is_set():
            first_on_1.set()
            wait_for(lambda: waiting_for_an_advisory_lock(observer), "the second job to queue")
        elif device_id in (2, 3):
            both_others.wait()
        return {"tag": tag}

    actor = declare(rabbit_runtime.broker, held, job_targets=device_target)
    # Two workers, as two processes would be: the lock lives in Postgres, not in a worker.
    # Enough threads that a job waiting for the lock never starves a job on another target.
    start_worker(rabbit_runtime.broker, threads=4)
    start_worker(rabbit_runtime.broker, threads=4)
    try:
        same = [actor.send(1, "a"), actor.send(1, "b")]
        other = [actor.send(2, "c"), actor.send(3, "d")]
        rows = {m.message_id: job_in(db, m.message_id, {"succeeded"}) for m in same + other}
    finally:
        observer.close()

    first, second = sorted((rows[m.message_id] for m in same), key=lambda r: r["started_at"])
    assert second["started_at"] >= first["finished_at"], "same-target jobs interleaved"
    assert all(rows[m.message_id]["attempts"] == 1 for m in same + other)

    a, b = (rows[m.message_id] for m in other)
    assert a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"], (
        "jobs on different targets did not overlap"
    )


def dead_letters(queue):
    """Message ids sitting in the dead-letter queue of ``queue`` (read without consuming)."""
    conn = pika.BlockingConnection(pika.URLParameters(TEST_BROKER_URL))
    try:
        channel = conn.channel()
        ids = []
        while True:
            method, _props, body = channel.basic_get(f"{queue}.XQ", auto_ack=False)
            if method is None:
                break
            ids.append(json.loads(body)["message_id"])
        return ids
    finally:
        conn.close()  # unacked messages return to the queue


def test_retries_increase_attempts_and_a_job_that_always_fails_ends_dead_in_the_dlq(
    rabbit_runtime, start_worker, db
):
    @atomic_job
    def always_fails(job):
        raise RuntimeError(f"boom on attempt {job.attempt}")

    actor = declare(
        rabbit_runtime.broker, always_fails, max_retries=2, min_backoff=10, max_backoff=50
    )
    start_worker(rabbit_runtime.broker)
    message = actor.send()
    row = job_in(db, message.message_id, {"dead"})

    assert row["attempts"] == 3  # the first run and two retries
    assert row["error"] == "RuntimeError: boom on attempt 3"
    events = db.execute(
        "SELECT message FROM event_log WHERE job_id = %s ORDER BY id", [message.message_id]
    ).fetchall()
    failures = [e["message"] for e in events if "failed (attempt" in e["message"]]
    assert len(failures) == 3
    assert "dead-letter queue" in events[-1]["message"]
    wait_for(lambda: message.message_id in dead_letters(TEST_QUEUE), "the message in the DLQ")


def test_the_job_row_is_written_queued_at_enqueue_with_the_request_id(stub_runtime, db):
    def never_run(device_id):
        raise AssertionError("not started")

    actor = declare(stub_runtime.broker, never_run, job_targets=device_target)
    message = actor.send_with_options(args=(42,), request_id="44ed4671-d8c8")
    row = db.execute("SELECT * FROM jobs WHERE id = %s", [message.message_id]).fetchone()
    assert row["status"] == "queued" and row["attempts"] == 0
    assert row["targets"] == ["dcim.device:42"] and row["args"] == [42]
    assert row["request_id"] == "44ed4671-d8c8"
    assert row["queue"] == TEST_QUEUE


def test_an_event_job_records_its_target_but_never_waits_for_its_lock(
    stub_runtime, start_worker, db, database_url
):
    """A reconcile run holds the locks of its targets until it commits; an event for one of
    them only marks it dirty, so it must not queue behind the run."""
    from handlers.actors import handle_event
    from handlers.decide.translate import event_target
    from schemas.webhook import WebhookSchema
    from tests.webhook_shapes import sample

    event = WebhookSchema().load(sample("07_device_updated.json")["body"])
    target = event_target(event)
    db.execute("UPDATE reconcile_state SET pending = true")  # no run is sent: none needed here
    try:
        with psycopg.connect(database_url) as run:  # the run's transaction, holding the lock
            lock_targets(run, [target])
            start_worker(stub_runtime.broker)
            message = handle_event.send(event)
            row = job_in(db, message.message_id, {"succeeded"})  # while the lock is held
            assert row["targets"] == [target]
        mark = db.execute("SELECT * FROM dirty_targets WHERE target = %s", [target]).fetchone()
        assert mark is not None and mark["claimed_by"] is None
    finally:
        db.execute("DELETE FROM dirty_targets WHERE target = %s", [target])
        db.execute("UPDATE reconcile_state SET pending = false")
