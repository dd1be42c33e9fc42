"""Broker set-up: RabbitMQ with publisher confirms, our queues and explicit middleware settings."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware

from handlers.middleware.log_context import LogContext
from handlers.middleware.metrics import JobMetrics

#: Queue of normalised NetBox webhook events.
QUEUE_EVENTS = "nzc-events"
#: Queue of host jobs (provision, create, update, delete, reconcile).
QUEUE_HOSTS = "nzc-hosts"
#: Queue of system jobs (ping, imports, refreshes, clean-ups).
QUEUE_SYSTEM = "nzc-system"
QUEUES = (QUEUE_EVENTS, QUEUE_HOSTS, QUEUE_SYSTEM)

#: Retries before a message is dead-lettered (the job row then says ``dead``); the default
#: of NZC_JOB_MAX_RETRIES.
MAX_RETRIES = 8
#: First retry delay, milliseconds; doubles each attempt (default of NZC_JOB_MIN_BACKOFF_MS).
MIN_BACKOFF_MS = 5_000
#: Longest retry delay, milliseconds (10 minutes).
MAX_BACKOFF_MS = 600_000
#: Longest a single job may run, milliseconds (10 minutes).
TIME_LIMIT_MS = 600_000
#: Messages older than this are not run but dead-lettered, milliseconds (3 days).
MAX_AGE_MS = 3 * 24 * 3600 * 1000


def build_middleware(
    extra_first: list[Middleware] | None = None,
    *,
    max_retries: int = MAX_RETRIES,
    min_backoff_ms: int = MIN_BACKOFF_MS,
) -> list[Middleware]:
    """The middleware stack, in order.

    ``extra_first`` goes before Retries: Dramatiq calls ``after_*`` hooks in reverse
    order, so our recorder then sees whether Retries gave up on the message. So does
    :class:`JobMetrics`, which every stack has (it needs nothing of the process).
    ``max_retries`` and ``min_backoff_ms`` apply to actors that do not set their own.
    """
    return [
        LogContext(),  # first: every other hook logs inside the job's log context
        AgeLimit(max_age=MAX_AGE_MS),
        TimeLimit(time_limit=TIME_LIMIT_MS),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        CurrentMessage(),
        PeriodiqMiddleware(skip_delay=30),
        JobMetrics(),
        *(extra_first or []),
        Retries(
            max_retries=max_retries,
            min_backoff=min_backoff_ms,
            max_backoff=max(MAX_BACKOFF_MS, min_backoff_ms),
        ),
    ]


def build_broker(
    broker_url: str, *, middleware: list[Middleware], stub: bool = False
) -> dramatiq.Broker:
    """A RabbitMQ broker with publisher confirms (or a StubBroker for unit tests).

    Builds only: no connection is opened until the first publish or consume.
    """
    if stub:
        broker: dramatiq.Broker = StubBroker(middleware=middleware)
    else:
        broker = RabbitmqBroker(url=broker_url, confirm_delivery=True, middleware=middleware)
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def bind_actors(broker: dramatiq.Broker, actors: list[dramatiq.Actor]) -> None:
    """Declare ``actors`` on ``broker`` and make it the global broker.

    Actors are declared at import on whatever broker was global then; rebinding lets a
    process (or a test) choose its broker after import.
    """
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
