"""The Flask application factory (``gunicorn 'consumer.app:create_app()'``)."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from consumer.config import Config, load_config
from consumer.health import bp as health_bp
from consumer.wiring import configure_logging, setup
from handlers.context import Runtime


def _json_error(exc: HTTPException) -> Any:
    return jsonify(error=exc.name, detail=exc.description), exc.code


def create_app(config: Config | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the web app. ``runtime`` lets tests share a wired store and broker."""
    if runtime is None:
        config = config or load_config()
        configure_logging(config.log_level)
        runtime = setup(config)
    app = Flask("consumer")
    app.extensions["nzc"] = runtime
    app.register_error_handler(HTTPException, _json_error)
    app.register_blueprint(health_bp)
    return app
