"""Errors as JSON, in one place: every refusal is an :class:`ApiError`, and one handler
turns it (and Flask's own HTTP errors, such as 413) into ``{"error", "detail"}``."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


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
    return jsonify(error=exc.name, detail=exc.description), exc.code


def register(app: Flask) -> None:
    """Install the JSON error handlers on ``app``."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
