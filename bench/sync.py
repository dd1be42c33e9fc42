"""Full sync at scale: N devices in the NetBox simulator, a worker of the service and a
Zabbix 7.0 of the benchmark's own. One sync builds the starting point (every host created
by the ordinary reconcile runs); then a sync with nothing to do is measured (its time, the
Zabbix calls by method, the NetBox requests by path, the writes, the worker's peak RSS), and
last the healing of 1 % of the devices renamed in NetBox without a webhook.

    .venv/bin/python -m bench.sync [-n 10000] [--threads 8] [--drift 1]

Nothing the tests use is touched: Zabbix is a clone of the pristine 7.0 database behind a
php -S of its own (bench.common.private_zabbix), the service's database is a scratch one
and the broker the nzc-bench RabbitMQ vhost (deploy/dev/services.sh makes it). The worker
(``dramatiq consumer.worker``, one process) reaches Zabbix through a counting JSON-RPC proxy
in this process; the simulator runs here too and sends no webhooks. The measured syncs run
in a worker started after the build, so its peak RSS is the sync's, not the creation's.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from bench.common import (
    bench_env,
    job_process,
    private_zabbix,
    proc_status,
    scratch_database,
    start_worker,
)
from consumer.wiring import setup
from handlers.config import load_config
from handlers.gateways.zabbix import ZabbixGateway
from handlers.runtime import Runtime
from tests.conftest import zabbix_token
from tests.netbox_sim import SimServer

NETBOX_TOKEN = "0123456789abcdef0123456789abcdef01234567"
SECRET = "bench-secret"
PREFIX = "sync-"
#: Job statuses that do not change any more.
FINAL = ("succeeded", "partial", "dead", "replayed")
#: Zabbix API methods that change something; a sync with nothing to do calls none.
WRITE_SUFFIXES = (".create", ".update", ".delete", ".massadd", ".massupdate", ".massremove")
#: The targets: a full sync of 10,000 hosts in step.
TARGET_S, TARGET_CALLS, TARGET_RSS_MB, TARGET_HOSTS = 30, 25, 150, 10_000
#: The peer cron script's cost: one host.get per host, seconds each.
PEER_S_PER_HOST = 0.25


class CountingProxy:
    """A JSON-RPC proxy on a loopback port in front of ``upstream``, counting the calls that
    pass through by method (the worker's calls: its Zabbix counters live in its process).

    Parameters:
      upstream: the ``api_jsonrpc.php`` URL.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._local = threading.local()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one thread per worker connection

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                proxy._forward(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/api_jsonrpc.php"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def calls(self) -> Counter[str]:
        """The calls so far, by method."""
        with self._lock:
            return Counter(self._calls)

    def _forward(self, handler: BaseHTTPRequestHandler) -> None:
        raw = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        batch = request if isinstance(request, list) else [request]
        with self._lock:
            for call in batch:
                self._calls[call.get("method", "?") if isinstance(call, dict) else "?"] += 1
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() in ("content-type", "authorization")
        }
        session = getattr(self._local, "session", None) or requests.Session()
        self._local.session = session
        try:
            resp = session.post(self.upstream, data=raw, headers=headers, timeout=300)
            status, body = resp.status_code, resp.content
            kind = resp.headers.get("Content-Type", "application/json")
        except requests.RequestException as exc:
            status, body, kind = 502, str(exc).encode(), "text/plain"
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def fill(sim: SimServer, n: int) -> list[int]:
    """N devices, each with an interface and a primary IP, named and numbered as the
    simulator's control API makes them (``_create``)."""
    return [
        sim.sim.create_device(
            f"{PREFIX}{i:05d}", ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}/8"
        )
        for i in range(1, n + 1)
    ]


def wait_until(what: str, remaining: Callable[[], str | None], timeout: float, poll: float) -> None:
    """Poll ``remaining`` (None when done, else what is left) until done; exit after
    ``timeout`` seconds saying what was left."""
    deadline = time.monotonic() + timeout
    while (left := remaining()) is not None:
        if time.monotonic() > deadline:
            sys.exit(f"timed out after {timeout:.0f}s waiting for {what}: {left}")
        time.sleep(poll)


def backlog(runtime: Runtime) -> str | None:
    """What the service still has to do: dirty targets, jobs not final; None when idle."""
    with runtime.store.connection() as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM dirty_targets) AS dirty,"
            " (SELECT count(*) FROM jobs WHERE status <> ALL(%s)) AS open",
            [list(FINAL)],
        ).fetchone()
    if row["dirty"] or row["open"]:
        return f"{row['dirty']} dirty targets, {row['open']} jobs not finished"
    return None


def jobs_by_actor(runtime: Runtime) -> Counter[str]:
    with runtime.store.connection() as conn:
        rows = conn.execute("SELECT actor, count(*) AS n FROM jobs GROUP BY actor").fetchall()
    return Counter({r["actor"]: r["n"] for r in rows})


def failures(runtime: Runtime) -> int:
    with runtime.store.connection() as conn:
        return conn.execute("SELECT count(*) AS n FROM target_failures").fetchone()["n"]


def send(runtime: Runtime, actor: str, *args: Any) -> str:
    return runtime.broker.get_actor(actor).send(*args).message_id


def await_job(runtime: Runtime, job_id: str, timeout: float) -> dict[str, Any]:
    """The job row once final."""
    found: dict[str, Any] = {}

    def remaining() -> str | None:
        with runtime.store.connection() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = %s", [job_id]).fetchone()
        if row and row["status"] in FINAL:
            found.update(row)
            return None
        return f"job {job_id} is {row['status'] if row else 'not recorded'}"

    wait_until(f"job {job_id}", remaining, timeout, poll=0.05)
    return found


def count_hosts(zbx: ZabbixGateway, **query: Any) -> int:
    return int(zbx.call("host.get", {"countOutput": True, **query}))


def netbox_requests(sim: SimServer) -> Counter[str]:
    return Counter(requests.get(f"{sim.url}/_sim/stats/", timeout=10).json()["requests"])


def peak_rss(worker: subprocess.Popen) -> str:
    """The peak RSS of the job process so far, and of dramatiq's parent for comparison."""
    pid = job_process(worker)
    return (
        f"{proc_status(pid, 'VmHWM') / 1024:.0f} MiB (job process {pid}; dramatiq's parent "
        f"{proc_status(worker.pid, 'VmHWM') / 1024:.0f} MiB)"
    )


def stop(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(60)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait(10)


def writes(calls: Counter[str]) -> dict[str, int]:
    return {m: n for m, n in sorted(calls.items()) if m.endswith(WRITE_SUFFIXES)}


def delta(after: Counter[str], before: Counter[str]) -> dict[str, int]:
    return dict(sorted((after - before).items()))


def say(line: str) -> None:
    print(line, flush=True)


def missing(zbx: ZabbixGateway, wanted: int, **query: Any) -> str | None:
    """None when ``wanted`` hosts match ``query``, else how many do."""
    have = count_hosts(zbx, **query)
    return None if have == wanted else f"{have} of {wanted} hosts"


@dataclass
class Bench:
    """What the phases share.

    Parameters:
      runtime: this process wired to the bench database and vhost (it sends, never runs).
      env: the worker's environment.
      sim: the simulator, holding the devices.
      proxy: the counting proxy the worker calls Zabbix through.
      probe: a Zabbix client of the bench's own, around the proxy.
      threads: the worker's threads.
      timeout: seconds a phase may take at most.
    """

    runtime: Runtime
    env: dict[str, str]
    sim: SimServer
    proxy: CountingProxy
    probe: ZabbixGateway
    threads: int
    timeout: float

    def counters(self) -> tuple[Counter[str], Counter[str], Counter[str]]:
        """Zabbix calls, NetBox requests and jobs so far."""
        return self.proxy.calls(), netbox_requests(self.sim), jobs_by_actor(self.runtime)

    def report(
        self, before: tuple[Counter[str], Counter[str], Counter[str]], target: str = ""
    ) -> None:
        """Print the Zabbix calls (``target`` after their count), the NetBox requests and the
        jobs since ``before``."""
        zabbix, netbox, jobs = (delta(a, b) for a, b in zip(self.counters(), before, strict=True))
        say(f"  Zabbix calls: {sum(zabbix.values())}{target}, by method: {zabbix}")
        say(f"  Zabbix writes: {writes(Counter(zabbix)) or 'none'}")
        say(f"  NetBox requests by path: {netbox}")
        say(f"  jobs run: {jobs}")


def build(bench: Bench, n: int) -> None:
    """The starting point, made by the service: one sync marks every target for creation
    and the ordinary reconcile runs create the hosts."""
    worker = start_worker(bench.env, threads=bench.threads)
    try:
        before = bench.counters()
        began = time.perf_counter()
        sync_id = send(bench.runtime, "sync_hosts")
        wait_until(
            "the initial sync",
            lambda: (
                backlog(bench.runtime)
                or missing(bench.probe, n, search={"host": PREFIX}, startSearch=True)
            ),
            bench.timeout,
            poll=1.0,
        )
        built = time.perf_counter() - began
        row = await_job(bench.runtime, sync_id, 10)
        say(
            f"initial sync, all {n} hosts created: {built:.1f} s (sync job "
            f"{row['duration_ms'] / 1000:.1f} s, marked {row['result']['marked']}; "
            f"{failures(bench.runtime)} failed targets)"
        )
        bench.report(before)
        say(f"  worker peak RSS: {peak_rss(worker)}")
    finally:
        stop(worker)


def no_drift(bench: Bench, worker: subprocess.Popen, n: int) -> None:
    """A sync with nothing to do: its time, calls, requests, writes and the peak RSS."""
    before = bench.counters()
    row = await_job(bench.runtime, send(bench.runtime, "sync_hosts"), bench.timeout)
    wait_until("the no-drift sync to settle", lambda: backlog(bench.runtime), 60, poll=0.1)
    total = (row["finished_at"] - row["enqueued_at"]).total_seconds()
    say(
        f"no-drift full sync of {n} hosts: job {row['duration_ms'] / 1000:.1f} s, enqueue to "
        f"finish {total:.1f} s (target <= {TARGET_S} s for {TARGET_HOSTS:,} hosts)"
    )
    say(f"  result: {row['result']}")
    bench.report(before, f" (target <= {TARGET_CALLS})")
    say(f"  worker peak RSS: {peak_rss(worker)} (target <= {TARGET_RSS_MB} MB)")


def heal(bench: Bench, worker: subprocess.Popen, ids: list[int], drift: float) -> None:
    """Drift NetBox made without telling (no webhook): renamed devices, healed by a sync."""
    step = max(1, round(100 / drift))
    renamed = {
        device_id: f"{PREFIX}{number:05d}-renamed"
        for number, device_id in enumerate(ids, 1)
        if (number - 1) % step == 0
    }
    for device_id, name in renamed.items():
        bench.sim.sim.update_device(device_id, name=name)
    names = sorted(renamed.values())
    before = bench.counters()
    began = time.perf_counter()
    sync_id = send(bench.runtime, "sync_hosts")
    wait_until(
        "the renamed hosts to heal",
        lambda: backlog(bench.runtime) or missing(bench.probe, len(names), filter={"name": names}),
        bench.timeout,
        poll=0.1,
    )
    healed = time.perf_counter() - began
    row = await_job(bench.runtime, sync_id, 10)
    say(
        f"{len(names)} devices renamed without webhooks ({drift:g} %): healed after "
        f"{healed:.1f} s (sync job {row['duration_ms'] / 1000:.1f} s, marked "
        f"{row['result']['marked']}; {failures(bench.runtime)} failed targets)"
    )
    bench.report(before)
    say(f"  worker peak RSS: {peak_rss(worker)}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=TARGET_HOSTS, help="devices in the simulator")
    parser.add_argument("--threads", type=int, default=8, help="worker threads")
    parser.add_argument("--drift", type=float, default=1.0, help="%% of devices renamed")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per phase at most")
    args = parser.parse_args()
    if not 0 < args.drift <= 100:
        parser.error("--drift is a percentage of the devices, above 0 and at most 100")

    with scratch_database() as database_url, private_zabbix("7.0") as zabbix_url:
        token = zabbix_token("7.0")
        proxy = CountingProxy(zabbix_url)
        sim = SimServer(token=NETBOX_TOKEN, webhook_url=None).start()
        env = bench_env(
            database_url,
            SECRET,
            NZC_ZABBIX_URL=proxy.url,
            NZC_ZABBIX_TOKEN=token,
            NZC_NETBOX_URL=sim.url,
            NZC_NETBOX_TOKEN=NETBOX_TOKEN,
        )
        runtime = setup(load_config(env))
        runtime.broker.flush_all()
        probe = ZabbixGateway(zabbix_url, token=token)
        bench = Bench(runtime, env, sim, proxy, probe, args.threads, args.timeout)
        worker = None
        try:
            began = time.perf_counter()
            ids = fill(sim, args.n)
            say(f"devices in the simulator: {args.n} ({time.perf_counter() - began:.1f} s)")
            build(bench, args.n)
            # A fresh worker for the measured syncs: its peak RSS is theirs, not the
            # creation's. A ping proves it consumes before the clock starts.
            worker = start_worker(env, threads=args.threads)
            await_job(runtime, send(runtime, "ping", "ready"), 60)
            no_drift(bench, worker, args.n)
            heal(bench, worker, ids, args.drift)
        finally:
            if worker is not None:
                stop(worker)
            sim.stop()
            proxy.close()
            # This process's connection idles through each phase and RabbitMQ may have
            # dropped it (missed heartbeats): flush on a fresh one.
            del runtime.broker.connection
            runtime.broker.flush_all()
            runtime.broker.close()
            runtime.store.close()
    peer = TARGET_HOSTS * PEER_S_PER_HOST
    say(
        f"targets: {TARGET_HOSTS:,} hosts in step in <= {TARGET_S} s with <= {TARGET_CALLS} "
        f"Zabbix API calls, worker RSS <= {TARGET_RSS_MB} MB; the peer cron script makes one "
        f"host.get per host (~{PEER_S_PER_HOST} s each): ~{peer / 60:.0f} min for "
        f"{TARGET_HOSTS:,} hosts"
    )


if __name__ == "__main__":
    main()
