"""The ``jobs`` table and the event log: the records operators read. The only module that
writes job rows: at enqueue (the JobRecorder middleware, or the web edge with the webhook's
de-duplication), while running and when finished (the runner), when dead (the middleware).

Plain functions over a psycopg connection, so they join whatever transaction the caller holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from handlers.decide.secrets import mask_secrets

#: Statuses after which a job never runs again (a redelivered message is acknowledged).
ENDED = ("succeeded", "partial", "replayed")
#: Statuses a replay can start from (``failed`` only once its message is dead-lettered).
REPLAYABLE = ("dead", "partial", "failed")
#: A webhook body delivered again within this many seconds is not queued twice.
DEDUPE_WINDOW_S = 600


def _json(value: Any) -> Jsonb | None:
    """``value`` as jsonb, secrets masked (job rows and the event log are read by operators)."""
    return None if value is None else Jsonb(mask_secrets(value))


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
) -> bool:
    """Mark the job running with its attempt number (inserting the row if enqueue missed it).

    Returns False, changing nothing, when the row says the job already ended (succeeded,
    partial, replayed): RabbitMQ delivers at least once, so a message can come again after
    its job committed, and running it twice would undo newer changes.
    """
    row = conn.execute(
        "INSERT INTO jobs (id, actor, queue, targets, args, kwargs, status, attempts, started_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, 'running', %s, clock_timestamp())"
        " ON CONFLICT (id) DO UPDATE SET status = 'running', attempts = EXCLUDED.attempts,"
        " started_at = EXCLUDED.started_at, finished_at = NULL, duration_ms = NULL"
        " WHERE jobs.status <> ALL(%s) RETURNING id",
        [job_id, actor, queue, targets, Jsonb(args), Jsonb(kwargs), attempt, list(ENDED)],
    ).fetchone()
    return row is not None


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


_ACCEPT = """
WITH input AS (
    SELECT * FROM unnest(%(shas)s::bytea[], %(targets)s::text[], %(request_ids)s::text[])
         WITH ORDINALITY AS i(sha, target, request_id, n)
), fresh AS (
    INSERT INTO webhook_dedupe AS d (body_sha256, message_id, received_at)
    SELECT sha, %(id)s, now() FROM input ORDER BY sha  -- one lock order for every batch
    ON CONFLICT (body_sha256) DO UPDATE
        SET message_id = EXCLUDED.message_id, received_at = EXCLUDED.received_at
        WHERE d.received_at < now() - make_interval(secs => %(window)s)
    RETURNING body_sha256
), accepted AS (
    SELECT input.* FROM input JOIN fresh ON fresh.body_sha256 = input.sha
), job AS (
    INSERT INTO jobs (id, actor, queue, targets, args, kwargs, request_id, request_ids)
    SELECT %(id)s, %(actor)s, %(queue)s,
           COALESCE(array_agg(DISTINCT target) FILTER (WHERE target IS NOT NULL), '{}'),
           -- The arguments as sent when every event is new (the usual case: no re-encoding),
           -- else the new ones picked out of them.
           CASE WHEN count(*) = cardinality(%(shas)s::bytea[]) THEN %(args)s::jsonb
                ELSE (SELECT jsonb_build_array(jsonb_agg(%(args)s::jsonb -> 0 -> (a.n::int - 1)
                                                         ORDER BY a.n))
                      FROM accepted a) END,
           '{}',
           CASE WHEN count(*) FILTER (WHERE request_id IS NULL) = 0
                     AND count(DISTINCT request_id) = 1 THEN min(request_id) END,
           array_agg(DISTINCT request_id) FILTER (WHERE request_id IS NOT NULL)
    FROM accepted HAVING count(*) > 0
)
SELECT fresh.body_sha256 IS NOT NULL AS accepted, d.message_id AS earlier
FROM input
LEFT JOIN fresh ON fresh.body_sha256 = input.sha
LEFT JOIN webhook_dedupe d ON d.body_sha256 = input.sha
ORDER BY input.n
"""


@dataclass(frozen=True)
class Webhook:
    """One verified webhook as the edge records it: the digest of its body, its event (the
    schema's output), its host target and its NetBox request id."""

    body_sha256: bytes
    event: dict[str, Any]
    target: str | None
    request_id: str | None


def record_webhooks(
    conn: psycopg.Connection,
    *,
    message_id: str,
    actor: str,
    queue: str,
    webhooks: list[Webhook],
) -> list[str | None]:
    """Record a batch of webhooks as one message (its job row ``queued``, holding the events
    in order), leaving out those whose body came within the de-duplication window: all in
    one statement, one round trip. Returns, per webhook in order, None when accepted, else
    the message id of the earlier delivery. The bodies must be distinct (the caller answers
    a repeat within one batch itself). Use an
    :class:`~handlers.gateways.ingest.IngestConnection` (autocommit, no WAL-flush wait).
    """
    rows = conn.execute(
        _ACCEPT,
        {
            "shas": [w.body_sha256 for w in webhooks],
            "targets": [w.target for w in webhooks],
            "request_ids": [w.request_id for w in webhooks],
            "args": Jsonb([[w.event for w in webhooks]]),
            "id": message_id,
            "window": DEDUPE_WINDOW_S,
            "actor": actor,
            "queue": queue,
        },
        prepare=True,
    ).fetchall()
    earlier = [None if row["accepted"] else row["earlier"] for row in rows]
    unseen = [w.body_sha256 for w, row in zip(webhooks, rows, strict=True) if not row["accepted"]]
    if any(e is None for e, row in zip(earlier, rows, strict=True) if not row["accepted"]):
        # A repeat another process committed while this statement waited for its row: the
        # statement's snapshot predates it; a new statement sees it.
        found = {
            bytes(r["body_sha256"]): r["message_id"]
            for r in conn.execute(
                "SELECT body_sha256, message_id FROM webhook_dedupe WHERE body_sha256 = ANY(%s)",
                [unseen],
            )
        }
        earlier = [
            found.get(w.body_sha256, "") if not row["accepted"] and e is None else e
            for w, row, e in zip(webhooks, rows, earlier, strict=True)
        ]
    return earlier


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


def log_events(
    conn: psycopg.Connection, job_id: str, entries: list[tuple[str, str, str | None, Any]]
) -> None:
    """Append event-log entries (level, message, target, data) of one job in one statement."""
    if not entries:
        return
    conn.execute(
        "INSERT INTO event_log (job_id, target, level, message, data)"
        " SELECT %s, t, l, m, d FROM unnest(%s::text[], %s::text[], %s::text[], %s::jsonb[])"
        " AS e(t, l, m, d)",
        [
            job_id,
            [e[2] for e in entries],
            [e[0] for e in entries],
            [e[1] for e in entries],
            [_json(e[3]) for e in entries],
        ],
    )


def list_jobs(
    conn: psycopg.Connection,
    *,
    status: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: timedelta | None = None,
    before: tuple[datetime, str] | None = None,
    limit: int = 50,
    request_id: str | None = None,
) -> list[dict[str, Any]]:
    """The newest jobs first (by enqueued_at, then id), filtered by status, actor, target,
    enqueued within ``since`` and NetBox request id when given; ``failed`` includes
    ``partial`` (jobs that failed for some of their targets). ``before``: the (enqueued_at,
    id) of the last job of the previous page, for the next one."""
    where, params = _filters(status, actor, target, since)
    if request_id:
        # A batch of webhooks may carry several requests' events: request_ids has them all.
        where.append("(request_id = %s OR request_ids @> ARRAY[%s])")
        params.extend([request_id, request_id])
    if before is not None:
        where.append("(enqueued_at, id) < (%s, %s)")
        params.extend(before)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    params.append(limit)
    return conn.execute(
        "SELECT id, actor, queue, targets, status, attempts, enqueued_at, started_at,"
        f" finished_at, duration_ms, error FROM jobs {clause}"
        " ORDER BY enqueued_at DESC, id DESC LIMIT %s",
        params,
    ).fetchall()


def _filters(
    status: str | None, actor: str | None, target: str | None, since: timedelta | None
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions (and their parameters) of a job listing or selection;
    ``failed`` includes ``partial``."""
    where: list[str] = []
    params: list[Any] = []
    if status:
        where.append("status = ANY(%s)")
        params.append(["failed", "partial"] if status == "failed" else [status])
    if actor:
        where.append("actor = %s")
        params.append(actor)
    if target:
        where.append("%s = ANY(targets)")
        params.append(target)
    if since is not None:
        where.append("enqueued_at >= now() - %s")
        params.append(since)
    return where, params


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


def lock_for_replay(conn: psycopg.Connection, job_id: str) -> dict[str, Any] | None:
    """The job row, locked until the transaction ends (one replay at a time), with the
    status of the job it was replayed as (``replay_status``); None when there is none."""
    return conn.execute(
        "SELECT j.id, j.actor, j.queue, j.targets, j.args, j.kwargs, j.status, j.attempts,"
        " j.error, j.request_id, j.replayed_as,"
        " (SELECT r.status FROM jobs r WHERE r.id = j.replayed_as) AS replay_status"
        " FROM jobs j WHERE j.id = %s FOR UPDATE OF j",
        [job_id],
    ).fetchone()


def record_dead_letter(
    conn: psycopg.Connection,
    *,
    job_id: str,
    actor: str,
    queue: str,
    targets: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    request_id: str | None,
    enqueued_at: datetime | None,
) -> None:
    """Give a dead letter that has no job row (older than the table, or purged) its row,
    ``dead``, enqueued when its message was, so that its replay is recorded like any other."""
    conn.execute(
        "INSERT INTO jobs (id, actor, queue, targets, args, kwargs, request_id, status, error,"
        " enqueued_at, finished_at) VALUES (%s, %s, %s, %s, %s, %s, %s, 'dead',"
        " 'found in the dead-letter queue without a job row', COALESCE(%s, now()),"
        " clock_timestamp()) ON CONFLICT (id) DO NOTHING",
        [job_id, actor, queue, targets, Jsonb(args), Jsonb(kwargs), request_id, enqueued_at],
    )


def record_replay(
    conn: psycopg.Connection,
    *,
    original_id: str,
    new_id: str,
    actor: str,
    queue: str,
    targets: list[str],
    args: list[Any],
    kwargs: dict[str, Any],
    request_id: str | None,
    requested_by: str,
    reason: str | None,
) -> None:
    """Record a replay on both rows: the new job ``queued`` (``replay_of`` the original),
    the original ``replayed`` (``replayed_as`` the new one), each with who, when and why."""
    conn.execute(
        "INSERT INTO jobs (id, actor, queue, targets, args, kwargs, request_id, replay_of,"
        " replay_requested_by, replay_requested_at, replay_reason)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), %s)",
        [
            new_id,
            actor,
            queue,
            targets,
            Jsonb(args),
            Jsonb(kwargs),
            request_id,
            original_id,
            requested_by,
            reason,
        ],
    )
    conn.execute(
        "UPDATE jobs SET status = 'replayed', replayed_as = %s, replay_requested_by = %s,"
        " replay_requested_at = now(), replay_reason = %s WHERE id = %s",
        [new_id, requested_by, reason, original_id],
    )
    log_event(
        conn,
        "info",
        f"replayed as job {new_id} at the request of {requested_by}"
        + (f": {reason}" if reason else ""),
        job_id=original_id,
    )


def replay_candidates(
    conn: psycopg.Connection,
    *,
    status: str,
    actor: str | None = None,
    target: str | None = None,
    since: timedelta | None = None,
    limit: int = 100,
) -> list[str]:
    """Ids of the jobs a replay by filter takes, oldest first: ``dead``, or ``failed``
    (which includes ``partial``, as in :func:`list_jobs`), enqueued within ``since``."""
    where, params = _filters(status, actor, target, since)
    rows = conn.execute(
        f"SELECT id FROM jobs WHERE {' AND '.join(where)} ORDER BY enqueued_at, id LIMIT %s",
        [*params, limit],
    ).fetchall()
    return [row["id"] for row in rows]


def recent_failures(
    conn: psycopg.Connection, *, since: Any = None, limit: int = 10_000
) -> list[dict[str, Any]]:
    """Open failures, newest first: jobs that failed or are dead (not replayed since), and
    targets whose last reconcile failed; each as ``job_id``, ``actor``, ``error``, ``at``."""
    window = "AND finished_at >= now() - %(since)s" if since is not None else ""
    failed_window = "AND f.failed_at >= now() - %(since)s" if since is not None else ""
    return conn.execute(
        "(SELECT id AS job_id, actor, error, finished_at AS at FROM jobs"
        " WHERE status IN ('failed', 'dead') AND error IS NOT NULL"
        f" AND finished_at IS NOT NULL {window}"
        " ORDER BY finished_at DESC LIMIT %(limit)s)"
        " UNION ALL"
        " (SELECT f.job_id, COALESCE(j.actor, 'reconcile') AS actor,"
        " f.target || ': ' || f.error AS error, f.failed_at AS at"
        " FROM target_failures f LEFT JOIN jobs j ON j.id = f.job_id"
        f" WHERE true {failed_window} ORDER BY f.failed_at DESC LIMIT %(limit)s)",
        {"since": since, "limit": limit},
    ).fetchall()


def statuses(conn: psycopg.Connection, job_ids: list[str]) -> dict[str, str]:
    """job id -> its status, for the ids that have a row."""
    rows = conn.execute("SELECT id, status FROM jobs WHERE id = ANY(%s)", [job_ids]).fetchall()
    return {row["id"]: row["status"] for row in rows}


def last_successes(conn: psycopg.Connection, actors: list[str]) -> dict[str, float]:
    """actor -> when its latest succeeded job finished (unix seconds), for the ``actors``
    that ever succeeded. One index probe per actor (the latest enqueued success), not a
    scan of its whole history."""
    rows = conn.execute(
        "SELECT a.actor, extract(epoch FROM j.finished_at) AS finished FROM unnest(%s::text[])"
        " AS a(actor) CROSS JOIN LATERAL (SELECT finished_at FROM jobs WHERE actor = a.actor"
        " AND status = 'succeeded' ORDER BY enqueued_at DESC LIMIT 1) j",
        [actors],
    ).fetchall()
    return {row["actor"]: float(row["finished"]) for row in rows if row["finished"] is not None}
