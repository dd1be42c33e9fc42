"""Process wiring: one call builds the store and the broker and binds the actors to them."""

from __future__ import annotations

import logging

import dramatiq

from handlers.broker import bind_actors, build_broker, build_middleware
from handlers.config import Config
from handlers.gateways.postgres import Store
from handlers.middleware.job_recorder import JobRecorder
from handlers.runtime import Runtime, set_runtime


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"
    )
    # pika logs every connection attempt at INFO; only its warnings matter to an operator.
    logging.getLogger("pika").setLevel(logging.WARNING)


def setup(config: Config, *, stub: bool = False) -> Runtime:
    """Wire this process: Postgres store, broker (RabbitMQ, or a StubBroker), actors.

    No connection is opened here; the pool and the broker connect on first use.
    """
    store = Store(config.database_url)
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
