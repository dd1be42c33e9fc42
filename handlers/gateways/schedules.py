"""The ``schedules`` table: when each recurring system job was last enqueued, and as which
job. The next due time is derived from the interval in the settings row."""

from __future__ import annotations

from typing import Any

import psycopg

#: Seconds a schedule may come due early: ticks are a minute apart and each runs a little
#: late, so without it a job would slip to the tick after the one it is due at.
DUE_SLACK_S = 30


def claim_due(conn: psycopg.Connection, name: str, interval_min: int, job_id: str) -> bool:
    """Claim schedule ``name`` for job ``job_id`` if it is due (never enqueued, or not within
    ``interval_min`` minutes, less :data:`DUE_SLACK_S`). The row lock makes a second
    scheduler's claim wait for this transaction and then find the schedule no longer due: a
    due job is enqueued once. A schedule without a row yet gets one."""
    row = conn.execute(
        "INSERT INTO schedules AS s (name, last_enqueued_at, last_job_id)"
        " VALUES (%(name)s, now(), %(job)s) ON CONFLICT (name) DO UPDATE"
        " SET last_enqueued_at = now(), last_job_id = %(job)s"
        " WHERE s.last_enqueued_at IS NULL OR s.last_enqueued_at"
        "       <= now() - make_interval(mins => %(mins)s, secs => %(slack)s)"
        " RETURNING name",
        {"name": name, "job": job_id, "mins": interval_min, "slack": -DUE_SLACK_S},
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
