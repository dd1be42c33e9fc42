"""Helpers the benchmarks share: a scratch database, free ports, percentiles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from handlers.gateways.postgres import migrate

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


def bench_env(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's service processes: its own database, the bench vhost."""
    env = dict(
        os.environ,
        NZC_DATABASE_URL=database_url,
        NZC_BROKER_URL=BENCH_BROKER_URL,
        NZC_WEBHOOK_SECRET=secret,
        NZC_LOG_LEVEL="WARNING",
        **extra,
    )
    env.pop("NZC_WEBHOOK_INSECURE", None)
    return env


def start_web(env: dict[str, str], port: int, gunicorn_args: list[str]) -> subprocess.Popen:
    """gunicorn with 2 workers (as in the Procfile) on 127.0.0.1:``port``."""
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket"]
    cmd += ["--bind", f"127.0.0.1:{port}"]
    return subprocess.Popen([*cmd, *gunicorn_args, "consumer.app:create_app()"], env=env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]
