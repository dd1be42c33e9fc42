"""End to end: the simulator creates N devices as fast as the service accepts their webhooks;
prints the time until all N hosts exist in the local Zabbix 7.0, the Zabbix calls made by
method, and the floor: one direct ``host.create`` of the same N hosts.

    .venv/bin/python -m bench.e2e [-n 1000] [--senders 8]

Web runs under gunicorn and the worker as ``dramatiq consumer.worker`` (8 threads), each in
processes of their own as the Procfile starts them; the Zabbix calls are read from the
worker's metrics. The run uses its own database and the nzc-bench RabbitMQ vhost, but
resets the local Zabbix 7.0 to its pristine database first: do not run it beside
`make test` or a `make run` demo you want to keep.
"""

from __future__ import annotations

import argparse
import sys
import time

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from bench.common import (
    WEB_ARGS,
    cpu_report,
    cpu_seconds,
    free_port,
    header,
    job_process,
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
from tests.conftest import reset_zabbix, zabbix_token, zabbix_url

#: The issue's targets: all hosts within this many seconds, and this many times the floor.
TARGET_S, TARGET_FLOOR_X = 5.0, 2.5


def zabbix_calls(metrics_dir: str) -> dict[str, int]:
    """The worker's Zabbix calls by method, from its metric files (multiprocess mode)."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=metrics_dir)
    return {
        sample.labels["method"]: int(sample.value)
        for metric in registry.collect()
        if metric.name == "nzc_zabbix_calls"
        for sample in metric.samples
        if sample.name == "nzc_zabbix_calls_total"
    }


def count_hosts(zbx, prefix: str) -> int:
    return int(
        zbx.call("host.get", {"countOutput": True, "search": {"host": prefix}, "startSearch": True})
    )


def floor(zbx, n: int) -> float:
    """Seconds for one direct host.create of n hosts like the service makes."""
    groupid = zbx.call(
        "hostgroup.get", {"output": ["groupid"], "filter": {"name": ["NetBox devices"]}}
    )[0]["groupid"]
    templateid = zbx.call(
        "template.get", {"output": ["templateid"], "filter": {"host": ["ICMP Ping"]}}
    )[0]["templateid"]
    hosts = [
        {
            "host": f"floor-{i:05d}",
            "groups": [{"groupid": groupid}],
            "templates": [{"templateid": templateid}],
            "interfaces": [
                {
                    "type": 1,
                    "main": 1,
                    "useip": 1,
                    "ip": f"10.200.{i >> 8 & 255}.{i & 255}",
                    "dns": "",
                    "port": "10050",
                }
            ],
            "tags": [{"tag": "netbox-object", "value": f"floor:{i}"}],
            "inventory_mode": 0,
        }
        for i in range(n)
    ]
    start = time.perf_counter()
    zbx.call("host.create", hosts)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=8, help="concurrent webhook deliveries")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    reset_zabbix("7.0")
    with scratch_database() as database_url:
        sim, env = whole_path(database_url, zabbix_url("7.0"), sender_threads=args.senders)
        port = free_port()
        web = start_web(env, port, WEB_ARGS)
        worker = start_worker(env, threads=8)
        try:
            wait_ready(port)
            sim.sender.url = f"http://127.0.0.1:{port}/webhooks/netbox"
            probe = ZabbixGateway(zabbix_url("7.0"), token=zabbix_token("7.0"))
            cpu_before = cpu_seconds()
            start = time.perf_counter()
            for i in range(args.n):
                sim.sim.create_device(
                    f"e2e-{i:05d}", ip=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}/8"
                )
            created_at = time.perf_counter() - start
            sim.sender.wait()
            accepted_at = time.perf_counter() - start
            while count_hosts(probe, "e2e-") < args.n:
                if time.perf_counter() - start > args.timeout:
                    have = count_hosts(probe, "e2e-")
                    sys.exit(f"timed out: {have} of {args.n} hosts after {args.timeout:.0f}s")
                time.sleep(0.2)
            done_at = time.perf_counter() - start
            cpu = cpu_report(cpu_before, cpu_seconds(), done_at)
            calls = zabbix_calls(env["PROMETHEUS_MULTIPROC_DIR"])
            worker_mib = proc_status(job_process(worker), "VmHWM") / 1024
            web_mib = web_peak_mib(web)
            floor_s = floor(probe, args.n)
        finally:
            stop(worker)
            web.terminate()
            web.wait(10)
            sim.stop()
    print(f"{header('bench.e2e')}; web, worker, Postgres, RabbitMQ, the simulator and Zabbix 7.0")
    webhooks = f"{args.n * 4} webhooks, {args.senders} senders"
    print(f"devices created in the simulator: {args.n} ({webhooks})")
    print(
        f"simulator done / webhooks delivered: {created_at:.1f} s / {accepted_at:.1f} s "
        f"(sent {sim.sender.sent}, failed {sim.sender.failed})"
    )
    print(f"all {args.n} hosts in Zabbix 7.0 after: {done_at:.1f} s")
    print(f"Zabbix calls by method: {calls}")
    print(f"floor, one direct host.create of {args.n} hosts: {floor_s:.1f} s")
    print(
        f"targets: <= {TARGET_S:.0f} s and <= {TARGET_FLOOR_X} x the floor "
        f"({done_at / floor_s:.1f} x here)"
    )
    print(cpu)
    print(f"peak RSS: worker job process {worker_mib:.0f} MiB, web {web_mib:.0f} MiB")


if __name__ == "__main__":
    main()
