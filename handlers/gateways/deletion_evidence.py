"""The ``deletion_evidence`` table: proof that a NetBox object is gone, without which no
host is deleted (a signed ``deleted`` webhook, or the change-log record a full sync found
for the reconcile run it marks), kept until the host is deleted."""

from __future__ import annotations

import psycopg


def record(conn: psycopg.Connection, target: str, source: str, request_id: str | None) -> None:
    """Keep the evidence that ``target`` was deleted in NetBox."""
    record_many(conn, {target: request_id}, source)


def record_many(conn: psycopg.Connection, targets: dict[str, str | None], source: str) -> None:
    """Keep the evidence that each of ``targets`` (target -> NetBox request id) was deleted,
    in one statement, in target order (concurrent batches lock rows in one order)."""
    if not targets:
        return
    ordered = sorted(targets)
    conn.execute(
        "INSERT INTO deletion_evidence (target, source, request_id)"
        " SELECT t, %s, r FROM unnest(%s::text[], %s::text[]) AS e(t, r)"
        " ON CONFLICT (target) DO UPDATE SET source = EXCLUDED.source,"
        " request_id = EXCLUDED.request_id, recorded_at = now()",
        [source, ordered, [targets[t] for t in ordered]],
    )


def load(conn: psycopg.Connection, targets: list[str]) -> dict[str, str]:
    """target -> what proves it was deleted, for those of ``targets`` with evidence."""
    rows = conn.execute(
        "SELECT target, source FROM deletion_evidence WHERE target = ANY(%s)", [targets]
    ).fetchall()
    return {row["target"]: row["source"] for row in rows}


def forget(conn: psycopg.Connection, targets: list[str]) -> None:
    """The hosts are deleted: their evidence has served. Rows locked in target order, as
    :func:`record_many` takes them (a plain delete locks them in scan order)."""
    conn.execute(
        "DELETE FROM deletion_evidence d USING (SELECT target FROM deletion_evidence"
        " WHERE target = ANY(%s) ORDER BY target FOR UPDATE) e WHERE d.target = e.target",
        [targets],
    )
