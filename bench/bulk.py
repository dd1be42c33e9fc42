"""A bulk edit delivered as NetBox delivers it: the simulator (speaking NetBox 4.6) bulk-edits
N devices in one request and one sender sends their webhooks one at a time, 10 a second,
like NetBox's single RQ worker. Prints, with the change-log reads on (``changelog_reads``
= ``bulk``) and off, the time from the first webhook until all N hosts are changed in
Zabbix, and the Zabbix calls made.

    .venv/bin/python -m bench.bulk [-n 500] [--rate 10]

Web and worker run as the Procfile runs them, against a database, the nzc-bench RabbitMQ
vhost and a Zabbix 7.0 frontend of the bench's own (bench/common.py).
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg

from bench.common import (
    WEB_ARGS,
    free_port,
    header,
    job_process,
    private_zabbix,
    proc_status,
    scratch_database,
    start_web,
    start_worker,
    web_peak_mib,
    whole_path,
)
from bench.e2e import zabbix_calls
from bench.ingest import wait_ready
from bench.sync import stop
from handlers.gateways.zabbix import ZabbixGateway
from tests.conftest import zabbix_token
from tests.netbox_sim import SimServer

PREFIX = "bulk-"
#: The issue's target: all hosts within this many seconds of the first webhook.
TARGET_S = 3.0


def say(text: str) -> None:
    print(text, flush=True)


def hosts_with_status(zbx: ZabbixGateway, status: str) -> int:
    hosts = zbx.call("host.get", {"output": ["status"], "search": {"host": PREFIX}})
    return sum(h["status"] == status for h in hosts)


def wait_status(zbx: ZabbixGateway, status: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while hosts_with_status(zbx, status) < n:
        if time.monotonic() > deadline:
            sys.exit(f"timed out: {hosts_with_status(zbx, status)} of {n} hosts")
        time.sleep(0.1)


def writes(calls: dict[str, int]) -> int:
    return sum(n for m, n in calls.items() if m.endswith((".create", ".update", ".massupdate")))


def runs_between(database_url: str, since: object, until: object) -> str:
    """The reconcile runs that claimed targets in a period, in words."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT (result->>'claimed')::int, duration_ms FROM jobs WHERE actor = 'reconcile'"
            " AND started_at BETWEEN %s AND %s AND (result->>'claimed')::int > 0"
            " ORDER BY started_at",
            [since, until],
        ).fetchall()
    claimed = [r[0] for r in rows]
    took = sorted(r[1] for r in rows)
    largest = sorted(claimed, reverse=True)[:5]
    return (
        f"{len(rows)} reconcile runs claiming {sum(claimed)} targets (largest {largest}), "
        f"{took[len(took) // 2] if took else 0:.0f} ms each (median)"
    )


def now(database_url: str) -> object:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def one_bulk(
    sim: SimServer, zbx: ZabbixGateway, env: dict[str, str], ids: list[int], status: str
) -> tuple:
    """Bulk-edit the devices to ``status``; (seconds from the first webhook to all hosts
    changed, seconds to deliver every webhook, Zabbix calls until then, writes after, the
    reconcile runs until then)."""
    metrics, database_url = env["PROMETHEUS_MULTIPROC_DIR"], env["NZC_DATABASE_URL"]
    want = "1" if status == "offline" else "0"
    since = now(database_url)
    before = zabbix_calls(metrics)
    sim.sender.first_at = None
    sim.sim.bulk_update("device", ids, status=status)
    while sim.sender.first_at is None:
        time.sleep(0.01)
    wait_status(zbx, want, len(ids), timeout=len(ids) / sim.sender.rate + 120)
    done = time.monotonic() - sim.sender.first_at
    at_done = zabbix_calls(metrics)
    runs = runs_between(database_url, since, now(database_url))
    sim.sender.wait()
    delivered = time.monotonic() - sim.sender.first_at
    time.sleep(2)  # the last webhooks' runs (a bench, not a test: it reports, asserts nothing)
    after = zabbix_calls(metrics)
    calls = {m: at_done.get(m, 0) - before.get(m, 0) for m in at_done}
    later = writes(after) - writes(at_done)
    return done, delivered, {m: n for m, n in sorted(calls.items()) if n}, later, runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=500, help="devices in the bulk edit")
    parser.add_argument("--rate", type=float, default=10.0, help="webhooks a second")
    args = parser.parse_args()
    say(
        f"{header('bench.bulk')}; web, worker, Postgres, RabbitMQ, the simulator and "
        "Zabbix 7.0 all on this machine"
    )
    with scratch_database() as database_url, private_zabbix("7.0") as zabbix_url:
        sim, env = whole_path(database_url, zabbix_url, version="4.6")
        port = free_port()
        web = start_web(env, port, WEB_ARGS)
        worker = start_worker(env, threads=4)  # as the Procfile
        try:
            wait_ready(port)
            sim.sender.url = f"http://127.0.0.1:{port}/webhooks/netbox"
            zbx = ZabbixGateway(zabbix_url, token=zabbix_token("7.0"))
            ids = [
                sim.sim.create_device(f"{PREFIX}{i:04d}", ip=f"10.{i >> 8 & 255}.{i & 255}.1/8")
                for i in range(args.n)
            ]
            sim.sender.wait()
            wait_status(zbx, "0", args.n, timeout=300)
            sim.sender.rate = args.rate  # from now on, NetBox's one RQ worker's pace
            runs = {}
            for setting, status in (("bulk", "offline"), ("off", "active")):
                with psycopg.connect(database_url, autocommit=True) as conn:
                    conn.execute("UPDATE settings SET changelog_reads = %s", [setting])
                runs[setting] = one_bulk(sim, zbx, env, ids, status)
            worker_mib = proc_status(job_process(worker), "VmHWM") / 1024
            web_mib = web_peak_mib(web)
        finally:
            stop(worker)
            web.terminate()
            web.wait(10)
            sim.stop()
    say(f"bulk edit of {args.n} devices in one request; one sender, {args.rate:g} webhooks/s")
    for setting, label in (("bulk", "with the change-log read"), ("off", "webhooks alone")):
        done, delivered, calls, later, reconciles = runs[setting]
        say(
            f"{label}: all {args.n} hosts changed in Zabbix {done:.1f} s after the first "
            f"webhook (delivery took {delivered:.1f} s); Zabbix calls until then {calls}; "
            f"writes after: {later}; until then {reconciles}"
        )
    say(f"target: <= {TARGET_S:.0f} s with the change-log read")
    say(f"peak RSS: worker job process {worker_mib:.0f} MiB, web {web_mib:.0f} MiB")


if __name__ == "__main__":
    main()
