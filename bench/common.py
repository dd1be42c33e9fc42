"""Helpers the benchmarks share: a scratch database, free ports, percentiles."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from handlers.store import migrate

ADMIN_URL = os.environ.get(
    "NZC_TEST_ADMIN_DATABASE_URL", "postgresql://nzc:nzc@127.0.0.1:5432/postgres"
)
BENCH_BROKER_URL = os.environ.get(
    "NZC_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/nzc-bench"
)


@contextmanager
def scratch_database() -> Iterator[str]:
    """A migrated database for one benchmark run, dropped afterwards."""
    name = f"nzc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]
