"""Structured logs: the JSON line shape, the log context, secret masking, NZC_LOG_FORMAT.

Each test logs through its own handler (our formatter and filters, writing to a string), so
the suite's root logger is left as it is; what configure_logging does to a process's root
logger is observed in a child process.
"""

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware

from handlers import logs
from handlers.config import ConfigError, default_log_format, load_config
from handlers.middleware.log_context import LogContext, target_field

ROOT = Path(__file__).resolve().parents[2]
BASE = {"NZC_ZABBIX_TOKEN": "t" * 64}


class Capture:
    """A handler with our formatter and filters on one logger, keeping the lines it wrote."""

    def __init__(self, logger, log_format="json", secrets=()):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logs.formatter(log_format))
        self.handler.addFilter(logs.ContextFilter())
        self.handler.addFilter(logs.SecretFilter(secrets))
        self.logger = logger
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.DEBUG)

    def lines(self):
        return self.stream.getvalue().splitlines()

    def json(self):
        return [json.loads(line) for line in self.lines()]

    def close(self):
        self.logger.removeHandler(self.handler)


@pytest.fixture
def capture(request):
    made = []

    def make(log_format="json", secrets=()):
        logger = logging.getLogger(f"nzc.test.{request.node.name}")
        logger.propagate = False
        made.append(Capture(logger, log_format, secrets))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_a_json_line_has_utc_time_level_logger_and_message(capture):
    cap = capture()
    cap.logger.warning("disk %s full", "/var")
    (line,) = cap.json()
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert line["level"] == "WARNING"
    assert line["logger"] == cap.logger.name
    assert line["message"] == "disk /var full"
    assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
    assert not set(logs.CONTEXT_FIELDS) & set(line)
    assert "exc_info" not in line


def test_context_fields_appear_while_bound_and_are_gone_after_reset(capture):
    cap = capture()
    token = logs.bind(request_id="req-1", job_id="job-1", target="dcim.device:7", actor=None)
    cap.logger.info("inside")
    logs.reset(token)
    cap.logger.info("outside")
    inside, outside = cap.json()
    assert inside["request_id"] == "req-1"
    assert inside["job_id"] == "job-1"
    assert inside["target"] == "dcim.device:7"
    assert "actor" not in inside and "message_id" not in inside
    assert not set(logs.CONTEXT_FIELDS) & set(outside)


def test_binding_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="not log context fields: colour"):
        logs.bind(colour="red")


def test_an_exception_is_in_exc_info_as_text(capture):
    cap = capture()
    try:
        raise RuntimeError("Zabbix said no")
    except RuntimeError:
        cap.logger.exception("update failed")
    (line,) = cap.json()
    assert line["message"] == "update failed"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("RuntimeError: Zabbix said no")


def test_text_lines_show_the_context_after_the_message(capture):
    cap = capture("text")
    token = logs.bind(job_id="job-1", target="dcim.device:7")
    cap.logger.info("hello")
    logs.reset(token)
    cap.logger.info("bye")
    inside, outside = cap.lines()
    assert inside.endswith(f"{cap.logger.name}: hello [job_id=job-1 target=dcim.device:7]")
    assert outside.endswith(f"{cap.logger.name}: bye")


def test_the_secret_filter_masks_secrets_in_the_message_and_the_exception_text(capture):
    config = load_config(
        {
            **BASE,
            "NZC_WEBHOOK_SECRET": "hook-secret-1",
            "NZC_DATABASE_URL": "postgresql://nzc:p%40ss-word@db.example.net/nzc",
        }
    )
    cap = capture(secrets=config.secrets())
    cap.logger.info("signed with %s", "hook-secret-1")
    try:
        raise ValueError(f"login as nzc:p@ss-word with token {'t' * 64} refused")
    except ValueError:
        cap.logger.exception("connect to postgresql://nzc:p%40ss-word@db.example.net failed")
    first, second = cap.json()
    assert first["message"] == "signed with ***"
    assert second["message"] == "connect to postgresql://nzc:***@db.example.net failed"
    assert second["exc_info"].endswith("ValueError: login as nzc:*** with token *** refused")
    text = "\n".join(cap.lines())
    for secret in ("hook-secret-1", "p@ss-word", "p%40ss-word", "t" * 64):
        assert secret not in text


def test_the_secret_filter_leaves_values_too_short_to_be_secrets(capture):
    cap = capture(secrets=["nzc", "guest", None, ""])
    cap.logger.info("user nzc, queue nzc-events, broker user guest")
    assert cap.json()[0]["message"] == "user nzc, queue nzc-events, broker user guest"


def test_config_secrets_are_the_tokens_and_the_passwords_in_the_urls():
    config = load_config(
        {
            "NZC_ZABBIX_USER": "Admin",
            "NZC_ZABBIX_PASSWORD": "zabbix-pass",
            "NZC_NETBOX_TOKEN": "n" * 40,
            "NZC_ADMIN_TOKEN": "admin-token",
            "NZC_WEBHOOK_SECRET": "hook-secret",
            "NZC_DATABASE_URL": "postgresql://nzc:db-pass@db/nzc",
            "NZC_BROKER_URL": "amqp://nzc:mq-pass-1@mq1/%2F;amqp://nzc:mq-pass-2@mq2/%2F",
        }
    )
    assert config.secrets() == sorted(
        [
            "zabbix-pass",
            "n" * 40,
            "admin-token",
            "hook-secret",
            "db-pass",
            "mq-pass-1",
            "mq-pass-2",
        ]
    )


def test_nzc_log_format_accepts_text_and_json_in_any_case():
    assert load_config({**BASE, "NZC_LOG_FORMAT": "JSON"}).log_format == "json"
    assert load_config({**BASE, "NZC_LOG_FORMAT": "text"}).log_format == "text"
    assert load_config(BASE).log_format == default_log_format()


def test_a_bad_nzc_log_format_names_the_variable_the_choices_and_an_example():
    with pytest.raises(ConfigError) as err:
        load_config({**BASE, "NZC_LOG_FORMAT": "xml"})
    message = str(err.value)
    assert message.startswith("NZC_LOG_FORMAT must be text or json (got 'xml')")
    assert message.endswith("Example: NZC_LOG_FORMAT=json")


def _python(code, **popen):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60, **popen
    )


def test_the_default_format_is_text_on_a_terminal_and_json_otherwise():
    code = "from handlers.config import default_log_format; print(default_log_format())"
    piped = _python(code, capture_output=True, text=True)
    assert piped.stdout.strip() == "json"
    leader, follower = os.openpty()
    try:
        on_tty = _python(code, stdout=subprocess.PIPE, stderr=follower, text=True)
    finally:
        os.close(leader)
        os.close(follower)
    assert on_tty.stdout.strip() == "text"


def test_configure_logging_wins_over_the_format_dramatiq_already_set():
    # What a Dramatiq worker process does: its own basicConfig, then import consumer.worker.
    code = (
        "import logging, sys\n"
        "from dramatiq.cli import LOGFORMAT\n"
        "logging.basicConfig(level=logging.INFO, format=LOGFORMAT, stream=sys.stderr)\n"
        "from consumer.wiring import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "logging.getLogger('dramatiq.worker.Worker').info('Worker is ready.')\n"
        "logging.getLogger('periodiq').debug('below the level')\n"
    )
    result = _python(code, capture_output=True, text=True)
    (line,) = result.stderr.splitlines()
    record = json.loads(line)
    assert (record["logger"], record["level"]) == ("dramatiq.worker.Worker", "INFO")
    assert record["message"] == "Worker is ready."


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([], None),
        (["dcim.device:1"], "dcim.device:1"),
        (["dcim.device:1", "dcim.device:2"], "dcim.device:1,dcim.device:2"),
        (
            [f"dcim.device:{i}" for i in range(5)],
            "dcim.device:0,dcim.device:1,dcim.device:2 (+2 more)",
        ),
    ],
)
def test_the_target_field_names_one_target_or_a_short_list(targets, field):
    assert target_field(targets) == field


class _Targets(Middleware):
    """Declares the job_targets actor option, as JobRecorder does in the service."""

    actor_options = {"job_targets"}


def test_the_middleware_sets_the_job_context_for_each_message_and_resets_it(capture):
    cap = capture()
    broker = StubBroker(middleware=[LogContext(), _Targets()])
    broker.emit_after("process_boot")

    @dramatiq.actor(broker=broker, job_targets=lambda targets: targets)
    def touch(targets):
        cap.logger.info("touching")

    one = touch.send_with_options(args=(["dcim.device:1"],), request_id="req-1")
    many = touch.send(["dcim.device:1", "dcim.device:2"])
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        broker.join(touch.queue_name)
        worker.join()
    finally:
        worker.stop()
    first, second = cap.json()
    assert first["job_id"] == first["message_id"] == one.message_id
    assert first["actor"] == "touch"
    assert first["request_id"] == "req-1"
    assert first["target"] == "dcim.device:1"
    # The same worker thread: nothing of the first message is left over.
    assert second["job_id"] == many.message_id
    assert second["target"] == "dcim.device:1,dcim.device:2"
    assert "request_id" not in second
