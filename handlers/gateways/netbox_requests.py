"""The NetBox requests the service has seen (``netbox_requests``): each one's change log is
read once, whichever process sees its first webhook."""

from __future__ import annotations

from datetime import timedelta

import psycopg

#: How long a request is remembered: NetBox's webhooks of one request arrive within minutes,
#: even for a bulk edit of thousands delivered one at a time.
REMEMBER = timedelta(days=1)


def remember(conn: psycopg.Connection, request_ids: list[str]) -> list[str]:
    """Record ``request_ids``; those not seen before (to be read), in the order given. Part
    of the caller's transaction: if it rolls back, they count as unseen."""
    if not request_ids:
        return []
    rows = conn.execute(
        "INSERT INTO netbox_requests (request_id) SELECT unnest(%s::text[])"
        " ON CONFLICT (request_id) DO NOTHING RETURNING request_id",
        [sorted(set(request_ids))],
    ).fetchall()
    new = {row["request_id"] for row in rows}
    return [rid for rid in dict.fromkeys(request_ids) if rid in new]


def record_read(
    conn: psycopg.Connection,
    request_id: str,
    *,
    outcome: str,
    changes: int,
    targets: int,
    error: str | None = None,
) -> None:
    """What reading one request's change log gave."""
    conn.execute(
        "UPDATE netbox_requests SET read_at = now(), outcome = %s, changes = %s, targets = %s,"
        " error = %s WHERE request_id = %s",
        [outcome, changes, targets, error, request_id],
    )


def purge(conn: psycopg.Connection) -> int:
    """Forget requests older than :data:`REMEMBER`; how many."""
    return conn.execute(
        "DELETE FROM netbox_requests WHERE seen_at < now() - %s", [REMEMBER]
    ).rowcount
