"""What is lost when things break (nothing): faults of the tests' own making on the real
services, through the proxies of tests/faults.py. Each scenario prints its figure (sent,
accepted, in Zabbix, duplicates, lost) and asserts that nothing is lost or duplicated.

The machine's own services are never stopped: the service under test reaches Postgres
through a proxy the test cuts.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.faults import CuttableProxy
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
#: The scenarios through the whole stack run on one Zabbix: the faults are not its version's.
ON_70 = pytest.mark.parametrize("zabbix_version", ["7.0"])

#: Seconds the Postgres cut lasts (the scenario's R6), at least: it ends once every webhook
#: sent during it was answered.
PG_CUT_S = 10


@pytest.fixture
def pg_proxy():
    proxy = CuttableProxy(("127.0.0.1", 5432)).start()
    yield proxy
    proxy.close()


@pytest.fixture
def zabbix_proxy():
    from tests.conftest import ZABBIX_VERSIONS

    proxy = CuttableProxy(("127.0.0.1", ZABBIX_VERSIONS["7.0"][0])).start()
    yield proxy
    proxy.close()


@pytest.fixture
def netbox_proxy():
    """In front of the simulator, which the stack starts on a port of its own: the test
    names it as the upstream once the stack is up."""
    from tests.conftest import closed_port

    proxy = CuttableProxy(("127.0.0.1", closed_port())).start()
    yield proxy
    proxy.close()


@pytest.fixture
def stack_env(request, database_url):
    """The service reaches Postgres (default) or Zabbix (``"zabbix"``, by indirect
    parametrize) through a proxy; the test observes both directly. Retries start at 2 s: at
    Dramatiq's jitter, eight of them outlast the longest cut here."""
    if getattr(request, "param", "postgres") == "netbox":
        proxy = request.getfixturevalue("netbox_proxy")
        return {"NZC_NETBOX_URL": f"http://127.0.0.1:{proxy.port}"}
    if getattr(request, "param", "postgres") == "zabbix":
        proxy = request.getfixturevalue("zabbix_proxy")
        return {
            "NZC_ZABBIX_URL": f"http://127.0.0.1:{proxy.port}/api_jsonrpc.php",
            "NZC_JOB_MIN_BACKOFF_MS": "2000",
        }
    proxy = request.getfixturevalue("pg_proxy")
    head, _, tail = database_url.partition("@127.0.0.1:5432/")
    return {
        "NZC_DATABASE_URL": f"{head}@127.0.0.1:{proxy.port}/{tail}",
        "NZC_JOB_MIN_BACKOFF_MS": "2000",
    }


def create_devices(sim, prefix, count, net):
    """``count`` devices named ``<prefix>NN`` created in the simulator, their webhooks all
    delivered; how many were answered 202."""
    for n in range(count):
        sim.sim.create_device(f"{prefix}{n:02d}", ip=f"10.{net}.0.{n + 1}/24")
    sim.sender.wait()
    return sim.sender.statuses.get(202, 0)


def hosts_named(zabbix, prefix):
    hosts = zabbix.call("host.get", {"output": ["host"], "search": {"host": prefix}})
    return [h["host"] for h in hosts]


def converged(stack, prefix, names, timeout=240):
    """Once every name of ``names`` is a host in Zabbix and the service settled (every job
    final, nothing dirty): the hosts named ``prefix...``."""
    zabbix = stack.zabbix
    wait_for(
        lambda: set(names) <= set(hosts_named(zabbix, prefix)), "every host in Zabbix", timeout
    )
    stack.settle(timeout=timeout)
    return hosts_named(zabbix, prefix)


def duplicates_and_lost(seen, wanted):
    """(how many of ``seen`` are repeats, how many of ``wanted`` were never seen)."""
    return len(seen) - len(set(seen)), len(set(wanted) - set(seen))


def dead_lettered(stack):
    """Jobs dead-lettered since the stack started."""
    return stack.db.execute(
        "SELECT count(*) AS n FROM jobs WHERE status = 'dead' AND enqueued_at >= %s",
        [stack.since],
    ).fetchone()["n"]


@ON_70
def test_r6_postgres_cut_loses_nothing(stack, pg_proxy, db):
    """Postgres unreachable for the service for 10 s while devices are created: every
    webhook is still answered (RabbitMQ keeps it, unrecorded), the jobs fail and retry, and
    once Postgres is back every host exists once."""
    sim, _runtime, zabbix = stack
    pg_proxy.cut()
    cut_at = time.monotonic()
    sent = 10
    accepted = create_devices(sim, "r6-", sent, 66)
    # The fault lasts its ten seconds (the scenario), not a synchronisation point.
    time.sleep(max(0.0, PG_CUT_S - (time.monotonic() - cut_at)))
    pg_proxy.restore()
    names = [f"r6-{n:02d}" for n in range(sent)]
    found = converged(stack, "r6-", names, 180)
    duplicates, lost = duplicates_and_lost(found, names)
    print(
        f"R6 Postgres cut {PG_CUT_S} s: sent {sent} devices ({sum(sim.sender.statuses.values())}"
        f" webhooks), accepted {accepted}, in Zabbix {len(set(found))}, duplicates "
        f"{duplicates}, lost {lost}"
    )
    assert accepted == sum(sim.sender.statuses.values())  # every webhook answered 202
    assert (lost, duplicates) == (0, 0)


#: Seconds the Zabbix cut lasts (R3): jobs retry with backoff meanwhile, within their budget.
ZABBIX_CUT_S = 60


@ON_70
@pytest.mark.parametrize(
    "stack_env",
    [pytest.param("zabbix", id="via-zabbix-proxy")],
    indirect=True,
)
def test_r3_zabbix_cut_for_a_minute_converges_after(stack, zabbix_proxy, db):
    """Zabbix unreachable for 60 s while devices are created and renamed: /readyz says so,
    jobs retry with backoff and none is dead-lettered, and everything converges after."""
    from consumer.health import readiness

    sim, runtime, zabbix = stack
    before = [sim.sim.create_device(f"r3-{n:02d}", ip=f"10.67.0.{n + 1}/24") for n in range(3)]
    stack.settle(timeout=120)
    zabbix_proxy.cut()
    cut_at = time.monotonic()
    for n in range(3, 8):
        sim.sim.create_device(f"r3-{n:02d}", ip=f"10.67.0.{n + 1}/24")
    for n, device in enumerate(before):
        sim.sim.update_device(device, name=f"r3-renamed-{n}")
    sim.sender.wait()
    report, ready = readiness(runtime)
    assert not ready and not report["checks"]["zabbix"]["ok"], report
    # A job met the cut and will retry (its row says failed), before the cut ends.
    wait_for(
        lambda: db.execute(
            "SELECT count(*) AS n FROM jobs WHERE actor = 'reconcile' AND status = 'failed'"
            " AND enqueued_at >= %s",
            [stack.since],
        ).fetchone()["n"],
        "a reconcile run failing on the cut",
        timeout=ZABBIX_CUT_S,
    )
    time.sleep(max(0.0, ZABBIX_CUT_S - (time.monotonic() - cut_at)))  # the fault's length
    zabbix_proxy.restore()
    want = {f"r3-{n:02d}" for n in range(3, 8)} | {f"r3-renamed-{n}" for n in range(3)}
    found = converged(stack, "r3-", want, 240)
    dead = dead_lettered(stack)
    duplicates, lost = duplicates_and_lost(found, want)
    print(
        f"R3 Zabbix cut {ZABBIX_CUT_S} s: sent {len(want)} changes, in Zabbix "
        f"{len(want & set(found))}, dead-lettered {dead}, duplicates {duplicates}, lost {lost}"
    )
    assert (lost, duplicates, dead) == (0, 0, 0)
    assert set(found) == want  # the renamed hosts carry their new names only
    assert readiness(runtime)[1]


#: Seconds RabbitMQ is cut under the web edge (R2).
RABBIT_CUT_S = 30


def test_r2_rabbitmq_cut_under_the_web_edge_spools_in_order(database_url, db, start_worker):
    """RabbitMQ unreachable from a web process for 30 s during a burst: every webhook is
    answered 202 (spooled in Postgres), and once RabbitMQ is back the process's relay
    publishes them, which a worker then runs in the order they were accepted."""
    import json as jsonlib

    from consumer.app import create_app
    from consumer.state import app_state
    from consumer.wiring import setup
    from handlers.broker import QUEUE_EVENTS
    from handlers.config import load_config
    from handlers.runtime import set_runtime
    from tests.conftest import TEST_BROKER_URL, make_env
    from tests.webhook_shapes import sample, sign

    proxy = CuttableProxy(("127.0.0.1", 5672)).start()
    proxied = TEST_BROKER_URL.replace("127.0.0.1:5672", f"127.0.0.1:{proxy.port}")
    web_runtime = setup(load_config(make_env(database_url, NZC_BROKER_URL=proxied)))
    web_runtime.broker.flush_all()
    db.execute("DELETE FROM webhook_spool")
    app = create_app(runtime=web_runtime, start_relay=True)
    client = app.test_client()
    base = sample("07_device_updated.json")["body"]
    accepted = []
    try:
        proxy.cut()
        cut_at = time.monotonic()
        sent = 50
        for n in range(sent):
            body = {**base, "timestamp": f"2026-12-05T11:00:{n:02d}.000000+00:00"}
            body["data"] = {**base["data"], "id": 1000 + n}
            raw = jsonlib.dumps(body).encode()
            resp = client.post(
                "/webhooks/netbox",
                data=raw,
                headers={"X-Hook-Signature": sign(raw)},
                content_type="application/json",
            )
            assert resp.status_code == 202, resp.get_json()
            assert resp.get_json()["spooled"] is True
            accepted.append(resp.get_json()["message_id"])
        time.sleep(max(0.0, RABBIT_CUT_S - (time.monotonic() - cut_at)))  # the fault's length
        proxy.restore()
        wait_for(
            lambda: db.execute("SELECT count(*) = 0 AS empty FROM webhook_spool").fetchone()[
                "empty"
            ],
            "the relay to publish the spool",
            timeout=60,
        )
    finally:
        app_state(app).close()
        web_runtime.store.close()
        set_runtime(None)
        proxy.close()
    # A worker of its own (straight to RabbitMQ), one thread: it runs them in queue order.
    worker_runtime = setup(load_config(make_env(database_url)))
    try:
        start_worker(worker_runtime.broker, threads=1, queues={QUEUE_EVENTS})
        wait_for(
            lambda: (
                db.execute(
                    "SELECT count(*) AS n FROM jobs WHERE id = ANY(%s) AND status = 'succeeded'",
                    [accepted],
                ).fetchone()["n"]
                == sent
            ),
            "every spooled webhook run by the worker",
            timeout=120,
        )
        ran = [
            r["id"]
            for r in db.execute(
                "SELECT id FROM jobs WHERE id = ANY(%s) ORDER BY started_at", [accepted]
            )
        ]
    finally:
        worker_runtime.store.close()
        set_runtime(None)
    duplicates, lost = duplicates_and_lost(ran, accepted)
    print(
        f"R2 RabbitMQ cut {RABBIT_CUT_S} s: sent {sent}, accepted {len(accepted)} (spooled), "
        f"run by the worker {len(set(ran))}, in order {ran == accepted}, duplicates "
        f"{duplicates}, lost {lost}"
    )
    assert (lost, duplicates) == (0, 0)
    assert ran == accepted


#: Seconds each NetBox request is held back during R7, and how long NetBox stays slow.
NETBOX_LATENCY_S, NETBOX_SLOW_S = 2.0, 20


@ON_70
@pytest.mark.parametrize(
    "stack_env", [pytest.param("netbox", id="via-netbox-proxy")], indirect=True
)
def test_r7_a_slow_netbox_slows_the_jobs_only(stack, netbox_proxy, db):
    """NetBox answering each request 2 s late for 20 s while devices are created: every
    webhook is answered (the web edge never calls NetBox), the jobs wait for NetBox, and
    every host reaches Zabbix."""
    sim, _runtime, zabbix = stack
    netbox_proxy.upstream = ("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    netbox_proxy.slow(NETBOX_LATENCY_S)
    slow_at = time.monotonic()
    sent = 5
    answered = create_devices(sim, "r7-", sent, 68)
    # Jobs met the slow NetBox: a connection went through the proxy while it was slow.
    wait_for(lambda: netbox_proxy.accepted, "a job reading NetBox through the slow proxy")
    time.sleep(max(0.0, NETBOX_SLOW_S - (time.monotonic() - slow_at)))  # the fault's length
    netbox_proxy.restore()
    names = {f"r7-{n:02d}" for n in range(sent)}
    found = converged(stack, "r7-", names, 240)
    duplicates, lost = duplicates_and_lost(found, names)
    print(
        f"R7 NetBox {NETBOX_LATENCY_S:g} s late for {NETBOX_SLOW_S} s: sent {sent} devices "
        f"({sum(sim.sender.statuses.values())} webhooks), answered {answered}, in Zabbix "
        f"{len(set(found))}, duplicates {duplicates}, lost {lost}"
    )
    assert answered == sum(sim.sender.statuses.values())
    assert (lost, duplicates) == (0, 0)


def worker_process(env: dict[str, str], **extra: str) -> subprocess.Popen:
    """``dramatiq consumer.worker`` as the Procfile starts it, in a process group of its own
    (its supervisor and the forked process that runs the jobs)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "consumer.worker",
            "--processes",
            "1",
            "--threads",
            "4",
            "--queues",
            "nzc-events",
            "nzc-hosts",
            "nzc-system",
        ],
        env={**os.environ, **env, "NZC_ENV_FILE": "", "NZC_LOG_LEVEL": "WARNING", **extra},
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    proc.wait(timeout=60)


#: Devices created in R1's burst, webhooks delivered before Zabbix is held (the rest wait in
#: the simulator), and hosts in Zabbix by then.
R1_DEVICES, R1_FIRST_WEBHOOKS, R1_HOSTS_BEFORE = 500, 1000, 50
#: Seconds each Zabbix request is held while the kill is set up: longer than the test.
R1_HOLD_S = 3600
#: Seconds Postgres keeps the killed worker's sessions that stay open idle in a transaction
#: (NZC_DATABASE_IDLE_TIMEOUT_S): their locks hold the redelivered jobs until then.
R1_IDLE_S = "30"


@ON_70
@pytest.mark.parametrize(
    "stack_env", [pytest.param("zabbix", id="via-zabbix-proxy")], indirect=True
)
def test_r1_worker_killed_mid_burst_then_restarted(stack, zabbix_proxy, db):
    """The worker process killed (SIGKILL, no chance to clean up) inside a reconcile run,
    in the middle of a burst of 500 device creations, then started again: RabbitMQ delivers
    its unacknowledged messages again, those deliveries take over the killed attempts' rows
    and claims, and every host exists once; no job row stays running."""
    sim, _runtime, zabbix = stack
    stack.hold()  # this scenario's worker is a process of its own, killed for real
    worker = worker_process(stack.env, NZC_DATABASE_IDLE_TIMEOUT_S=R1_IDLE_S)
    restarted = None
    try:
        sim.sender.allow(R1_FIRST_WEBHOOKS)  # the burst's first half; the rest held back
        for n in range(R1_DEVICES):
            sim.sim.create_device(f"r1-{n:03d}", ip=f"10.{69 + n // 250}.{n % 250}.1/24")
        wait_for(
            lambda: len(hosts_named(zabbix, "r1-")) >= R1_HOSTS_BEFORE,
            "the first hosts in Zabbix",
            timeout=120,
        )
        # Zabbix holds every request of the worker from now on, so a run cannot end: the
        # kill lands inside one, whatever the machine's speed.
        zabbix_proxy.slow(R1_HOLD_S)
        sim.sender.allow(None)
        inside = wait_for(
            lambda: [
                r["id"]
                for r in db.execute(
                    "SELECT DISTINCT j.id FROM jobs j JOIN dirty_targets d"
                    " ON d.claimed_by = j.id::text WHERE j.actor = 'reconcile'"
                    " AND j.status = 'running' AND j.enqueued_at >= %s",
                    [stack.since],
                )
            ],
            "a reconcile run holding claims",
            timeout=120,
        )
        kill_group(worker, signal.SIGKILL)
        zabbix_proxy.restore()
        at_kill = len(hosts_named(zabbix, "r1-"))
        running = [
            r["id"]
            for r in db.execute(
                "SELECT id FROM jobs WHERE status = 'running' AND enqueued_at >= %s",
                [stack.since],
            )
        ]
        restarted = worker_process(stack.env, NZC_DATABASE_IDLE_TIMEOUT_S=R1_IDLE_S)
        names = {f"r1-{n:03d}" for n in range(R1_DEVICES)}
        found = converged(stack, "r1-", names, 300)
        resolved = {
            r["id"]: r["status"]
            for r in db.execute("SELECT id, status FROM jobs WHERE id = ANY(%s)", [running])
        }
        still_claimed = db.execute(
            "SELECT count(*) AS n FROM dirty_targets WHERE claimed_by = ANY(%s::text[])",
            [[str(i) for i in inside]],
        ).fetchone()["n"]
    finally:
        for proc in (worker, restarted):
            if proc is not None and proc.poll() is None:
                kill_group(proc, signal.SIGTERM)
    duplicates, lost = duplicates_and_lost(found, names)
    print(
        f"R1 worker SIGKILLed inside a reconcile run: sent {R1_DEVICES} devices "
        f"({sum(sim.sender.statuses.values())} webhooks), hosts at the kill {at_kill}, "
        f"jobs running at the kill {len(running)} ({len(inside)} reconcile holding claims), "
        f"after the restart {dict(sorted(Counter(resolved.values()).items()))}, in Zabbix "
        f"{len(set(found))}, duplicates {duplicates}, lost {lost}"
    )
    assert set(inside) <= set(running)  # the kill found them inside their run
    assert (lost, duplicates, still_claimed) == (0, 0, 0)
    # Every row the kill left running was taken over by its message's next delivery.
    assert set(resolved) == set(running)
    assert set(resolved.values()) <= {"succeeded", "partial"}


#: Seconds NetBox answers every request with a 500 during R7's second half.
NETBOX_FAILING_S = 20


@ON_70
@pytest.mark.parametrize(
    "stack_env", [pytest.param("netbox", id="via-netbox-proxy")], indirect=True
)
def test_r7_a_netbox_answering_500_for_a_while_loses_nothing(stack, netbox_proxy, db):
    """NetBox answering every request with a 500 for 20 s while devices are created: every
    webhook is answered (the web edge never calls NetBox), the jobs that read NetBox fail
    and retry, none is dead-lettered, and every host reaches Zabbix once NetBox is back."""
    sim, _runtime, zabbix = stack
    netbox_proxy.upstream = ("127.0.0.1", int(sim.url.rsplit(":", 1)[1]))
    netbox_proxy.fail(500)
    failing_at = time.monotonic()
    sent = 5
    answered = create_devices(sim, "r7f-", sent, 70)
    # A job met the failing NetBox and will retry (its row says failed, with the 500).
    wait_for(
        lambda: db.execute(
            "SELECT count(*) AS n FROM jobs WHERE status = 'failed' AND enqueued_at >= %s"
            " AND error LIKE '%%failing on purpose%%'",
            [stack.since],
        ).fetchone()["n"],
        "a job failing on NetBox's 500",
        timeout=NETBOX_FAILING_S * 3,
    )
    time.sleep(max(0.0, NETBOX_FAILING_S - (time.monotonic() - failing_at)))  # the fault
    netbox_proxy.restore()
    names = {f"r7f-{n:02d}" for n in range(sent)}
    found = converged(stack, "r7f-", names, 240)
    dead = dead_lettered(stack)
    duplicates, lost = duplicates_and_lost(found, names)
    print(
        f"R7 NetBox answering 500 for {NETBOX_FAILING_S} s: sent {sent} devices "
        f"({sum(sim.sender.statuses.values())} webhooks), answered {answered}, NetBox "
        f"requests answered 500 {netbox_proxy.failed}, in Zabbix {len(set(found))}, "
        f"dead-lettered {dead}, duplicates {duplicates}, lost {lost}"
    )
    assert answered == sum(sim.sender.statuses.values())
    assert netbox_proxy.failed > 0
    assert (lost, duplicates, dead) == (0, 0, 0)
