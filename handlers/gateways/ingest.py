"""Postgres side of webhook ingest: the web edge's connections, the spool and the counters
of ignored webhooks (the job row and its de-duplication: :mod:`handlers.gateways.job_records`).

Connections come from :class:`handlers.gateways.postgres.Store`, whose rows are dicts.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

#: Advisory lock key (bigint) of the spool relay: one relay drains at a time, in order.
RELAY_LOCK_KEY = 0x6E7A635F72656C  # "nzc_rel"


class IngestConnection:
    """One autocommit connection per web thread for
    :func:`handlers.gateways.job_records.record_webhook`: one round trip a webhook.

    Parameters:
      conninfo: the PostgreSQL URL.
      timeout: seconds to wait for a new connection.

    Its session does not wait for the WAL flush (``synchronous_commit = off``): the event's
    durable copy is the RabbitMQ message (publisher confirms) or the spool row (written
    through the pool, flushed); the rows written here are bookkeeping that the worker
    re-creates if a Postgres crash loses them. A broken connection is dropped and the next
    call reconnects.
    """

    def __init__(self, conninfo: str, timeout: float) -> None:
        self.conninfo = conninfo
        self.timeout = timeout
        self._local = threading.local()

    def get(self) -> psycopg.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = psycopg.connect(
                self.conninfo,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=max(1, round(self.timeout)),
            )
            conn.execute("SET synchronous_commit TO off")
            self._local.conn = conn
        return conn

    def discard(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()


def spool(conn: psycopg.Connection, message: dict[str, Any], error: str) -> None:
    """Keep a message the broker did not take; the relay publishes it later."""
    conn.execute(
        "INSERT INTO webhook_spool (message_id, message, last_error) VALUES (%s, %s, %s)"
        " ON CONFLICT (message_id) DO NOTHING",
        [message["message_id"], Jsonb(message), error],
    )


def spool_size(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) AS n FROM webhook_spool").fetchone()["n"]


def count_ignored(conn: psycopg.Connection, reason: str) -> None:
    conn.execute(
        "INSERT INTO webhook_counters (reason, count) VALUES (%s, 1) ON CONFLICT (reason)"
        " DO UPDATE SET count = webhook_counters.count + 1, last_seen = now()",
        [reason],
    )


def drain_spool(
    conn: psycopg.Connection, publish: Callable[[dict[str, Any]], None], batch: int = 500
) -> tuple[int, str | None]:
    """Publish spooled messages in arrival order, deleting each batch that was published.

    Runs in one transaction under the relay lock, so two relays never interleave. Stops at
    the first publish failure (the rest stays for the next run). Returns (published, error).
    """
    published = 0
    with conn.transaction():
        locked = conn.execute("SELECT pg_try_advisory_xact_lock(%s) AS ok", [RELAY_LOCK_KEY])
        if not locked.fetchone()["ok"]:
            return 0, None
        while True:
            rows = conn.execute(
                "SELECT id, message FROM webhook_spool ORDER BY id LIMIT %s", [batch]
            ).fetchall()
            if not rows:
                return published, None
            done: list[int] = []
            try:
                for row in rows:
                    publish(row["message"])
                    done.append(row["id"])
            except Exception as exc:  # noqa: BLE001 -- whatever the broker raised, stop here
                conn.execute("DELETE FROM webhook_spool WHERE id = ANY(%s)", [done])
                return published + len(done), f"{type(exc).__name__}: {exc}"
            conn.execute("DELETE FROM webhook_spool WHERE id = ANY(%s)", [done])
            published += len(done)
