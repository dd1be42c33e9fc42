"""The ``dirty_targets`` and ``reconcile_state`` tables: the queue that feeds reconcile runs.

An event marks its target dirty (one row per target, with a generation); a reconcile run
claims a batch with a committed lease and clears what it brought in line.
"""

from __future__ import annotations

import psycopg


def mark_dirty(conn: psycopg.Connection, target: str, reason: str, request_id: str | None) -> None:
    """Mark ``target`` for the next reconcile run; a target marked again moves its generation."""
    mark_many(conn, {target: reason}, request_id)


def mark_many(
    conn: psycopg.Connection, reasons: dict[str, str], request_id: str | None = None
) -> None:
    """Mark every target of ``reasons`` (target -> why) for the next reconcile run, in one
    statement; a target marked again moves its generation."""
    mark_each(conn, {target: (why, request_id) for target, why in reasons.items()})


def mark_each(conn: psycopg.Connection, marks: dict[str, tuple[str, str | None]]) -> None:
    """Mark every target of ``marks`` (target -> (why, NetBox request id)) in one statement,
    in target order (the order every marking statement takes its row locks in)."""
    if not marks:
        return
    targets = sorted(marks)
    conn.execute(
        "INSERT INTO dirty_targets (target, reason, request_id)"
        " SELECT t, r, q FROM unnest(%s::text[], %s::text[], %s::text[]) AS m(t, r, q)"
        " ON CONFLICT (target) DO UPDATE SET generation = dirty_targets.generation + 1,"
        " reason = EXCLUDED.reason, request_id = EXCLUDED.request_id, last_marked_at = now()",
        [targets, [marks[t][0] for t in targets], [marks[t][1] for t in targets]],
    )


#: Seconds after which a claim is treated as abandoned (its worker died): longer than the
#: reconcile actor's time limit (handlers.broker.TIME_LIMIT_MS), so a live run keeps it.
CLAIM_LEASE_S = 900


def claim_dirty(conn: psycopg.Connection, limit: int, job_id: str) -> dict[str, int]:
    """Claim up to ``limit`` dirty targets for run ``job_id`` (SKIP LOCKED: concurrent runs
    take disjoint sets); returns target -> generation. Call on its own connection, committed
    at once: the lease, not a row lock, keeps other runs off, so events marking these
    targets again do not wait for the run."""
    rows = conn.execute(
        "UPDATE dirty_targets d SET claimed_by = %s, claimed_at = now()"
        " FROM (SELECT target FROM dirty_targets"
        "       WHERE claimed_by IS NULL OR claimed_at < now() - make_interval(secs => %s)"
        "       ORDER BY first_marked_at, target LIMIT %s FOR UPDATE SKIP LOCKED) c"
        " WHERE d.target = c.target RETURNING d.target, d.generation",
        [job_id, CLAIM_LEASE_S, limit],
    ).fetchall()
    return {row["target"]: row["generation"] for row in rows}


def clear_dirty(conn: psycopg.Connection, claimed: dict[str, int], job_id: str) -> None:
    """Un-mark the claimed targets that were not marked again meanwhile; hand the others
    back for the next run. Their rows are locked first, in target order, as events mark
    them (:func:`mark_each`): the delete and the update would lock them in two scan orders,
    and a concurrent event deadlock with them."""
    targets = list(claimed)
    _lock_claims(conn, job_id)
    conn.execute(
        "DELETE FROM dirty_targets d USING unnest(%s::text[], %s::bigint[]) AS c(target, gen)"
        " WHERE d.target = c.target AND d.generation = c.gen AND d.claimed_by = %s",
        [targets, [claimed[t] for t in targets], job_id],
    )
    release_claims(conn, job_id)


def release_claims(conn: psycopg.Connection, job_id: str, *, skip_locked: bool = False) -> None:
    """Give back what run ``job_id`` still holds (it finished, or failed); in target order,
    as every statement that writes these rows takes its locks. ``skip_locked``: for a run
    that failed while its own transaction, still open, holds some of the rows; those stay
    claimed until its retry (same id) gives them back as it starts, or the lease ends."""
    conn.execute(
        "UPDATE dirty_targets d SET claimed_by = NULL, claimed_at = NULL"
        " FROM (SELECT target FROM dirty_targets WHERE claimed_by = %s"
        f"       ORDER BY target FOR UPDATE{' SKIP LOCKED' if skip_locked else ''}) c"
        " WHERE d.target = c.target",
        [job_id],
    )


def _lock_claims(conn: psycopg.Connection, job_id: str) -> None:
    conn.execute(
        "SELECT target FROM dirty_targets WHERE claimed_by = %s ORDER BY target FOR UPDATE",
        [job_id],
    )


#: Advisory lock (bigint) between events asking for a run (shared) and a run ending
#: (exclusive): a run's end sees every mark of an event that relied on it.
WAKE_LOCK_KEY = 0x6E7A635F77616B  # "nzc_wak"


def request_reconcile(conn: psycopg.Connection) -> bool:
    """Ask for a reconcile run; True when none was pending (the caller then sends one).
    Reads first: in a burst the run is already pending, and an UPDATE of this one row would
    make every event wait for the others' commits. The shared lock, held to the commit,
    makes a run's end (:func:`take_unclaimed`) wait for this event's mark."""
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", [WAKE_LOCK_KEY])
    if conn.execute("SELECT pending FROM reconcile_state WHERE id").fetchone()["pending"]:
        return False
    return (
        conn.execute(
            "UPDATE reconcile_state SET pending = true WHERE id AND NOT pending RETURNING id"
        ).fetchone()
        is not None
    )


def reconcile_started(conn: psycopg.Connection) -> None:
    """A run starts: events from now on ask for the next one."""
    conn.execute("UPDATE reconcile_state SET pending = false WHERE id")


def run_in_progress(conn: psycopg.Connection, busy_s: float) -> bool:
    """Whether a reconcile run holds claims taken within ``busy_s`` seconds."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM dirty_targets WHERE claimed_by IS NOT NULL"
        " AND claimed_at > now() - make_interval(secs => %s)) AS busy",
        [busy_s],
    ).fetchone()["busy"]


def take_unclaimed(conn: psycopg.Connection) -> bool:
    """A run ended: whether unclaimed dirty targets wait. If so a run is pending from now
    on (the caller sends it); if not, none is: a request held back while this run was in
    progress was served by it. Waits first for the events in flight that saw a run
    pending (their shared lock), so none of their marks is left without a run. Call on a
    connection of its own; it commits."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WAKE_LOCK_KEY])
        # What a run could claim (claim_dirty's rows): rows an open transaction is marking
        # are skipped, as their writer sends a run itself once it commits.
        waiting = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM dirty_targets WHERE claimed_by IS NULL"
            " OR claimed_at < now() - make_interval(secs => %s) FOR UPDATE SKIP LOCKED)"
            " AS waiting",
            [CLAIM_LEASE_S],
        ).fetchone()["waiting"]
        conn.execute("UPDATE reconcile_state SET pending = %s WHERE id", [waiting])
    return waiting


def clear_pending(conn: psycopg.Connection) -> None:
    """A run failed: no run is pending any more, so the next event sends one (rather than
    waiting for the failed run's retry). Call on a connection of its own; it commits."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [WAKE_LOCK_KEY])
        conn.execute("UPDATE reconcile_state SET pending = false WHERE id")


def backlog(conn: psycopg.Connection) -> tuple[int, float]:
    """(dirty targets not yet brought in line, claimed ones included; seconds since the
    oldest of them was first marked, 0 when there is none), for the metrics."""
    row = conn.execute(
        "SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(first_marked_at)), 0)"
        " AS age FROM dirty_targets"
    ).fetchone()
    return int(row["n"]), float(row["age"])
