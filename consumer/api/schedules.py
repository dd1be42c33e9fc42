"""The recurring system jobs: when each ran and is due, and running one now."""

from __future__ import annotations

from typing import Any

from consumer.api.operations import Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.jobs.schedules import overview, run_now
from schemas.admin import QueuedSchema, SchedulesSchema

operations = Operations("schedules")


@operations.route("GET", "/schedules", answers={200: SchedulesSchema()})
def list_schedules() -> dict[str, Any]:
    """Every recurring system job, with its last run and next. Its interval (from the
    settings), last run and outcome, and when it is due next (null: at the next tick)."""
    with app_state().runtime.store.connection() as conn:
        return {"schedules": overview(conn)}


@operations.route("POST", "/schedules/<name>/run", answers={202: QueuedSchema()}, errors=(503,))
def run(name: str) -> tuple[int, Any]:
    """Run a system job now. 202: the queued job; its interval then counts from now."""
    runtime = app_state().runtime
    try:
        with runtime.store.connection() as conn:
            message = run_now(conn, runtime.broker, name)
    except ValueError as exc:
        raise ApiError(404, "not found", str(exc)) from None
    return 202, {"job_id": message.message_id, "actor": name}
