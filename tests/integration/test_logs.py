"""Structured logs from the real processes: ``dramatiq consumer.worker`` on the test RabbitMQ
vhost writes JSON lines carrying each job's context (a webhook-born job's NetBox request id
too), and the web edge's lines carry the webhook's request id, message id and target."""

import io
import itertools
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from consumer.app import create_app
from consumer.state import app_state
from consumer.wiring import setup
from handlers import logs
from handlers.broker import QUEUE_EVENTS, QUEUE_SYSTEM
from handlers.config import load_config
from handlers.runtime import set_runtime
from tests.conftest import closed_port, make_env
from tests.waiting import wait_for
from tests.webhook_shapes import sample, sign

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
_unique = itertools.count()


def webhook(name="07_device_updated.json"):
    """A captured webhook body made unique (its timestamp, against de-duplication), its raw
    bytes and their signature."""
    body = {**sample(name)["body"], "timestamp": f"2026-12-01T10:00:00.{next(_unique):06d}+00:00"}
    raw = json.dumps(body).encode()
    return body, raw, {"X-Hook-Signature": sign(raw)}


@pytest.fixture(scope="module")
def worker_log(database_url, tmp_path_factory):
    """A ``dramatiq consumer.worker`` (system and event queues) with NZC_LOG_FORMAT=json,
    shared by the module's tests (it takes seconds to stop); yields the file its standard
    error goes to."""
    path = tmp_path_factory.mktemp("logs") / "worker.log"
    env = {**os.environ, **make_env(database_url, NZC_LOG_FORMAT="json")}
    command = [sys.executable, "-m", "dramatiq", "consumer.worker", "--processes", "1"]
    command += ["--threads", "2", "--queues", QUEUE_SYSTEM, QUEUE_EVENTS]
    with path.open("w") as out:
        worker = subprocess.Popen(
            command, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out
        )
    yield path
    worker.terminate()
    worker.wait(60)


def json_records(path):
    """The JSON lines written so far (a last line still being written is left for later)."""
    lines = path.read_text().split("\n")[:-1]
    return [json.loads(line) for line in lines if line.startswith("{")]


def finished_line(path, job_id, actor):
    """The runner's line saying job ``job_id`` of ``actor`` finished, once written."""

    def line():
        return next(
            (
                r
                for r in json_records(path)
                if r.get("job_id") == job_id and r["message"].startswith(f"{actor} succeeded")
            ),
            None,
        )

    return wait_for(line, f"a line saying {actor} job {job_id} succeeded in {path}")


def test_a_worker_logs_json_lines_carrying_the_job_id_and_actor(rabbit_runtime, worker_log):
    from handlers.actors import ping

    message = ping.send("logs")
    line = finished_line(worker_log, message.message_id, "ping")
    assert line["logger"] == "handlers.runner"
    assert line["level"] == "INFO"
    assert line["job_id"] == line["message_id"] == message.message_id
    assert line["actor"] == "ping"
    assert "request_id" not in line and "target" not in line  # a ping has neither
    # Dramatiq's own lines in the worker process are ours too, not in its text format.
    ready = "Worker process is ready for action."
    (line,) = wait_for(
        lambda: [r for r in json_records(worker_log) if r["message"] == ready],
        "Dramatiq's line saying the worker process is ready, in JSON",
    )
    assert line["logger"] == "dramatiq.WorkerProcess(0)"
    text_lines = [t for t in worker_log.read_text().splitlines() if not t.startswith("{")]
    assert not [t for t in text_lines if "WorkerProcess" in t]


def test_a_webhook_born_job_logs_netbox_request_id_and_its_target(rabbit_runtime, worker_log):
    app = create_app(runtime=rabbit_runtime)
    try:
        body, raw, headers = webhook()
        resp = app.test_client().post(
            "/webhooks/netbox", data=raw, headers=headers, content_type="application/json"
        )
        assert resp.status_code == 202, resp.get_json()
    finally:
        app_state(app).close()
    job_id = resp.get_json()["message_id"]
    line = finished_line(worker_log, job_id, "handle_events")
    assert line["request_id"] == body["request_id"]
    assert line["target"] == "dcim.device:1"
    assert line["actor"] == "handle_events"
    assert line["job_id"] == job_id


def test_the_web_edge_logs_carry_the_webhook_context_for_the_request_only(database_url):
    # Postgres down: the endpoint logs a warning, then still queues the event (stub broker).
    env = make_env(
        database_url, NZC_DATABASE_URL=f"postgresql://nzc:nzc@127.0.0.1:{closed_port()}/nzc"
    )
    runtime = setup(load_config(env), stub=True)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("consumer.intake")
    logger.addHandler(handler)
    try:
        app = create_app(runtime=runtime)
        body, raw, headers = webhook()
        resp = app.test_client().post(
            "/webhooks/netbox", data=raw, headers=headers, content_type="application/json"
        )
        assert resp.status_code == 202, resp.get_json()
        logger.warning("after the request")
    finally:
        logger.removeHandler(handler)
        runtime.store.close()
        set_runtime(None)
    during, after = [json.loads(line) for line in stream.getvalue().splitlines()]
    # Logged by the commit of the batch (here of one), in its leader's request context.
    assert during["message"].startswith("webhooks not recorded (1, message ")
    assert "Postgres is unreachable" in during["message"]
    assert resp.get_json()["message_id"] in during["message"]
    assert during["request_id"] == body["request_id"]
    assert during["target"] == "dcim.device:1"
    assert not set(logs.CONTEXT_FIELDS) & set(after)
