"""The jobs table and the event log: the records operators read.

Plain functions over a psycopg connection, so they join whatever transaction the caller holds.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

#: Statuses a job row can hold.
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "dead", "replayed")
#: Event-log levels.
LEVELS = ("debug", "info", "warning", "error")


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def record_enqueued(
    conn: psycopg.Connection,
    *,
    job_id: str,
    actor: str,
    queue: str,
    targets: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    request_id: str | None = None,
    replay_of: str | None = None,
) -> None:
    """Insert the ``queued`` row of a message; a re-enqueue (retry) keeps the existing row."""
    conn.execute(
        "INSERT INTO jobs (id, actor, queue, targets, args, kwargs, request_id, replay_of)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
        [job_id, actor, queue, targets, Jsonb(args), Jsonb(kwargs), request_id, replay_of],
    )


def record_started(
    conn: psycopg.Connection,
    *,
    job_id: str,
    actor: str,
    queue: str,
    targets: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    attempt: int,
) -> None:
    """Mark the job running with its attempt number (inserting the row if enqueue missed it)."""
    conn.execute(
        "INSERT INTO jobs (id, actor, queue, targets, args, kwargs, status, attempts, started_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'running', %s, clock_timestamp())"
        " ON CONFLICT (id) DO UPDATE SET status = 'running', attempts = EXCLUDED.attempts,"
        " started_at = EXCLUDED.started_at, finished_at = NULL, duration_ms = NULL",
        [job_id, actor, queue, targets, Jsonb(args), Jsonb(kwargs), attempt],
    )


def record_finished(
    conn: psycopg.Connection,
    *,
    job_id: str,
    status: str,
    duration_ms: float,
    result: Any = None,
    error: str | None = None,
    traceback: str | None = None,
    data: Any = None,
    pre_data: Any = None,
    post_data: Any = None,
    targets: list[str] | None = None,
) -> None:
    """Record how an attempt ended: ``succeeded`` or ``failed`` with the error and its data;
    ``targets`` replaces the recorded targets when the job found more while running."""
    conn.execute(
        "UPDATE jobs SET status = %s, finished_at = clock_timestamp(), duration_ms = %s,"
        " result = %s, error = %s, traceback = %s, data = %s, pre_data = %s, post_data = %s,"
        " targets = COALESCE(%s, targets) WHERE id = %s",
        [
            status,
            duration_ms,
            _json(result),
            error,
            traceback,
            _json(data),
            _json(pre_data),
            _json(post_data),
            targets,
            job_id,
        ],
    )


def mark_dead(conn: psycopg.Connection, job_id: str, reason: str) -> None:
    """Retries are exhausted (or the message expired): the message is in the dead-letter queue."""
    conn.execute(
        "UPDATE jobs SET status = 'dead', error = COALESCE(error, %s),"
        " finished_at = COALESCE(finished_at, clock_timestamp()) WHERE id = %s",
        [reason, job_id],
    )


def log_event(
    conn: psycopg.Connection,
    level: str,
    message: str,
    *,
    job_id: str | None = None,
    target: str | None = None,
    data: Any = None,
) -> None:
    """Append an event-log entry."""
    conn.execute(
        "INSERT INTO event_log (job_id, target, level, message, data) VALUES (%s, %s, %s, %s, %s)",
        [job_id, target, level, message, _json(data)],
    )


def list_jobs(
    conn: psycopg.Connection,
    *,
    status: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """The newest jobs first, filtered by status, actor and target when given."""
    where, params = [], []
    if status:
        where.append("status = %s")
        params.append(status)
    if actor:
        where.append("actor = %s")
        params.append(actor)
    if target:
        where.append("%s = ANY(targets)")
        params.append(target)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params.append(limit)
    return conn.execute(
        "SELECT id, actor, queue, targets, status, attempts, enqueued_at, started_at,"
        f" finished_at, duration_ms, error FROM jobs {clause}"
        " ORDER BY enqueued_at DESC, id LIMIT %s",
        params,
    ).fetchall()


def get_job(conn: psycopg.Connection, job_id: str) -> dict[str, Any] | None:
    """One job row with its event-log entries (under ``events``), or None."""
    job = conn.execute("SELECT * FROM jobs WHERE id = %s", [job_id]).fetchone()
    if job is not None:
        job["events"] = conn.execute(
            "SELECT created_at, level, target, message, data FROM event_log"
            " WHERE job_id = %s ORDER BY created_at, id",
            [job_id],
        ).fetchall()
    return job


def purge_event_log(conn: psycopg.Connection, retention_days: int) -> int:
    """Delete event-log entries older than ``retention_days``; return how many."""
    cur = conn.execute(
        "DELETE FROM event_log WHERE created_at < now() - make_interval(days => %s)",
        [retention_days],
    )
    return cur.rowcount
