"""The ``schedules`` table: when each recurring system job was last enqueued, and as which
job. The next due time is derived from the interval in the settings row."""

from __future__ import annotations

from typing import Any

import psycopg


def claim_due(conn: psycopg.Connection, name: str, interval_min: int, job_id: str) -> bool:
    """Claim schedule ``name`` for job ``job_id`` if it is due (never enqueued, or not within
    ``interval_min`` minutes). The row lock makes a second scheduler's claim wait for this
    transaction and then find the schedule no longer due: a due job is enqueued once."""
    row = conn.execute(
        "UPDATE schedules SET last_enqueued_at = now(), last_job_id = %s WHERE name = %s"
        " AND (last_enqueued_at IS NULL"
        "      OR last_enqueued_at <= now() - make_interval(mins => %s))"
        " RETURNING name",
        [job_id, name, interval_min],
    ).fetchone()
    return row is not None


def record_enqueued(conn: psycopg.Connection, name: str, job_id: str) -> None:
    """Schedule ``name`` was run now by hand (``nzc schedules run``)."""
    conn.execute(
        "UPDATE schedules SET last_enqueued_at = now(), last_job_id = %s WHERE name = %s",
        [job_id, name],
    )


def load(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every schedule with its last job's status and times, in name order."""
    return conn.execute(
        "SELECT s.name, s.last_enqueued_at, s.last_job_id, j.status AS last_status,"
        " j.started_at AS last_started_at, j.finished_at AS last_finished_at,"
        " j.error AS last_error FROM schedules s LEFT JOIN jobs j ON j.id = s.last_job_id"
        " ORDER BY s.name"
    ).fetchall()
