"""``POST /webhooks/netbox``: verify, validate, de-duplicate, queue durably, answer 202.

Checks run in this order: a free slot in this process (503, NZC_WEB_MAX_CONCURRENT), size
(413), signature (401), content type (415), JSON (400), schema (400). A request that fails
any check never reaches the queue.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from typing import Any

import psycopg
from flask import Blueprint, Response, g, jsonify, request
from marshmallow import ValidationError

from consumer import intake
from consumer.errors import ApiError
from consumer.metrics import observe_webhook
from consumer.state import AppState, app_state
from handlers import logs
from handlers.decide.translate import event_target, ignore_reason
from handlers.gateways import ingest
from schemas.webhook import WebhookSchema, may_hold_unstorable

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

SIGNATURE_HEADER = "X-Hook-Signature"

#: Seconds a webhook refused for want of a slot is asked to wait (``Retry-After``).
BUSY_RETRY_AFTER_S = 1

#: Stateless, so one instance of each serves every request; the second for the bodies
#: whose bytes show no string PostgreSQL could refuse (almost all).
_schema = WebhookSchema()
_schema_of_plain_text = WebhookSchema(check_storable=False)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """NetBox's X-Hook-Signature: hex HMAC-SHA512 of the raw body, compared in constant time."""
    if not header:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest().encode()
    # Bytes, not str: compare_digest refuses non-ASCII strings, and headers are untrusted.
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace"))


@bp.before_request
def _open_log_context() -> None:
    """A webhook's log lines carry its request_id, message_id and target once known; the
    context is this request's only (reset at teardown, as threads serve many requests)."""
    g.log_context = logs.bind()


@bp.before_request
def _start_clock() -> None:
    g.webhook_started = time.perf_counter()


@bp.before_request
def _take_slot() -> None:
    """At most NZC_WEB_MAX_CONCURRENT webhooks at once in this process: a flood (or a slow
    Postgres holding every request) is answered 503 at once, without reading the body,
    rather than queued in the process until NetBox's own timeout."""
    state = app_state()
    if not state.webhook_slots.acquire(blocking=False):
        limit = state.runtime.config.web_max_concurrent
        raise ApiError(
            503,
            "busy",
            f"this web process is handling {limit} webhooks already (NZC_WEB_MAX_CONCURRENT);"
            f" send it again after {BUSY_RETRY_AFTER_S} s",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )
    g.webhook_slot = state.webhook_slots


@bp.after_request
def _count(response: Response) -> Response:
    """Every answer passes here, refusals included (Flask runs it after the JSON error
    handlers too), so the webhook metrics are counted in this one place."""
    started = g.pop("webhook_started", None)
    observe_webhook(response, time.perf_counter() - started if started is not None else 0.0)
    return response


@bp.teardown_request
def _close_log_context(_exc: BaseException | None) -> None:
    token = g.pop("log_context", None)
    if token is not None:
        logs.reset(token)


# Registered last, so Flask runs it first: a teardown that raised would stop the others,
# and a slot never given back would refuse webhooks for good.
@bp.teardown_request
def _give_slot(_exc: BaseException | None) -> None:
    slots = g.pop("webhook_slot", None)
    if slots is not None:
        slots.release()


@bp.post("/webhooks/netbox")
def netbox_webhook() -> Any:
    state = app_state()
    runtime, config = state.runtime, state.runtime.config
    body = request.get_data(cache=False)  # over MAX_CONTENT_LENGTH: 413 from Flask

    if not config.webhook_insecure:
        if not signature_ok(config.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
            raise ApiError(
                401,
                "invalid signature",
                f"{SIGNATURE_HEADER} is missing or does not match the body; set the webhook's "
                "secret in NetBox to NZC_WEBHOOK_SECRET",
            )
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            "unsupported content type",
            f"expected application/json, got {request.mimetype or 'none'}; "
            "set the webhook's HTTP content type in NetBox to application/json",
        )
    event = load_webhook(body)
    logs.bind(request_id=event["request_id"])

    reason = ignore_reason(event)
    if reason:
        _count_ignored(runtime.store, reason)
        return jsonify(ignored=reason), 202
    return _queue(state, event, hashlib.sha256(body).digest())


def load_webhook(body: bytes) -> dict[str, Any]:
    """The event a webhook's ``body`` holds, checked as the job row and the worker need it;
    :class:`ApiError` (a 400 naming the problem) when it is not one."""
    try:
        payload = json.loads(body, parse_constant=_not_json, parse_float=_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid JSON", f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise ApiError(
            400, "invalid JSON", "the body nests too deeply to be a NetBox webhook"
        ) from None
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid body", {"_schema": ["the body must be a JSON object"]})
    schema = _schema if may_hold_unstorable(body) else _schema_of_plain_text
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise ApiError(400, "invalid body", exc.messages) from None


def _not_json(name: str) -> Any:
    """Python reads NaN and Infinity, which JSON (and PostgreSQL's jsonb) has not."""
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    """A JSON number Python reads as infinity (``1e999``): jsonb refuses it too."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is beyond a double's range")
    return value


def _count_ignored(store: Any, reason: str) -> None:
    try:
        with store.connection(timeout=intake.DB_TIMEOUT_S) as conn:
            ingest.count_ignored(conn, reason)
    except psycopg.OperationalError:
        log.warning("could not count an ignored webhook: Postgres is unreachable")


def _queue(state: AppState, event: dict[str, Any], body_sha256: bytes) -> Any:
    target = event_target(event)
    logs.bind(target=target)
    outcome = state.intake.accept(intake.webhook(event, body_sha256, target))
    logs.bind(message_id=outcome.message_id)
    if outcome.duplicate:
        return jsonify(duplicate=True, message_id=outcome.message_id), 202
    if outcome.spooled:
        return jsonify(message_id=outcome.message_id, target=target, spooled=True), 202
    return jsonify(message_id=outcome.message_id, target=target), 202
