"""Fixtures shared by the integration tests that drive the whole service."""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import BaseWSGIServer

from consumer.app import create_app
from consumer.state import app_state
from consumer.wiring import setup
from handlers.config import load_config
from handlers.runtime import set_runtime
from tests.conftest import make_env, zabbix_token, zabbix_url
from tests.netbox_sim import SimServer
from tests.waiting import wait_for

TOKEN = "0123456789abcdef0123456789abcdef01234567"

#: Job statuses after which nothing more happens to a job (a failed one is retried; a
#: replayed one lives on as its replay).
FINAL = ("succeeded", "partial", "dead", "replayed")


@dataclass
class Stack:
    """The running service; unpacks as ``sim, runtime, zabbix``. ``env`` configures a CLI
    run against it."""

    sim: Any
    runtime: Any
    zabbix: Any
    env: dict[str, str]
    db: Any
    #: Database time when the stack started: job rows from earlier tests are older.
    since: Any
    _start_worker: Any = None
    workers: list = field(default_factory=list)

    def __iter__(self):
        return iter((self.sim, self.runtime, self.zabbix))

    def start_worker(self, queues=None):
        """Start a worker on ``queues`` (a set of queue names; all when None)."""
        worker = self._start_worker(self.runtime.broker, queues=queues)
        self.workers.append(worker)
        return worker

    def hold(self):
        """Stop every worker: messages wait in RabbitMQ until one starts again."""
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def busy(self):
        """What still moves: webhooks not yet answered, jobs not final, dirty targets."""
        jobs = self.db.execute(
            "SELECT count(*) AS n FROM jobs WHERE enqueued_at >= %s AND status <> ALL(%s)",
            [self.since, list(FINAL)],
        ).fetchone()["n"]
        dirty = self.db.execute("SELECT count(*) AS n FROM dirty_targets").fetchone()["n"]
        return {"jobs": jobs, "dirty_targets": dirty} if jobs or dirty else None

    def settle(self, timeout=60.0):
        """Wait until the simulator has delivered every webhook and the service has done
        all the work they caused: every job final, no target dirty."""
        self.sim.sender.wait()
        wait_for(lambda: self.busy() is None, "the service to settle", timeout)

    def runs_for(self, target):
        """Succeeded reconcile runs that claimed ``target``, oldest first."""
        return self.db.execute(
            "SELECT * FROM jobs WHERE actor = 'reconcile' AND status = 'succeeded'"
            " AND %s = ANY(targets) AND enqueued_at >= %s ORDER BY finished_at",
            [target, self.since],
        ).fetchall()


class PooledWSGIServer(BaseWSGIServer):
    """werkzeug's server with a fixed pool of threads, as gunicorn's gthread worker has:
    a thread per request would open a RabbitMQ connection per webhook (Dramatiq keeps one
    per thread), and a few thousand webhooks exhaust RabbitMQ's file descriptors."""

    def __init__(self, app: Any, threads: int = 8) -> None:
        super().__init__("127.0.0.1", 0, app)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="nzc-test-web")

    def process_request(self, request: Any, client_address: Any) -> None:
        self._pool.submit(self._serve, request, client_address)

    def _serve(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 -- as socketserver does: report, go on
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self._pool.shutdown(wait=False)


@pytest.fixture
def stack_env():
    """Extra ``NZC_*`` variables of the stack (override it, e.g. with parametrize)."""
    return {}


@pytest.fixture
def stack(zabbix, zabbix_version, database_url, db, start_worker, stack_env):
    """Simulator -> web (real HTTP) -> RabbitMQ -> worker -> Zabbix ``zabbix_version``."""
    for table in ("host_configs", "dirty_targets", "target_failures", "deletion_evidence"):
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE reconcile_state SET pending = false")
    settings_before = db.execute("SELECT delete_mode FROM settings").fetchone()
    token = stack_env.get("NZC_NETBOX_TOKEN", TOKEN)
    sim = SimServer(token=token, webhook_secret=stack_env.get("NZC_WEBHOOK_SECRET", "test-secret"))
    env = make_env(
        database_url,
        **{
            "NZC_ZABBIX_URL": zabbix_url(zabbix_version),
            "NZC_ZABBIX_TOKEN": zabbix_token(zabbix_version),
            "NZC_NETBOX_URL": sim.url,
            "NZC_NETBOX_TOKEN": token,
            **stack_env,
        },
    )
    runtime = setup(load_config(env))
    runtime.broker.flush_all()
    app = create_app(runtime=runtime, start_relay=False)
    web = PooledWSGIServer(app)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    sim.sender.url = f"http://127.0.0.1:{web.server_port}/webhooks/netbox"
    sim.start()
    since = db.execute("SELECT clock_timestamp() AS t").fetchone()["t"]
    stack = Stack(sim, runtime, zabbix, env, db, since, start_worker)
    stack.start_worker()
    yield stack
    web.shutdown()
    web.server_close()
    app_state(app).close()
    sim.stop()
    stack.hold()
    db.execute("UPDATE settings SET delete_mode = %s", [settings_before["delete_mode"]])
    runtime.broker.flush_all()
    runtime.broker.close()
    runtime.store.close()
    set_runtime(None)
