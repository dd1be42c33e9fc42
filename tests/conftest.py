"""Fixtures: a real Postgres database per session, brokers (stub and real RabbitMQ) with a
started worker, and a Zabbix API client for each of 6.0 and 7.0 that can be reset.

Everything points at loopback. The Zabbix frontends come from deploy/dev/zabbix.sh.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

# The nzc commands the tests run read what the tests give them, never the project's .env
# (which `make` writes for people; tests/integration/test_readme.py gives one of its own).
os.environ["NZC_ENV_FILE"] = ""

# The service's own modules (and Dramatiq, pika) are imported by the fixtures that use
# them, so that the unit tests of pure functions start without them.

#: Postgres role with CREATEDB, made by deploy/dev/services.sh.
ADMIN_URL = os.environ.get(
    "NZC_TEST_ADMIN_DATABASE_URL", "postgresql://nzc:nzc@127.0.0.1:5432/postgres"
)
#: RabbitMQ vhost of the tests, so a running `make run` worker never takes their messages.
TEST_BROKER_URL = os.environ.get(
    "NZC_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/nzc-test"
)
ZABBIX_HOME = Path(os.environ.get("NZC_ZABBIX_HOME", "/opt/nzc-zabbix"))
#: Zabbix version -> (port, database), as deploy/dev/zabbix.sh sets them up.
ZABBIX_VERSIONS = {"6.0": (8060, "nzc_zabbix60"), "7.0": (8070, "nzc_zabbix70")}
#: Versions tested against the strict stand-in (tests/zabbix_standin.py) in front of the
#: real 7.0: version -> what apiinfo.version answers.
STANDIN_VERSIONS = {"7.2": "7.2.0", "7.4": "7.4.0"}
_standins: dict = {}
#: Zabbix's own databases are reset as their owner through the postgres superuser socket.
ZABBIX_ADMIN_URL = os.environ.get(
    "NZC_TEST_ZABBIX_ADMIN_URL", "postgresql://nzc_zabbix:nzc_zabbix@127.0.0.1:5432/postgres"
)


def closed_port() -> int:
    """A loopback port nothing listens on (a service that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def real_version(version: str) -> str:
    """The real frontend behind ``version`` (a stand-in fronts 7.0)."""
    return "7.0" if version in STANDIN_VERSIONS else version


def zabbix_url(version: str) -> str:
    if version in STANDIN_VERSIONS:
        if version not in _standins:
            from tests.zabbix_standin import StandIn

            _standins[version] = StandIn(zabbix_url("7.0"), STANDIN_VERSIONS[version])
        return _standins[version].url
    return f"http://127.0.0.1:{ZABBIX_VERSIONS[version][0]}/api_jsonrpc.php"


def zabbix_token(version: str) -> str:
    return (ZABBIX_HOME / real_version(version) / "api_token").read_text().strip()


@contextmanager
def fresh_database(prefix: str = "nzc_test") -> Iterator[str]:
    """A new, migrated database (its URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    from handlers.gateways.postgres import migrate

    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def database_url():
    """A fresh, migrated database for the test session, dropped at the end."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def db(database_url):
    """An autocommit connection to the test database, for arranging and observing rows."""
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        yield conn


def make_env(database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "NZC_DATABASE_URL": database_url,
        "NZC_BROKER_URL": TEST_BROKER_URL,
        "NZC_ZABBIX_URL": zabbix_url("7.0"),
        "NZC_ZABBIX_TOKEN": zabbix_token("7.0"),
        "NZC_WEBHOOK_SECRET": "test-secret",
        "NZC_LOG_LEVEL": "INFO",
    }
    env.update(overrides)
    return env


@pytest.fixture
def config(database_url):
    from handlers.config import load_config

    return load_config(make_env(database_url))


@pytest.fixture
def stub_runtime(config):
    """The process wired with a StubBroker (no RabbitMQ): for unit-level job tests."""
    from consumer.wiring import setup
    from handlers.runtime import set_runtime

    runtime = setup(config, stub=True)
    yield runtime
    runtime.store.close()
    set_runtime(None)


@pytest.fixture
def rabbit_runtime(config):
    """The process wired with the real RabbitMQ (test vhost), queues emptied first."""
    from consumer.wiring import setup
    from handlers.runtime import set_runtime

    runtime = setup(config)
    runtime.broker.flush_all()
    yield runtime
    runtime.broker.flush_all()
    runtime.broker.close()
    runtime.store.close()
    set_runtime(None)


@pytest.fixture
def start_worker():
    """Start a Dramatiq worker on a broker (after the test declared its actors)."""
    import dramatiq

    workers = []

    def start(broker, threads: int = 4, queues=None):
        worker = dramatiq.Worker(broker, queues=queues, worker_threads=threads, worker_timeout=50)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def reset_zabbix(version: str) -> None:
    """Give Zabbix ``version`` its pristine database back (a few hundred milliseconds)."""
    db_name = ZABBIX_VERSIONS[real_version(version)][1]
    with psycopg.connect(ZABBIX_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name} TEMPLATE {db_name}_pristine")


@pytest.fixture(
    params=[*sorted(ZABBIX_VERSIONS), *sorted(STANDIN_VERSIONS)],
    ids=lambda v: f"zabbix{v}" + ("-standin" if v in STANDIN_VERSIONS else ""),
)
def zabbix_version(request):
    """Each Zabbix version the service supports: real 6.0 and 7.0, and 7.2 and 7.4 as the
    strict stand-in in front of 7.0."""
    return request.param


@pytest.fixture
def zabbix(zabbix_version):
    """A Zabbix gateway on a pristine Zabbix of each supported version."""
    from handlers.gateways.zabbix import ZabbixGateway

    reset_zabbix(zabbix_version)
    return ZabbixGateway(zabbix_url(zabbix_version), token=zabbix_token(zabbix_version))
