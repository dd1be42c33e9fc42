"""The Flask application factory (``gunicorn 'consumer.app:create_app()'``)."""

from __future__ import annotations

import logging
import threading

from flask import Flask

from consumer import api, errors
from consumer.health import bp as health_bp
from consumer.intake import DB_TIMEOUT_S, Intake
from consumer.metrics import WEBHOOK_BATCH
from consumer.metrics import bp as metrics_bp
from consumer.relay import SpoolRelay
from consumer.state import EXTENSION, AppState
from consumer.webhooks import bp as webhooks_bp
from consumer.wiring import configure_logging, setup
from handlers.config import TLS_UNVERIFIED, Config, ConfigError, load_config
from handlers.gateways.ingest import IngestConnection
from handlers.runtime import Runtime

log = logging.getLogger(__name__)


def create_app(
    config: Config | None = None,
    *,
    runtime: Runtime | None = None,
    start_relay: bool | None = None,
) -> Flask:
    """Build the web app.

    Without ``runtime`` (a real web process) it wires the process (logging, store, broker)
    and starts the spool relay thread. With ``runtime`` (tests) it changes nothing global
    and starts no thread unless ``start_relay``; :meth:`AppState.close` undoes what it did.
    """
    owns_runtime = runtime is None
    if runtime is None:
        config = config or load_config()
        configure_logging(config.log_level, config.log_format, config=config)
        runtime = setup(config)
    config = runtime.config
    if not config.webhook_secret and not config.webhook_insecure:
        raise ConfigError(
            "NZC_WEBHOOK_SECRET is not set: set it to the secret of the NetBox webhook "
            "(or NZC_WEBHOOK_INSECURE=1 to accept unsigned webhooks, for a demo only). "
            "Example: NZC_WEBHOOK_SECRET=a-long-random-string"
        )
    if config.webhook_insecure:
        log.warning("NZC_WEBHOOK_INSECURE is set: webhook signatures are NOT checked")
    if config.tls_verify is False:
        log.warning(TLS_UNVERIFIED)
    app = Flask("consumer")
    app.config["MAX_CONTENT_LENGTH"] = config.webhook_max_bytes
    ingest_db = IngestConnection(config.database_url, DB_TIMEOUT_S)
    relay = SpoolRelay(runtime.store, runtime.broker)
    state = AppState(
        runtime=runtime,
        ingest_db=ingest_db,
        relay=relay,
        intake=Intake(runtime.store, ingest_db, runtime.broker, relay, WEBHOOK_BATCH.observe),
        webhook_slots=threading.BoundedSemaphore(config.web_max_concurrent),
        owns_runtime=owns_runtime,
    )
    app.extensions[EXTENSION] = state
    if owns_runtime if start_relay is None else start_relay:
        state.relay.start()
    errors.register(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(api.blueprint())
    if config.metrics:  # otherwise /metrics is a 404 like any unknown path
        app.register_blueprint(metrics_bp)
    return app
