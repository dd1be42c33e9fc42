"""The foundation on the real services: migrations, health, the ping round trip, Zabbix."""

import psycopg
import pytest

from consumer.app import create_app
from handlers.config import load_config
from handlers.gateways.postgres import migrate, migration_files
from tests.conftest import (
    STANDIN_VERSIONS,
    closed_port,
    make_env,
    reset_zabbix,
    zabbix_token,
    zabbix_url,
)
from tests.waiting import job_in

pytestmark = pytest.mark.integration


def test_migrate_records_every_migration_and_a_second_run_applies_nothing(database_url, db):
    versions = [row["version"] for row in db.execute("SELECT version FROM schema_migrations")]
    assert versions == [version for version, _ in migration_files()]
    assert migrate(database_url) == []
    assert db.execute("SELECT count(*) AS n FROM settings").fetchone()["n"] == 1


def test_a_failing_migration_leaves_nothing_behind(tmp_path, database_url, monkeypatch):
    import handlers.gateways.postgres as store

    good = migration_files()
    monkeypatch.setattr(
        store,
        "migration_files",
        lambda: [*good, ("9999_broken", "CREATE TABLE half_made (id int); SELECT * FROM nope;")],
    )
    with pytest.raises(psycopg.errors.UndefinedTable):
        migrate(database_url)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT to_regclass('half_made')").fetchone()[0] is None
        recorded = conn.execute(
            "SELECT count(*) FROM schema_migrations WHERE version = '9999_broken'"
        ).fetchone()[0]
    assert recorded == 0


def test_a_session_idle_in_a_transaction_is_ended_by_postgres_after_the_timeout(database_url):
    """The pool's sessions carry NZC_DATABASE_IDLE_TIMEOUT_S: Postgres ends one left idle in a
    transaction (a process gone without closing it), rolling back and freeing its locks."""
    from consumer.wiring import setup
    from handlers.gateways.postgres import Store
    from handlers.runtime import set_runtime

    store = Store(database_url, idle_timeout_s=1)
    ended = None
    try:
        with store.connection() as conn:
            # One statement: the timer starts when the transaction does.
            setting = conn.execute(
                "SELECT current_setting('idle_in_transaction_session_timeout') AS timeout,"
                " pg_advisory_xact_lock(4242)"
            ).fetchone()["timeout"]
            with psycopg.connect(database_url, autocommit=True) as other:
                # Granted once Postgres ended the idle session: observed, not timed.
                other.execute("SELECT pg_advisory_lock(4242)")
                other.execute("SELECT pg_advisory_unlock(4242)")
            try:
                conn.execute("SELECT 1")
            except psycopg.Error as exc:
                ended = exc
                raise
    except psycopg.Error:
        pass  # the pool gives the ended session up
    finally:
        store.close()
    assert setting == "1s"
    assert isinstance(ended, psycopg.errors.IdleInTransactionSessionTimeout), ended
    # Every process's pool gets the setting from its configuration.
    configured = setup(
        load_config(make_env(database_url, NZC_DATABASE_IDLE_TIMEOUT_S="30")), stub=True
    )
    try:
        assert configured.store.idle_timeout_s == 30
    finally:
        configured.store.close()
        set_runtime(None)


def test_healthz_answers_without_touching_services(stub_runtime):
    client = create_app(runtime=stub_runtime).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json() == {"status": "ok"}


def test_readyz_is_200_when_postgres_rabbitmq_and_zabbix_answer(stub_runtime):
    resp = create_app(runtime=stub_runtime).test_client().get("/readyz")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["status"] == "ready"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "postgres": True,
        "rabbitmq": True,
        "zabbix": True,
    }


def test_readyz_is_503_naming_rabbitmq_when_the_broker_port_is_closed(database_url):
    from consumer.wiring import setup

    port = closed_port()
    config = load_config(
        make_env(database_url, NZC_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{port}/%2F")
    )
    runtime = setup(config, stub=True)
    try:
        resp = create_app(runtime=runtime).test_client().get("/readyz")
    finally:
        runtime.store.close()
    body = resp.get_json()
    assert resp.status_code == 503
    assert body["failing"] == ["rabbitmq"]
    assert str(port) in body["checks"]["rabbitmq"]["error"]
    assert "guest:guest" not in body["checks"]["rabbitmq"]["error"]


def test_readyz_names_every_service_that_is_down(database_url):
    from consumer.wiring import setup

    config = load_config(
        make_env(
            database_url,
            NZC_DATABASE_URL=f"postgresql://nzc:nzc@127.0.0.1:{closed_port()}/nzc",
            NZC_ZABBIX_URL=f"http://127.0.0.1:{closed_port()}/api_jsonrpc.php",
        )
    )
    runtime = setup(config, stub=True)
    resp = create_app(runtime=runtime).test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["failing"] == ["postgres", "zabbix"]


def test_ping_is_processed_by_a_worker_through_real_rabbitmq(rabbit_runtime, start_worker, db):
    from handlers.actors import ping

    start_worker(rabbit_runtime.broker)
    message = ping.send("round-trip")
    job = job_in(db, message.message_id, {"succeeded"})
    assert job["result"] == {"pong": "round-trip"}
    assert job["queue"] == "nzc-system"
    assert job["started_at"] <= job["finished_at"]
    events = db.execute(
        "SELECT message FROM event_log WHERE job_id = %s ORDER BY id", [message.message_id]
    ).fetchall()
    assert [e["message"] for e in events] == ["pong", "ping succeeded"]


def test_zabbix_gateway_reads_the_version_and_counts_calls(zabbix, zabbix_version):
    assert zabbix.version == tuple(int(p) for p in zabbix_version.split("."))
    assert zabbix.dialect.version == zabbix.version
    groups = zabbix.call(
        "hostgroup.get", {"output": ["name"], "filter": {"name": ["Zabbix servers"]}}
    )
    assert [g["name"] for g in groups] == ["Zabbix servers"]
    assert zabbix.calls["hostgroup.get"] == 1


def test_reset_zabbix_removes_what_a_test_created(zabbix, zabbix_version):
    zabbix.call("hostgroup.create", {"name": "nzc reset probe"})
    assert zabbix.call("hostgroup.get", {"filter": {"name": ["nzc reset probe"]}})
    reset_zabbix(zabbix_version)
    assert zabbix.call("hostgroup.get", {"filter": {"name": ["nzc reset probe"]}}) == []


@pytest.mark.parametrize("version", sorted(STANDIN_VERSIONS))
def test_the_standin_answers_as_72_and_refuses_what_72_removed(version):
    """The stand-in is only worth its tests if it is strict: each removed parameter and the
    auth property are refused as Zabbix 7.2 refuses them; the rest reaches the real 7.0."""
    import requests
    from pyzabbix import ZabbixAPIException

    from handlers.gateways.zabbix import ZabbixGateway

    zbx = ZabbixGateway(zabbix_url(version), token=zabbix_token(version))
    assert zbx.version == tuple(int(p) for p in version.split("."))
    with pytest.raises(ZabbixAPIException, match='unexpected parameter "selectGroups"'):
        zbx.call("host.get", {"output": ["hostid"], "selectGroups": ["name"], "limit": 1})
    with pytest.raises(ZabbixAPIException, match='unexpected parameter "hostids"'):
        zbx.call("maintenance.create", {"name": "m", "hostids": ["1"]})
    assert zbx.call("host.get", {"output": ["hostid"], "selectHostGroups": ["name"], "limit": 1})
    body = {"jsonrpc": "2.0", "method": "host.get", "params": {}, "id": 1, "auth": "x"}
    answer = requests.post(zabbix_url(version), json=body, timeout=10).json()
    assert answer["error"]["data"] == 'Invalid parameter "/": unexpected parameter "auth".'
