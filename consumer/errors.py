"""Errors as JSON, in one place: every refusal is an :class:`ApiError`, and one handler
turns it (and Flask's own HTTP errors, such as 404, 405 and 413) into ``{"error",
"detail"}``. So do the handlers of what a request can run into below the edge: a value
Postgres refuses (400), NetBox or Zabbix unreachable (502), Postgres or RabbitMQ
unreachable (503), and anything unforeseen (500, its traceback in the log only)."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq.errors
import pika.exceptions
import psycopg
import pynetbox
import requests
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from handlers.gateways.zabbix import ZabbixAPIException, ZabbixUnavailable

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error answer.

    Parameters:
      status: the HTTP status code.
      error: a short name of what went wrong (``invalid signature``).
      detail: what was wrong with which input and what to do (text, or errors per field).
      headers: extra response headers (``Retry-After``).
    """

    def __init__(
        self, status: int, error: str, detail: Any, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}


def _api_error(exc: ApiError) -> Any:
    return jsonify(error=exc.error, detail=exc.detail), exc.status, exc.headers


def _http_error(exc: HTTPException) -> Any:
    # Keep what the exception says in its headers (Allow on a 405), not its HTML type.
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return jsonify(error=exc.name, detail=exc.description), exc.code, headers


def _refused_value(exc: psycopg.DataError) -> Any:
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _api_error(
        ApiError(400, "invalid value", f"Postgres refused a value of the request: {first}")
    )


def _upstream(exc: Exception) -> Any:
    log.warning("NetBox or Zabbix failed a request: %s", exc)
    return _api_error(
        ApiError(
            502,
            "upstream unavailable",
            f"NetBox or Zabbix did not answer as expected ({type(exc).__name__}); "
            "`/readyz` tells which, try again once it answers",
        )
    )


def _unavailable(service: str) -> Any:
    def handle(exc: Exception) -> Any:
        log.warning("%s failed a request: %s", service, exc)
        return _api_error(
            ApiError(
                503,
                "service unavailable",
                f"{service} is unreachable ({type(exc).__name__}); nothing was changed, try "
                "again once it is back (`/readyz` tells)",
                headers={"Retry-After": "30"},
            )
        )

    return handle


def _unexpected(exc: Exception) -> Any:
    log.exception("request failed")
    return _api_error(
        ApiError(
            500,
            "internal server error",
            f"the request failed on the server ({type(exc).__name__}); its log has the details",
        )
    )


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(psycopg.DataError, _refused_value)
    for upstream in (ZabbixUnavailable, ZabbixAPIException, pynetbox.RequestError):
        app.register_error_handler(upstream, _upstream)
    app.register_error_handler(requests.RequestException, _upstream)
    app.register_error_handler(psycopg.OperationalError, _unavailable("Postgres"))
    app.register_error_handler(dramatiq.errors.BrokerError, _unavailable("RabbitMQ"))
    app.register_error_handler(pika.exceptions.AMQPError, _unavailable("RabbitMQ"))
    app.register_error_handler(Exception, _unexpected)
