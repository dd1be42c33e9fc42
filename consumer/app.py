"""The Flask application factory (``gunicorn 'consumer.app:create_app()'``)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from consumer.config import Config, ConfigError, load_config
from consumer.health import bp as health_bp
from consumer.relay import SpoolRelay
from consumer.webhooks import DB_TIMEOUT_S
from consumer.webhooks import bp as webhooks_bp
from consumer.wiring import configure_logging, setup
from handlers.context import Runtime
from handlers.ingest_store import IngestConnection

log = logging.getLogger(__name__)


def _json_error(exc: HTTPException) -> Any:
    return jsonify(error=exc.name, detail=exc.description), exc.code


def create_app(
    config: Config | None = None,
    *,
    runtime: Runtime | None = None,
    start_relay: bool | None = None,
) -> Flask:
    """Build the web app.

    ``runtime`` lets tests share a wired store and broker; the spool relay thread starts
    by default only when the app wires its own runtime (a real web process).
    """
    if runtime is None:
        config = config or load_config()
        configure_logging(config.log_level)
        runtime = setup(config)
        start_relay = True if start_relay is None else start_relay
    config = runtime.config
    if not config.webhook_secret and not config.webhook_insecure:
        raise ConfigError(
            "NZC_WEBHOOK_SECRET is not set: set it to the secret of the NetBox webhook "
            "(or NZC_WEBHOOK_INSECURE=1 to accept unsigned webhooks, for a demo only). "
            "Example: NZC_WEBHOOK_SECRET=a-long-random-string"
        )
    if config.webhook_insecure:
        log.warning("NZC_WEBHOOK_INSECURE is set: webhook signatures are NOT checked")
    app = Flask("consumer")
    app.config["MAX_CONTENT_LENGTH"] = config.webhook_max_bytes
    app.extensions["nzc"] = runtime
    app.extensions["nzc_ingest_db"] = IngestConnection(config.database_url, DB_TIMEOUT_S)
    relay = SpoolRelay(runtime.store, runtime.broker)
    app.extensions["nzc_relay"] = relay
    if start_relay:
        relay.start()
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(health_bp)
    app.register_blueprint(webhooks_bp)
    return app
