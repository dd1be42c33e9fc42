"""The Postgres gateway: a connection pool and the versioned migrations.

Only gateways talk to Postgres. Jobs get a connection (inside the runner's transaction)
and hand it to the query functions of the module that owns the table.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

log = logging.getLogger(__name__)

#: Advisory lock key (bigint) held while migrating, so two processes never migrate at once.
MIGRATION_LOCK_KEY = 0x6E7A635F6D6967  # "nzc_mig"

#: Connections per process at most: a job holds two at once (its transaction, and a short
#: side connection that records it running), so this covers 10 worker threads.
DEFAULT_POOL_SIZE = 20

#: Seconds to wait for a pooled connection before giving up.
POOL_TIMEOUT_S = 10.0


class Store:
    """A pool of Postgres connections that hand out rows as dicts.

    Parameters:
      conninfo: a PostgreSQL URL (``NZC_DATABASE_URL``).
      idle_timeout_s: Postgres ends a session of this pool that sits idle inside a
        transaction this long (``NZC_DATABASE_IDLE_TIMEOUT_S``); None leaves the server's
        setting.
      max_size: the most connections this process opens.

    The pool opens on first use, so building a ``Store`` does no I/O::

        store = Store("postgresql://nzc:nzc@127.0.0.1/nzc")
        with store.connection() as conn:
            conn.execute("SELECT 1")
    """

    def __init__(
        self,
        conninfo: str,
        *,
        max_size: int = DEFAULT_POOL_SIZE,
        idle_timeout_s: int | None = None,
    ) -> None:
        self.conninfo = conninfo
        self.idle_timeout_s = idle_timeout_s
        self._pool = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=max_size,
            kwargs={"row_factory": dict_row, "connect_timeout": 5},
            configure=self._configure if idle_timeout_s else None,
            timeout=POOL_TIMEOUT_S,
            open=False,
        )
        self._opened = False

    def _configure(self, conn: psycopg.Connection) -> None:
        # A process that vanished without closing its connection (its machine lost; also
        # seen on a SIGKILLed worker here) leaves its session idle in a transaction,
        # holding the job's locks until TCP gives up, hours later. Set per session, so it
        # needs session pooling if a pooler stands in front of Postgres.
        conn.execute(
            "SELECT set_config('idle_in_transaction_session_timeout', %s, false)",
            [f"{self.idle_timeout_s}s"],
        )
        conn.commit()

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        """A pooled connection; its work is committed on clean exit, rolled back on error.

        ``timeout``: seconds to wait for a connection (default :data:`POOL_TIMEOUT_S`);
        past it, ``psycopg_pool.PoolTimeout`` (an ``OperationalError``) is raised.
        """
        if not self._opened:
            self._pool.open(wait=False)
            self._opened = True
        with self._pool.connection(timeout=timeout) as conn:
            yield conn

    def close(self) -> None:
        if self._opened:
            self._pool.close()
            self._opened = False


def migration_files() -> list[tuple[str, str]]:
    """The shipped migrations as (version, sql), in order. Version is the file name's stem."""
    folder = resources.files("handlers") / "migrations"
    found = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in found]


def migrate(conninfo: str) -> list[str]:
    """Apply the migrations not yet recorded in ``schema_migrations``; return the new versions.

    Each migration runs in its own transaction with its record, so a failing one leaves
    nothing behind and the next run retries it. Safe to run from several processes.
    """
    applied_now: list[str] = []
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, sql in migration_files():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", [version])
                log.info("applied migration %s", version)
                applied_now.append(version)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
    return applied_now


def database_now(conn: psycopg.Connection) -> datetime:
    """The database's clock, which every timestamp in its tables comes from (within a
    transaction, the time it began)."""
    return conn.execute("SELECT now() AS t").fetchone()["t"]


def read_only(conn: psycopg.Connection) -> None:
    """Make the caller's transaction read only: Postgres refuses any write in it."""
    conn.execute("SET TRANSACTION READ ONLY")
