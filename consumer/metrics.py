"""``GET /metrics``: the Prometheus text format, unauthenticated, on the web port.

What a scrape shows:

- the metrics every process on this machine keeps (webhooks here, jobs and Zabbix calls in
  the workers: :mod:`handlers.metrics`). In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``
  set, as the Procfile does) each process kind writes files to its own directory under
  ``NZC_METRICS_DIR`` (``web``, ``worker``, ``scheduler``), which only that kind empties
  when it starts, and a scrape adds up the files of every kind. Without it (tests, the
  CLI) it shows this process's own metrics;
- the service's state, read at scrape time (:class:`ServiceState`): the dirty backlog,
  the dead letters per queue, the last success of each system job. Postgres or RabbitMQ
  being down leaves its series out and sets ``nzc_scrape_errors{source}`` to 1; the scrape
  still answers.

A machine that runs workers but no web process serves the first part with
``nzc metrics serve`` (:func:`serve`).
"""

from __future__ import annotations

import glob
import logging
import os
from collections.abc import Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import psycopg
from flask import Blueprint, Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector
from psycopg.rows import dict_row

from consumer.state import app_state
from handlers.config import Config
from handlers.gateways import dead_letters, dirty_targets, job_records
from handlers.jobs.schedules import SCHEDULES

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

#: The classic Prometheus text format, which :func:`generate_latest` writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds a scrape waits for Postgres: to connect, and for each query.
SCRAPE_DB_TIMEOUT_S = 2
#: The services a scrape reads (the ``source`` label of ``nzc_scrape_errors``).
SOURCES = ("postgres", "rabbitmq")
#: Bucket bounds of webhook handling times, seconds (a webhook is answered in milliseconds).
WEBHOOK_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
#: Outcomes of an accepted webhook, named by the key its 202 answer carries.
ANSWER_OUTCOMES = ("ignored", "duplicate", "spooled")

WEBHOOKS = Counter(
    "nzc_webhooks",
    "Webhooks answered, by outcome (accepted, duplicate, ignored, spooled, refused) and "
    "HTTP status.",
    ["outcome", "status"],
)
WEBHOOK_SECONDS = Histogram(
    "nzc_webhook_duration_seconds",
    "Time from a webhook's arrival to its answer, whatever the answer.",
    buckets=WEBHOOK_BUCKETS_S,
)

WEBHOOK_BATCH = Histogram(
    "nzc_webhook_batch_size",
    "Webhooks committed together: one Postgres statement, one message, one confirm.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def webhook_outcome(status: int, body: Any) -> str:
    """What became of a webhook, from its answer: ``refused`` (any error status), else the
    key of :data:`ANSWER_OUTCOMES` its body carries, else ``accepted``."""
    if status >= 400:
        return "refused"
    if isinstance(body, dict):
        for outcome in ANSWER_OUTCOMES:
            if body.get(outcome):
                return outcome
    return "accepted"


def observe_webhook(response: Response, seconds: float) -> None:
    """Count one answered webhook and its handling time. Read from the answer, so every
    refusal (an ``ApiError``, Flask's 413) is counted here, in one place."""
    outcome = webhook_outcome(response.status_code, response.get_json(silent=True))
    WEBHOOKS.labels(outcome, str(response.status_code)).inc()
    WEBHOOK_SECONDS.observe(seconds)


class MetricFiles:
    """The metric files of several processes, added up (prometheus_client's multiprocess
    mode, over several directories, looked for at each scrape).

    Parameters:
      metrics_dir: ``NZC_METRICS_DIR``, whose sub-directories each hold the ``*.db`` files
        of one process kind.
      own: a directory to read as well (this process's ``PROMETHEUS_MULTIPROC_DIR``).
    """

    def __init__(self, metrics_dir: str | None, own: str | None = None) -> None:
        self.metrics_dir = metrics_dir
        self.own = own

    def dirs(self) -> list[str]:
        found = [*kind_dirs(self.metrics_dir), *([self.own] if self.own else [])]
        return sorted({os.path.realpath(d) for d in found})

    def collect(self) -> Iterable[Metric]:
        files = sorted(f for d in self.dirs() for f in glob.glob(os.path.join(d, "*.db")))
        return MultiProcessCollector.merge(files, accumulate=True)


class ThisProcess:
    """This process's own metrics (prometheus_client's default registry)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def kind_dirs(metrics_dir: str | None) -> list[str]:
    """The process kinds' directories under ``metrics_dir`` (``NZC_METRICS_DIR``)."""
    if not metrics_dir:
        return []
    return sorted(d.rstrip(os.sep) for d in glob.glob(os.path.join(metrics_dir, "*", "")))


def process_metrics(metrics_dir: str | None) -> MetricFiles | ThisProcess:
    """What this process shows of the processes' metrics: in multiprocess mode, the files of
    every kind under ``metrics_dir`` and its own; otherwise its own values. (Never both:
    a metric family may appear once only.)"""
    own = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return MetricFiles(metrics_dir, own) if own else ThisProcess()


class ServiceState:
    """Gauges read from Postgres and RabbitMQ when ``/metrics`` is scraped.

    Parameters:
      database_url: Postgres of the service (dirty targets, job rows).
      broker_url: RabbitMQ (the dead-letter queues).

    A service that does not answer leaves its series out and sets
    ``nzc_scrape_errors{source}`` to 1; it never fails the scrape.
    """

    def __init__(self, database_url: str, broker_url: str) -> None:
        self.database_url = database_url
        self.broker_url = broker_url

    def collect(self) -> Iterable[Metric]:
        families: list[Metric] = []
        errors = GaugeMetricFamily(
            "nzc_scrape_errors",
            "1 when the scrape could not read this source (its series are left out), else 0.",
            labels=["source"],
        )
        for source, read in zip(SOURCES, (self._postgres, self._rabbitmq), strict=True):
            try:
                families += read()
                errors.add_metric([source], 0)
            except Exception as exc:  # noqa: BLE001 -- any failure: answer without its series
                # The type only: an error text may name a host or a user.
                log.warning("/metrics: could not read %s (%s)", source, type(exc).__name__)
                errors.add_metric([source], 1)
        return [*families, errors]

    def _postgres(self) -> list[Metric]:
        with psycopg.connect(
            self.database_url,
            connect_timeout=SCRAPE_DB_TIMEOUT_S,
            autocommit=True,
            row_factory=dict_row,
        ) as conn:
            conn.execute(
                "SELECT set_config('statement_timeout', %s, false)",
                [str(SCRAPE_DB_TIMEOUT_S * 1000)],
            )
            waiting, oldest_s = dirty_targets.backlog(conn)
            last = job_records.last_successes(conn, list(SCHEDULES))
        succeeded = GaugeMetricFamily(
            "nzc_system_job_last_success_timestamp_seconds",
            "When each system job last succeeded, unix time (absent: never).",
            labels=["actor"],
        )
        for actor, finished in sorted(last.items()):
            succeeded.add_metric([actor], finished)
        return [
            GaugeMetricFamily(
                "nzc_dirty_targets",
                "Targets marked dirty and not yet brought in line by a reconcile run.",
                value=waiting,
            ),
            GaugeMetricFamily(
                "nzc_dirty_oldest_age_seconds",
                "Seconds since the oldest dirty target was first marked (0: none waits).",
                value=oldest_s,
            ),
            succeeded,
        ]

    def _rabbitmq(self) -> list[Metric]:
        depths = dead_letters.queue_depths(self.broker_url)
        family = GaugeMetricFamily(
            "nzc_dead_letters",
            "Messages in each queue's dead-letter queue (<queue>.XQ), to replay or drop.",
            labels=["queue"],
        )
        for queue, depth in sorted(depths.items()):
            family.add_metric([queue], depth)
        return [family]


def exposition(config: Config) -> CollectorRegistry:
    """What ``/metrics`` shows, built per scrape (two small objects; nothing global)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(process_metrics(config.metrics_dir))
    registry.register(ServiceState(config.database_url, config.broker_url))
    return registry


@bp.get("/metrics")
def metrics() -> Response:
    config = app_state().runtime.config
    return Response(generate_latest(exposition(config)), headers={"Content-Type": CONTENT_TYPE})


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the base's name
        """Scrapes come every few seconds: no access log line for each."""


def serve(metrics_dir: str, host: str, port: int) -> None:
    """Serve the metric files of every process kind under ``metrics_dir`` on ``host:port``
    until interrupted: for a machine with workers and no web process. The service's state
    is left to the web's ``/metrics``, so that it is scraped once."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricFiles(metrics_dir))
    app = make_wsgi_app(registry)
    with make_server(host, port, app, handler_class=_QuietHandler) as server:
        log.info("serving the metrics of %s on http://%s:%d/metrics", metrics_dir, host, port)
        server.serve_forever()
