"""The ``target_failures`` table: targets whose last reconcile failed, and why, until a
run brings them in line."""

from __future__ import annotations

from typing import Any

import psycopg


def record(conn: psycopg.Connection, job_id: str, failures: dict[str, str]) -> None:
    """Keep the error of each failed target (the newest wins)."""
    if failures:
        targets = list(failures)
        conn.execute(
            "INSERT INTO target_failures (target, job_id, error)"
            " SELECT t, %s, e FROM unnest(%s::text[], %s::text[]) AS f(t, e)"
            " ON CONFLICT (target) DO UPDATE SET job_id = EXCLUDED.job_id,"
            " error = EXCLUDED.error, failed_at = now()",
            [job_id, targets, [failures[t] for t in targets]],
        )


def clear(conn: psycopg.Connection, targets: list[str]) -> None:
    """These targets are in line now."""
    conn.execute("DELETE FROM target_failures WHERE target = ANY(%s)", [targets])


def load(conn: psycopg.Connection, targets: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """target -> its failure row, for ``targets`` (default: every failed target)."""
    if targets is None:
        rows = conn.execute("SELECT * FROM target_failures ORDER BY target").fetchall()
    else:
        rows = conn.execute(
            "SELECT * FROM target_failures WHERE target = ANY(%s) ORDER BY target", [targets]
        ).fetchall()
    return {row["target"]: row for row in rows}
