"""A lone change: the simulator renames devices at a steady rate (20 a second for 60 s by
default, each a real change), and the bench prints p50 / p99 / max of the time from each
webhook's arrival (its job row) to the write that carried it into Zabbix (the
UpdateZabbixHost entry of the reconcile run, written as Zabbix answered).

    .venv/bin/python -m bench.latency [--rate 20] [--seconds 60] [--devices 20]

Web runs under gunicorn and the worker as ``dramatiq consumer.worker``, as the Procfile
starts them, against a database of the bench's own, the nzc-bench RabbitMQ vhost and a
private Zabbix 7.0 frontend (bench/common.py), so the tests and a demo are not disturbed.
"""

from __future__ import annotations

import argparse
import sys
import time

import psycopg
from psycopg.rows import dict_row

from bench.common import (
    WEB_ARGS,
    free_port,
    header,
    job_process,
    percentile,
    private_zabbix,
    proc_status,
    scratch_database,
    start_web,
    start_worker,
    web_peak_mib,
    whole_path,
)
from bench.ingest import wait_ready
from bench.sync import stop
from handlers.gateways.zabbix import ZabbixGateway
from tests.conftest import zabbix_token

#: The issue's targets, milliseconds and MB.
TARGET_P50_MS, TARGET_P99_MS, TARGET_RSS_MB = 200, 1000, 150


def say(text: str) -> None:
    print(text, flush=True)


def names_in_zabbix(zbx: ZabbixGateway, names: list[str]) -> set[str]:
    found = zbx.call("host.get", {"output": ["host"], "filter": {"host": names}})
    return {h["host"] for h in found}


def wait_names(zbx: ZabbixGateway, names: list[str], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(names_in_zabbix(zbx, names)) < len(names):
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.2)


def latencies(database_url: str, since: object) -> list[float]:
    """Milliseconds from each device webhook's arrival to the first write of its target
    after it (several webhooks carried by one write each count)."""
    with psycopg.connect(database_url, row_factory=dict_row) as conn:
        arrivals = conn.execute(
            "SELECT enqueued_at, t AS target FROM jobs, unnest(targets) AS t"
            " WHERE actor = 'handle_events' AND enqueued_at >= %s AND t LIKE 'dcim.device:%%'"
            " ORDER BY enqueued_at",
            [since],
        ).fetchall()
        writes = conn.execute(
            "SELECT created_at, target FROM event_log WHERE created_at >= %s"
            " AND message LIKE '%%UpdateZabbixHost: updated%%' ORDER BY created_at",
            [since],
        ).fetchall()
        runs = conn.execute(
            "SELECT duration_ms, started_at - enqueued_at AS queued FROM jobs"
            " WHERE actor = 'reconcile' AND enqueued_at >= %s"
            " AND (result->>'claimed')::int > 0 ORDER BY duration_ms",
            [since],
        ).fetchall()
        events = conn.execute(
            "SELECT duration_ms, started_at - enqueued_at AS queued FROM jobs"
            " WHERE actor = 'handle_events' AND enqueued_at >= %s ORDER BY duration_ms",
            [since],
        ).fetchall()
    for what, rows in (("reconcile runs", runs), ("handle_events jobs", events)):
        took = [r["duration_ms"] for r in rows]
        waited = sorted(r["queued"].total_seconds() * 1000 for r in rows)
        say(
            f"{what}: {len(rows)}, p50 {percentile(took, 50):.0f} ms each, queued before "
            f"starting p50 {percentile(waited, 50):.0f} ms"
        )
    by_target: dict[str, list] = {}
    for row in writes:
        by_target.setdefault(row["target"], []).append(row["created_at"])
    found = []
    for row in arrivals:
        after = [t for t in by_target.get(row["target"], []) if t >= row["enqueued_at"]]
        if after:
            found.append((after[0] - row["enqueued_at"]).total_seconds() * 1000)
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=20.0, help="changes a second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--devices", type=int, default=20)
    args = parser.parse_args()
    say(
        f"{header('bench.latency')}; web, worker, Postgres, RabbitMQ, the simulator and "
        "Zabbix 7.0 all on this machine"
    )
    with scratch_database() as database_url, private_zabbix("7.0") as zabbix_url:
        sim, env = whole_path(database_url, zabbix_url, sender_threads=4)
        port = free_port()
        web = start_web(env, port, WEB_ARGS)
        worker = start_worker(env, threads=4)
        try:
            wait_ready(port)
            sim.sender.url = f"http://127.0.0.1:{port}/webhooks/netbox"
            probe = ZabbixGateway(zabbix_url, token=zabbix_token("7.0"))
            ids = [
                sim.sim.create_device(f"lat-{i:02d}-0", ip=f"10.77.0.{i + 1}/24")
                for i in range(args.devices)
            ]
            wait_names(probe, [f"lat-{i:02d}-0" for i in range(args.devices)], "the devices", 120)
            with psycopg.connect(database_url) as conn:
                since = conn.execute("SELECT clock_timestamp()").fetchone()[0]
            changes, last = int(args.rate * args.seconds), {}
            began = time.monotonic()
            for n in range(changes):
                # A steady rate, not a burst: each change at its own time.
                time.sleep(max(0.0, began + n / args.rate - time.monotonic()))
                i = n % args.devices
                last[i] = f"lat-{i:02d}-{n + 1}"
                sim.sim.update_device(ids[i], name=last[i])
            sent_s = time.monotonic() - began
            sim.sender.wait()
            wait_names(probe, list(last.values()), "the last names", 120)
            found = latencies(database_url, since)
            worker_mib = proc_status(job_process(worker), "VmHWM") / 1024
            web_mib = web_peak_mib(web)
        finally:
            stop(worker)
            web.terminate()
            web.wait(10)
            sim.stop()
    say(f"changes: {changes} in {sent_s:.1f} s ({changes / sent_s:.1f}/s), {len(found)} timed")
    say(
        f"webhook arrival -> write in Zabbix 7.0: p50 {percentile(found, 50):.0f} ms, "
        f"p99 {percentile(found, 99):.0f} ms, max {found[-1] if found else float('nan'):.0f} ms "
        f"(targets: p50 <= {TARGET_P50_MS} ms, p99 <= {TARGET_P99_MS} ms)"
    )
    say(
        f"peak RSS: worker job process {worker_mib:.0f} MiB (target <= {TARGET_RSS_MB} MB), "
        f"web {web_mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
