"""Maintenance windows: list and show them, create and change an operator's window, end
one now or delete it. Each is checked as `nzc maintenance` checks it (the same function,
the same sentences); the ``maintenance_window`` job then writes it to Zabbix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dramatiq.errors
import pika.exceptions
import psycopg

from consumer.api.jobs import requested_by
from consumer.api.operations import MAX_ID, Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.decide.maintenance import EXPIRED, status_now
from handlers.gateways import maintenance as windows
from handlers.gateways.postgres import database_now
from handlers.jobs.maintenance import create_window, operator_window, update_window
from handlers.jobs.operator import Exists, Refused
from handlers.runtime import Runtime
from schemas.admin import QueuedSchema
from schemas.maintenance import (
    OUT_OF_RANGE,
    WindowBodySchema,
    WindowChangesSchema,
    WindowDetailSchema,
    WindowQueuedSchema,
    WindowsSchema,
)

operations = Operations("maintenance")

#: The actor that writes, ends and deletes windows in Zabbix.
WINDOW_ACTOR = "maintenance_window"
#: One window, by id. No max= in the rule: with rules of one path for several methods,
#: Werkzeug answers 405, not 404, to an id over the max; the views answer 404 (:func:`_found`).
ONE = "/maintenance/<int:window_id>"
#: What a refusal is called.
REFUSED = "maintenance window refused"


def window_answer(conn: psycopg.Connection, row: dict[str, Any]) -> dict[str, Any]:
    """A window row as answered (and as ``nzc maintenance show`` prints it): its status
    now, and its Zabbix hosts."""
    held = windows.members(conn, [row["id"]])[row["id"]]
    return {
        **row,
        "status": status_now(row, database_now(conn)),
        "host_count": len(held),
        "members": [{"hostid": h, "target": t} for h, t in sorted(held.items())],
    }


def _found(conn: psycopg.Connection, window_id: int) -> dict[str, Any]:
    row = windows.find(conn, window_id) if window_id <= MAX_ID else None
    if row is None:
        raise ApiError(
            404,
            "not found",
            f"no maintenance window {window_id}; GET /api/v1/maintenance lists them",
        )
    return row


def _refusal(exc: Refused) -> ApiError:
    if isinstance(exc, Exists):
        return ApiError(409, "maintenance window exists", exc.problems)
    return ApiError(400, REFUSED, exc.problems)


def _queue(runtime: Runtime, window_id: int, action: str, *, written: str = "") -> str:
    """Send the window's job (after the transaction that wrote it committed); its id.
    RabbitMQ unreachable: 503 saying what was written already and what catches up."""
    try:
        return runtime.broker.get_actor(WINDOW_ACTOR).send(window_id, action).message_id
    except (dramatiq.errors.BrokerError, pika.exceptions.AMQPError) as exc:
        raise ApiError(
            503,
            "service unavailable",
            f"RabbitMQ is unreachable ({type(exc).__name__}): the {action} job of maintenance "
            f"window {window_id} was not queued{written}; try again once it is back "
            "(`/readyz` tells)",
            headers={"Retry-After": "30"},
        ) from None


@operations.route("GET", "/maintenance", answers={200: WindowsSchema()})
def list_windows() -> dict[str, Any]:
    """Every maintenance window, the latest start first: its status now, span, scope and
    how many Zabbix hosts it holds."""
    with app_state().runtime.store.connection() as conn:
        now = database_now(conn)
        return {
            "windows": [{**row, "status": status_now(row, now)} for row in windows.all_rows(conn)]
        }


@operations.route(
    "POST",
    "/maintenance",
    body=WindowBodySchema(),
    answers={201: WindowQueuedSchema()},
    errors=(400, 409, 502, 503),
)
def create(body: dict[str, Any]) -> tuple[int, Any]:
    """Create a maintenance window. It is checked whole as `nzc maintenance create` checks
    it, and refused (400) with its sentences: its times and periods, and every name it uses
    known to NetBox (sites, regions, tenants, clusters, tags), to the Zabbix mirrors (host
    groups, proxies, proxy groups) or to the host configs (hosts); nothing is written then.
    409: the name is taken. 201: the window, and the queued job that writes it to Zabbix."""
    runtime = app_state().runtime
    answer = _written(
        runtime, lambda conn: create_window(conn, runtime.netbox, body, requested_by({}))
    )
    return 201, answer


@operations.route("GET", ONE, answers={200: WindowDetailSchema()})
def get_window(window_id: int) -> dict[str, Any]:
    """One maintenance window in full, with its Zabbix hosts (hostid, and the NetBox object
    of each) and the error of its last write."""
    with app_state().runtime.store.connection() as conn:
        return window_answer(conn, _found(conn, window_id))


@operations.route(
    "PATCH",
    ONE,
    body=WindowChangesSchema(),
    answers={200: WindowQueuedSchema()},
    errors=(400, 409, 502, 503),
)
def change(window_id: int, body: dict[str, Any]) -> tuple[int, Any]:
    """Change an operator's maintenance window. The fields given replace the window's (a
    scope list given replaces that list; duration replaces end); the changed window is
    checked whole, as a new one is, and refused (400) with the CLI's sentences, as is a
    window that expired or follows NetBox. 409: the new name is taken. 200: the window,
    and the queued job that writes it to Zabbix."""
    runtime = app_state().runtime

    def write(conn: psycopg.Connection) -> dict[str, Any]:
        _found(conn, window_id)
        return update_window(conn, runtime.netbox, window_id, body)

    return 200, _written(runtime, write)


def _written(
    runtime: Runtime, write: Callable[[psycopg.Connection], dict[str, Any]]
) -> dict[str, Any]:
    """Write a window (refusals answered 400 or 409) and, once committed, queue the job
    that writes it to Zabbix; the answer."""
    try:
        with runtime.store.connection() as conn:
            row = write(conn)
            answer = window_answer(conn, row)
    except Refused as exc:
        raise _refusal(exc) from None
    except OverflowError:
        raise ApiError(400, REFUSED, [OUT_OF_RANGE]) from None
    written = " (the window is recorded; the maintenance clean-up writes it to Zabbix)"
    job_id = _queue(runtime, row["id"], "apply", written=written)
    return {"window": answer, "job_id": job_id, "actor": WINDOW_ACTOR}


@operations.route("DELETE", ONE, answers={202: QueuedSchema()}, errors=(400, 503))
def delete(window_id: int) -> tuple[int, Any]:
    """Delete an operator's maintenance window: the queued job deletes its Zabbix
    maintenance, then the window (202). A window that follows NetBox is refused (400): change
    the settings that name it."""
    runtime = app_state().runtime
    try:
        with runtime.store.connection() as conn:
            _found(conn, window_id)
            operator_window(conn, window_id)
    except Refused as exc:
        raise _refusal(exc) from None
    return 202, {"job_id": _queue(runtime, window_id, "delete"), "actor": WINDOW_ACTOR}


@operations.route("POST", f"{ONE}/end", answers={202: WindowQueuedSchema()}, errors=(400, 503))
def end_now(window_id: int) -> tuple[int, Any]:
    """End an operator's maintenance window now (a pending one is cancelled): its end is
    recorded as now, and the queued job deletes its Zabbix maintenance (202). A window
    that expired already, or follows NetBox, is refused (400)."""
    runtime = app_state().runtime
    try:
        with runtime.store.connection() as conn:
            row = operator_window(conn, _found(conn, window_id)["id"])
            if row["status"] == EXPIRED:
                raise Refused("maintenance window", [f"{row['name']!r} has ended already"])
            windows.end_now(conn, window_id)
            answer = window_answer(conn, _found(conn, window_id))
    except Refused as exc:
        raise _refusal(exc) from None
    written = " (its end is recorded; the maintenance clean-up ends it in Zabbix)"
    job_id = _queue(runtime, window_id, "end", written=written)
    return 202, {"window": answer, "job_id": job_id, "actor": WINDOW_ACTOR}
