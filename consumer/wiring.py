"""Process wiring: one call builds the store and the broker and binds the actors to them."""

from __future__ import annotations

import logging

import dramatiq

from handlers import logs
from handlers.broker import bind_actors, build_broker, build_middleware
from handlers.config import Config, default_log_format
from handlers.gateways.postgres import Store
from handlers.middleware.job_recorder import JobRecorder
from handlers.runtime import Runtime, set_runtime


def configure_logging(
    level: str, log_format: str | None = None, *, config: Config | None = None
) -> None:
    """Send every logger's records to standard error as ``log_format`` lines (``text`` or
    ``json``; default :func:`default_log_format`) carrying the log context, with the
    secrets of ``config`` masked when it is given. Calling it again replaces what it set.

    The root logger's handlers are kept and given our formatter and filters rather than
    replaced: ``dramatiq`` and ``periodiq`` install their own handler before they import
    ``consumer.worker`` (in a Dramatiq worker process, one writing to the pipe its parent
    reads), and our format must win without losing that pipe.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if not root.handlers:
        root.addHandler(logging.StreamHandler())  # standard error
    line_format = logs.formatter(log_format or default_log_format())
    ours = (logs.ContextFilter, logs.SecretFilter)
    filters = [logs.ContextFilter(), *([logs.SecretFilter(config.secrets())] if config else [])]
    for handler in root.handlers:
        handler.setFormatter(line_format)
        for old in [f for f in handler.filters if isinstance(f, ours)]:
            handler.removeFilter(old)
        for new in filters:
            handler.addFilter(new)
    # pika logs every connection attempt at INFO; only its warnings matter to an operator.
    logging.getLogger("pika").setLevel(logging.WARNING)
    # pyzabbix logs each request and response body at DEBUG, user.login's password and the
    # session id it returns among them.
    logging.getLogger("pyzabbix").setLevel(logging.INFO)


def setup(config: Config, *, stub: bool = False) -> Runtime:
    """Wire this process: Postgres store, broker (RabbitMQ, or a StubBroker), actors.

    No connection is opened here; the pool and the broker connect on first use.
    """
    store = Store(config.database_url, idle_timeout_s=config.database_idle_timeout_s)
    broker = build_broker(
        config.broker_url,
        middleware=build_middleware(
            [JobRecorder(store)],
            max_retries=config.job_max_retries,
            min_backoff_ms=config.job_min_backoff_ms,
        ),
        stub=stub,
    )
    # Actors declare themselves on the global broker when first imported, and their
    # options (periodic, job_targets) need our middleware there: set it first.
    dramatiq.set_broker(broker)
    from handlers import actors

    bind_actors(broker, actors.ACTORS)
    runtime = Runtime(config=config, store=store, broker=broker)
    set_runtime(runtime)
    return runtime
