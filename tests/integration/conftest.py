"""Fixtures shared by the integration tests that drive the whole service."""

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from werkzeug.serving import make_server

from consumer.app import create_app
from consumer.config import load_config
from consumer.wiring import setup
from handlers.context import set_runtime
from tests.conftest import make_env, zabbix_token, zabbix_url
from tests.netbox_sim import SimServer

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@dataclass
class Stack:
    """The running service; unpacks as ``sim, runtime, zabbix``. ``env`` configures a CLI
    run against it."""

    sim: Any
    runtime: Any
    zabbix: Any
    env: dict[str, str]

    def __iter__(self):
        return iter((self.sim, self.runtime, self.zabbix))


@pytest.fixture
def stack(zabbix, zabbix_version, database_url, db, start_worker):
    """Simulator -> web (real HTTP) -> RabbitMQ -> worker -> Zabbix ``zabbix_version``."""
    for table in ("host_configs", "dirty_targets"):
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE reconcile_state SET pending = false")
    settings_before = db.execute("SELECT delete_mode FROM settings").fetchone()
    sim = SimServer(token=TOKEN, webhook_secret="test-secret")
    env = make_env(
        database_url,
        NZC_ZABBIX_URL=zabbix_url(zabbix_version),
        NZC_ZABBIX_TOKEN=zabbix_token(zabbix_version),
        NZC_NETBOX_URL=sim.url,
        NZC_NETBOX_TOKEN=TOKEN,
    )
    runtime = setup(load_config(env))
    runtime.broker.flush_all()
    web = make_server("127.0.0.1", 0, create_app(runtime=runtime, start_relay=False), threaded=True)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    sim.sender.url = f"http://127.0.0.1:{web.server_port}/webhooks/netbox"
    sim.start()
    worker = start_worker(runtime.broker)
    yield Stack(sim, runtime, zabbix, env)
    web.shutdown()
    sim.stop()
    worker.stop()
    db.execute("UPDATE settings SET delete_mode = %s", [settings_before["delete_mode"]])
    runtime.broker.flush_all()
    runtime.broker.close()
    runtime.store.close()
    set_runtime(None)
