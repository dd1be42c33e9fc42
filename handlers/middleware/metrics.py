"""JobMetrics: counts every job attempt by actor and outcome, and times it.

Our own middleware rather than ``dramatiq.middleware.Prometheus``: that one forces its own
multiprocess directory, serves a second exposition on a port of its own (9191) from a forked
process, and knows nothing of our outcomes (partial, dead). This one only writes to
:mod:`handlers.metrics`, so a worker's figures reach the same ``/metrics`` as the web's.
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from handlers import metrics

#: Message option where the runner leaves a finished job's outcome (``succeeded``,
#: ``partial``, or ``skipped`` for a redelivered message whose job had ended): an actor's
#: return value would make Dramatiq warn without a results backend.
OUTCOME = "job_outcome"


class JobMetrics(Middleware):
    """Feeds :data:`handlers.metrics.JOBS` and :data:`handlers.metrics.JOB_SECONDS`.

    Goes before Retries in the stack (``handlers.broker.build_middleware``): its
    ``after_*`` hooks then run after Retries', so a failed attempt that Retries gave up on
    (``message.failed``) counts as ``dead`` rather than ``failed``. A job run by the runner
    leaves its outcome in the :data:`OUTCOME` option (a partial or skipped job says so there).
    """

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        started = self._started.pop(message.message_id, None)
        finished = message.options.pop(OUTCOME, None)
        if exception is not None:
            outcome = metrics.DEAD if message.failed else metrics.FAILED
        elif finished in (metrics.PARTIAL, metrics.SKIPPED):
            outcome = finished
        else:
            outcome = metrics.SUCCEEDED
        metrics.JOBS.labels(message.actor_name, outcome).inc()
        if started is not None and outcome != metrics.SKIPPED:  # a skip did no work to time
            seconds = time.perf_counter() - started
            metrics.JOB_SECONDS.labels(message.actor_name).observe(seconds)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._started.pop(message.message_id, None)
        # A message too old to run is failed: dead-lettered, with its row ``dead``.
        outcome = metrics.DEAD if message.failed else metrics.SKIPPED
        metrics.JOBS.labels(message.actor_name, outcome).inc()
