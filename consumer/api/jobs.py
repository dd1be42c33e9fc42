"""Job records: list and inspect them, replay failed work, read failures by cause."""

from __future__ import annotations

from typing import Any

from flask import request

from consumer.api.operations import Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.gateways import job_records
from handlers.jobs.replay import failure_groups, replay, replay_matching
from schemas.admin import (
    FailuresQuerySchema,
    FailuresSchema,
    JobDetailSchema,
    JobPageSchema,
    JobsQuerySchema,
    ReplayedSchema,
    ReplayFilterSchema,
    ReplaySchema,
    ReplaysSchema,
    encode_cursor,
)

operations = Operations("jobs")


def requested_by(body: dict[str, Any]) -> str:
    """Who asked for a replay, as recorded on both job rows: the caller's address, and the
    name the body gives."""
    who = f"api:{request.remote_addr or 'unknown'}"
    return f"{who} ({body['requested_by']})" if body.get("requested_by") else who


@operations.route(
    "GET", "/jobs", query=JobsQuerySchema(), answers={200: JobPageSchema()}, errors=(400,)
)
def list_jobs(query: dict[str, Any]) -> dict[str, Any]:
    """The newest jobs first, a page at a time.

    Filters: status (failed includes partial), actor, target, since, request_id (NetBox's).
    Pass the answer's
    next_cursor as cursor for the next page, with the same filters."""
    limit = query["limit"]
    with app_state().runtime.store.connection() as conn:
        rows = job_records.list_jobs(
            conn,
            status=query.get("status"),
            actor=query.get("actor"),
            target=query.get("target"),
            since=query.get("since"),
            before=query.get("cursor"),
            limit=limit + 1,
            request_id=query.get("request_id"),
        )
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "jobs": page,
        "next_cursor": encode_cursor(page[-1]["enqueued_at"], page[-1]["id"]) if more else None,
    }


@operations.route(
    "GET",
    "/jobs/failures",
    query=FailuresQuerySchema(),
    answers={200: FailuresSchema()},
    errors=(400,),
)
def list_failures(query: dict[str, Any]) -> dict[str, Any]:
    """Open failures grouped by their normalised error. The largest group first: 500
    failures with one cause read as one group."""
    with app_state().runtime.store.connection() as conn:
        groups = failure_groups(conn, since=query.get("since"), limit=query["limit"])
    return {"groups": groups}


@operations.route("GET", "/jobs/<job_id>", answers={200: JobDetailSchema()}, errors=(400,))
def get_job(job_id: str) -> dict[str, Any]:
    """One job with its error, traceback, data, replay links and event-log entries."""
    with app_state().runtime.store.connection() as conn:
        job = job_records.get_job(conn, job_id)
    if job is None:
        raise ApiError(404, "not found", f"no job with id {job_id!r}; GET /api/v1/jobs lists them")
    return job


@operations.route(
    "POST",
    "/jobs/<job_id>/replay",
    body=ReplaySchema(),
    answers={202: ReplayedSchema(), 200: ReplayedSchema()},
    errors=(400, 409, 503),
)
def replay_job(job_id: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Replay one dead, failed or partial job, or a dead letter by its message id. It is
    taken out of the dead-letter queue and sent again as a new job (202). A job replayed
    already is not sent twice: 200 names the earlier replay. 409 says why a job cannot be
    replayed."""
    runtime = app_state().runtime
    (outcome,) = replay(
        runtime, [job_id], requested_by=requested_by(body), reason=body.get("reason")
    )
    if outcome.outcome == "replayed":
        return 202, {"outcomes": [outcome]}
    if outcome.outcome == "already_replayed":
        return 200, {"outcomes": [outcome]}
    with runtime.store.connection() as conn:
        known = job_records.get_job(conn, job_id) is not None
    raise ApiError(409 if known else 404, "replay refused", outcome.detail)


@operations.route(
    "POST",
    "/jobs/replay",
    body=ReplayFilterSchema(),
    answers={200: ReplaysSchema()},
    errors=(400, 503),
)
def replay_jobs(body: dict[str, Any]) -> dict[str, Any]:
    """Replay the jobs a filter selects. Status dead, or failed (which includes partial),
    narrowed by actor, target and since; oldest first, up to limit. With dry_run, say
    what would be replayed and change nothing."""
    outcomes = replay_matching(
        app_state().runtime,
        status=body["status"],
        actor=body.get("actor"),
        target=body.get("target"),
        since=body.get("since"),
        limit=body["limit"],
        requested_by=requested_by(body),
        reason=body.get("reason"),
        dry_run=body["dry_run"],
    )
    return {"dry_run": body["dry_run"], "selected": len(outcomes), "outcomes": outcomes}
