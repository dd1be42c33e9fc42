"""GET /metrics on real Postgres and RabbitMQ: each counter moves by exactly what a scenario
did. Other tests share this process's counters, so every check compares two scrapes."""

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import dramatiq
import pika
import pytest
from dramatiq.brokers.rabbitmq import DEAD_MESSAGE_TTL
from prometheus_client.parser import text_string_to_metric_families

from consumer.app import create_app
from consumer.wiring import setup
from handlers.broker import QUEUE_EVENTS, QUEUE_SYSTEM, QUEUES
from handlers.config import load_config
from handlers.runner import Refused, atomic_job
from handlers.runtime import set_runtime
from tests.conftest import TEST_BROKER_URL, closed_port, make_env
from tests.waiting import job_in, wait_for
from tests.webhook_shapes import sample, sign

pytestmark = pytest.mark.integration

URL = "/webhooks/netbox"
ROOT = Path(__file__).resolve().parents[2]


def scrape(client):
    """``(sample name, labels) -> value`` of one scrape, parsed as Prometheus parses it."""
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    return samples_of(resp.get_data(as_text=True))


def samples_of(text):
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def moved(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def names(samples):
    return {name for name, _ in samples}


def unique_body(**changes):
    """A device webhook no test delivered before (its request id), so never a duplicate."""
    body = {**sample("07_device_updated.json")["body"], "request_id": str(uuid.uuid4())}
    return json.dumps({**body, **changes}).encode()


def post(client, raw, signature=None):
    headers = {"X-Hook-Signature": signature or sign(raw)}
    return client.post(URL, data=raw, headers=headers, content_type="application/json")


@pytest.fixture
def client(stub_runtime):
    return create_app(runtime=stub_runtime).test_client()


def test_webhook_counters_move_by_exactly_what_the_web_edge_answered(client):
    before = scrape(client)
    accepted = [unique_body() for _ in range(3)]
    for raw in accepted:
        assert "message_id" in post(client, raw).get_json()
    assert post(client, accepted[0]).get_json()["duplicate"] is True
    assert post(client, unique_body(), signature="0" * 128).status_code == 401
    ignored = post(client, unique_body(object_type="dcim.site", model="site"))
    assert "ignored" in ignored.get_json()
    after = scrape(client)

    webhooks = "nzc_webhooks_total"
    assert moved(before, after, webhooks, outcome="accepted", status="202") == 3
    assert moved(before, after, webhooks, outcome="duplicate", status="202") == 1
    assert moved(before, after, webhooks, outcome="refused", status="401") == 1
    assert moved(before, after, webhooks, outcome="ignored", status="202") == 1
    assert moved(before, after, webhooks, outcome="spooled", status="202") == 0
    assert moved(before, after, "nzc_webhook_duration_seconds_count") == 6
    # One after another: each of the four that reached the commit was a batch of one.
    assert moved(before, after, "nzc_webhook_batch_size_count") == 4
    assert moved(before, after, "nzc_webhook_batch_size_bucket", le="1.0") == 4


def test_a_body_over_the_size_limit_is_counted_as_refused_413(client, stub_runtime):
    before = scrape(client)
    raw = b"x" * (stub_runtime.config.webhook_max_bytes + 1)
    assert post(client, raw).status_code == 413
    after = scrape(client)
    assert moved(before, after, "nzc_webhooks_total", outcome="refused", status="413") == 1


def test_the_scrape_shows_the_dirty_backlog_and_the_last_success_of_system_jobs(client, db):
    before = scrape(client)
    target = f"dcim.device:{uuid.uuid4().int % 10**9}"
    job_id = f"metrics-{uuid.uuid4()}"
    db.execute(
        "INSERT INTO dirty_targets (target, reason, first_marked_at)"
        " VALUES (%s, 'metrics test', now() - interval '1 hour')",
        [target],
    )
    db.execute(
        "INSERT INTO jobs (id, actor, queue, status, finished_at)"
        " VALUES (%s, 'sync_hosts', %s, 'succeeded', '2030-01-01T00:00:00Z')",
        [job_id, QUEUE_SYSTEM],
    )
    try:
        after = scrape(client)
    finally:
        db.execute("DELETE FROM dirty_targets WHERE target = %s", [target])
        db.execute("DELETE FROM jobs WHERE id = %s", [job_id])

    assert moved(before, after, "nzc_dirty_targets") == 1
    assert value(after, "nzc_dirty_oldest_age_seconds") >= 3600
    last = value(after, "nzc_system_job_last_success_timestamp_seconds", actor="sync_hosts")
    assert last == 1893456000  # 2030-01-01T00:00:00Z
    assert {value(after, "nzc_dead_letters", queue=q) >= 0 for q in QUEUES} == {True}
    assert value(after, "nzc_scrape_errors", source="postgres") == 0
    assert value(after, "nzc_scrape_errors", source="rabbitmq") == 0


def test_a_job_run_by_a_worker_moves_its_outcome_counter_and_its_duration(
    client, stub_runtime, start_worker, db
):
    before = scrape(client)
    message = stub_runtime.broker.get_actor("ping").send("metrics")
    start_worker(stub_runtime.broker)
    job_in(db, message.message_id, {"succeeded"})
    # The row commits inside the job; the middleware counts once the actor returned.
    after = wait_for(
        lambda: (
            (s := scrape(client))
            and moved(before, s, "nzc_jobs_total", actor="ping", outcome="succeeded")
            and s
        ),
        "the ping job to be counted",
    )
    assert moved(before, after, "nzc_jobs_total", actor="ping", outcome="succeeded") == 1
    assert moved(before, after, "nzc_jobs_total", actor="ping", outcome="failed") == 0
    assert moved(before, after, "nzc_job_duration_seconds_count", actor="ping") == 1


def test_a_refused_job_on_a_worker_counts_dead_not_failed(client, stub_runtime, start_worker, db):
    @atomic_job
    def refuses(job):
        raise Refused("this input can never work")

    actor = dramatiq.actor(
        refuses,
        broker=stub_runtime.broker,
        actor_name=f"refuses_{uuid.uuid4().hex[:8]}",
        queue_name=QUEUE_SYSTEM,
        throws=(Refused,),
    )
    before = scrape(client)
    start_worker(stub_runtime.broker)
    message = actor.send()
    job_in(db, message.message_id, {"dead"})
    name = actor.actor_name
    after = wait_for(
        lambda: (
            (s := scrape(client))
            and moved(before, s, "nzc_jobs_total", actor=name, outcome="dead")
            and s
        ),
        "the dead job to be counted",
    )
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="dead") == 1
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="failed") == 0
    assert moved(before, after, "nzc_job_duration_seconds_count", actor=name) == 1


def test_a_partial_job_and_a_message_too_old_to_run_count_as_partial_and_dead(
    client, stub_runtime, start_worker, db
):
    @atomic_job
    def half_done(job):
        job.partial = True
        return {"done": 1, "failed": 1}

    actor = dramatiq.actor(
        half_done,
        broker=stub_runtime.broker,
        actor_name=f"half_done_{uuid.uuid4().hex[:8]}",
        queue_name=QUEUE_SYSTEM,
    )
    name = actor.actor_name
    before = scrape(client)
    partial = actor.send()
    # Dramatiq's AgeLimit skips a message older than MAX_AGE_MS (3 days): this one is 4.
    old = actor.message().copy(message_timestamp=int(time.time() * 1000) - 4 * 86_400_000)
    stub_runtime.broker.enqueue(old)
    start_worker(stub_runtime.broker)
    job_in(db, partial.message_id, {"partial"})
    job_in(db, old.message_id, {"dead"})
    after = wait_for(
        lambda: (
            (s := scrape(client))
            and moved(before, s, "nzc_jobs_total", actor=name, outcome="partial")
            and moved(before, s, "nzc_jobs_total", actor=name, outcome="dead")
            and s
        ),
        "the partial and the dead-lettered job to be counted",
    )
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="partial") == 1
    # Too old to run: failed by AgeLimit, dead-lettered, its row dead; not a harmless skip.
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="dead") == 1
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="skipped") == 0
    assert moved(before, after, "nzc_jobs_total", actor=name, outcome="succeeded") == 0
    assert moved(before, after, "nzc_job_duration_seconds_count", actor=name) == 1


def test_a_message_delivered_again_after_its_job_ended_counts_skipped(
    client, stub_runtime, start_worker, db
):
    start_worker(stub_runtime.broker)
    initial = scrape(client)
    message = stub_runtime.broker.get_actor("ping").send("twice")
    job_in(db, message.message_id, {"succeeded"})
    before = wait_for(
        lambda: (
            (s := scrape(client))
            and moved(initial, s, "nzc_jobs_total", actor="ping", outcome="succeeded")
            and s
        ),
        "the first run to be counted",
    )
    stub_runtime.broker.enqueue(message)  # the broker delivers it again, same message id
    after = wait_for(
        lambda: (
            (s := scrape(client))
            and moved(before, s, "nzc_jobs_total", actor="ping", outcome="skipped")
            and s
        ),
        "the redelivery to be counted",
    )
    assert moved(before, after, "nzc_jobs_total", actor="ping", outcome="skipped") == 1
    assert moved(before, after, "nzc_jobs_total", actor="ping", outcome="succeeded") == 0
    assert moved(before, after, "nzc_job_duration_seconds_count", actor="ping") == 0


def test_a_message_in_a_dead_letter_queue_shows_in_its_depth(rabbit_runtime):
    client = create_app(runtime=rabbit_runtime).test_client()
    before = scrape(client)
    dead = dramatiq.Message(
        queue_name=QUEUE_SYSTEM, actor_name="ping", args=("dead",), kwargs={}, options={}
    )
    connection = pika.BlockingConnection(pika.URLParameters(TEST_BROKER_URL))
    try:
        channel = connection.channel()
        # Declared as Dramatiq declares it; a message dead-lettered by a worker lands the same.
        xq = f"{QUEUE_SYSTEM}.XQ"
        channel.queue_declare(xq, durable=True, arguments={"x-message-ttl": DEAD_MESSAGE_TTL})
        channel.basic_publish("", xq, dead.encode())
        after = scrape(client)
    finally:
        connection.close()
    assert moved(before, after, "nzc_dead_letters", queue=QUEUE_SYSTEM) == 1
    assert moved(before, after, "nzc_dead_letters", queue=QUEUE_EVENTS) == 0


def test_with_rabbitmq_down_a_webhook_is_counted_spooled_and_the_scrape_still_answers(
    database_url, db
):
    down = f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F"
    runtime = setup(load_config(make_env(database_url, NZC_BROKER_URL=down)))
    try:
        client = create_app(runtime=runtime).test_client()
        before = scrape(client)
        resp = post(client, unique_body())
        assert resp.get_json()["spooled"] is True
        after = scrape(client)
    finally:
        db.execute("DELETE FROM webhook_spool")
        runtime.store.close()
        set_runtime(None)

    assert moved(before, after, "nzc_webhooks_total", outcome="spooled", status="202") == 1
    assert value(after, "nzc_scrape_errors", source="rabbitmq") == 1
    assert value(after, "nzc_scrape_errors", source="postgres") == 0
    assert "nzc_dead_letters" not in names(after)
    assert "nzc_dirty_targets" in names(after)


def test_with_postgres_down_the_scrape_answers_without_its_series(database_url):
    down = f"postgresql://nzc:nzc@127.0.0.1:{closed_port()}/nzc"
    runtime = setup(load_config(make_env(database_url, NZC_DATABASE_URL=down)), stub=True)
    try:
        after = scrape(create_app(runtime=runtime).test_client())
    finally:
        runtime.store.close()
        set_runtime(None)
    assert value(after, "nzc_scrape_errors", source="postgres") == 1
    assert value(after, "nzc_scrape_errors", source="rabbitmq") == 0
    assert not {"nzc_dirty_targets", "nzc_dirty_oldest_age_seconds"} & names(after)
    assert "nzc_dead_letters" in names(after)


def test_metrics_off_is_a_json_404(database_url):
    runtime = setup(load_config(make_env(database_url, NZC_METRICS="0")), stub=True)
    try:
        resp = create_app(runtime=runtime).test_client().get("/metrics")
    finally:
        runtime.store.close()
        set_runtime(None)
    assert resp.status_code == 404
    assert resp.get_json()["error"] == "Not Found"


def test_no_secret_appears_in_a_scrape(client, stub_runtime):
    post(client, unique_body(), signature="0" * 128)
    text = client.get("/metrics").get_data(as_text=True)
    config = stub_runtime.config
    userinfo = [
        urlsplit(url).netloc.rpartition("@")[0] for url in (config.database_url, config.broker_url)
    ]
    for secret in [config.webhook_secret, config.zabbix_token, *userinfo]:
        assert secret not in text


#: A worker process: counts ``argv[1]`` ping jobs in its metric files.
WORKER = """
import sys
from handlers.metrics import JOBS
JOBS.labels("ping", "succeeded").inc(int(sys.argv[1]))
"""
#: A web process: one refused webhook, then its own /metrics on standard output.
WEB = """
import sys
from consumer.app import create_app
from consumer.wiring import setup
from handlers.config import load_config
runtime = setup(load_config(), stub=True)
client = create_app(runtime=runtime).test_client()
client.post("/webhooks/netbox", data=b"{}", content_type="application/json")
sys.stdout.write(client.get("/metrics").get_data(as_text=True))
runtime.store.close()
"""


def run_python(code, env, *args):
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_in_multiprocess_mode_web_and_the_exporter_add_up_every_process_of_every_kind(
    database_url, tmp_path
):
    """Two worker processes and a web process, each writing its own files under one
    NZC_METRICS_DIR: the web's /metrics and `nzc metrics serve` both show their sum."""
    env = {**os.environ, **make_env(database_url), "NZC_METRICS_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    for kind in ("worker", "web"):
        (tmp_path / kind).mkdir()
    worker_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker")}
    run_python(WORKER, worker_env, "1")
    run_python(WORKER, worker_env, "2")
    web = samples_of(run_python(WEB, {**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "web")}))

    assert value(web, "nzc_jobs_total", actor="ping", outcome="succeeded") == 3
    assert value(web, "nzc_webhooks_total", outcome="refused", status="401") == 1
    assert "nzc_dirty_targets" in names(web)  # the service's state, from the web only

    port = closed_port()
    nzc = Path(sys.executable).parent / "nzc"
    exporter = subprocess.Popen(
        [nzc, "metrics", "serve", "--bind", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        exported = samples_of(wait_for(lambda: fetch(f"http://127.0.0.1:{port}/metrics"), "nzc"))
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
    assert value(exported, "nzc_jobs_total", actor="ping", outcome="succeeded") == 3
    assert value(exported, "nzc_webhooks_total", outcome="refused", status="401") == 1
    assert "nzc_dirty_targets" not in names(exported)


def fetch(url):
    """The body at ``url``, or None while nothing answers there."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.read().decode()
    except OSError:
        return None


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_a_reconcile_run_observes_its_batch_and_counts_its_zabbix_calls(stack, db):
    """Held still as in the bulk-create test: every event is marked before a reconcile run
    may start, so the three devices are one batch of three."""
    sim, runtime, _zabbix = stack
    client = create_app(runtime=runtime).test_client()
    stack.hold()
    before = scrape(client)
    for n in range(3):
        sim.sim.create_device(f"metrics-{n}", ip=f"10.9.0.{n + 1}/24")
    sim.sender.wait()
    events = sum(sim.sender.statuses.values())
    stack.start_worker(queues={"nzc-events"})  # events only: reconcile runs wait
    wait_for(
        lambda: db.execute(
            "SELECT coalesce(sum(jsonb_array_length(args->0)), 0) = %s AS done FROM jobs"
            " WHERE actor = 'handle_events' AND status = 'succeeded' AND enqueued_at >= %s",
            [events, stack.since],
        ).fetchone()["done"],
        "every event marked dirty",
    )
    stack.start_worker(queues={"nzc-hosts"})
    stack.settle()
    after = wait_for(
        lambda: (s := scrape(client)) and moved(before, s, "nzc_reconcile_batch_size_count") and s,
        "the reconcile run to be observed",
    )
    assert moved(before, after, "nzc_reconcile_batch_size_count") == 1
    assert moved(before, after, "nzc_reconcile_batch_size_sum") == 3
    assert moved(before, after, "nzc_reconcile_batch_size_bucket", le="2.0") == 0
    assert moved(before, after, "nzc_reconcile_batch_size_bucket", le="5.0") == 1
    created = moved(before, after, "nzc_zabbix_calls_total", method="host.create")
    assert created == runtime.zabbix.calls["host.create"] == 1
    assert moved(before, after, "nzc_zabbix_errors_total", method="host.create") == 0
    batches = db.execute(
        "SELECT count(*) AS n FROM jobs WHERE actor = 'handle_events' AND enqueued_at >= %s",
        [stack.since],
    ).fetchone()["n"]
    assert (
        moved(before, after, "nzc_jobs_total", actor="handle_events", outcome="succeeded")
        == batches
    )
