"""Soak: the simulator sends webhooks at a steady rate (100 a second for 10 minutes by
default) through the whole path (gunicorn web, RabbitMQ, the dramatiq worker, Zabbix 7.0),
changing a rolling set of devices over and over. Prints the RSS of every service process
each minute; at the end, the counts (webhooks, jobs, hosts, changes lost) and each process's
RSS growth from the end of the first minute, against the limit of 10 %. Exits non-zero when
a process grew beyond it or anything was lost.

    .venv/bin/python -m bench.soak [--rate 100] [--minutes 10] [--devices 300]

The devices are created first (not timed); then each change is a rename (65 %), a status
flip between active and offline (30 %) or a replacement (5 %: the device deleted, a new one
created in its place), so Zabbix holds --devices hosts throughout. Each webhook leaves at its
own time by the wall clock, 8 deliveries at most at once. Web runs under gunicorn and the
worker as ``dramatiq consumer.worker`` (4 threads), as the Procfile starts them.

Nothing shared is reset: a scratch database (its delete_mode set to hard, so deletes leave
no archived hosts behind), a private Zabbix 7.0 frontend (bench/common.py) and the
nzc-bench RabbitMQ vhost, whose queues are emptied first (do not run two benches at once).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from bench.common import (
    WEB_ARGS,
    child_pids,
    cpu_report,
    cpu_seconds,
    free_port,
    header,
    job_process,
    private_zabbix,
    proc_status,
    scratch_database,
    start_web,
    start_worker,
    whole_path,
)
from bench.ingest import events_queued, wait_ready
from bench.sync import FINAL, stop
from handlers.broker import QUEUES
from handlers.decide.desired import archived_tag_name, owner_tag_name
from handlers.gateways.zabbix import ZabbixGateway
from tests.conftest import zabbix_token
from tests.netbox_sim import SimServer

PREFIX = "soak-"
#: The issue's limit: no process's RSS grows by more than this after the first minute.
RSS_LIMIT_PCT = 10.0
#: Changes by weight. A rename or status flip is one webhook; a replacement seven (the IP,
#: device and interface deleted; the device, interface, IP created and the primary IP set).
MIX = {"rename": 65, "status": 30, "replace": 5}
#: Change-log records the simulator keeps. Nothing reads them here (4.4 bodies name no
#: request, and the service reads the log only for bulk requests), and all of them would
#: grow this process by about 160 MB in 10 minutes.
KEEP_CHANGES = 1000
#: Deliveries at once (NetBox's RQ workers): enough that a slow answer does not hold back
#: the rate.
SENDERS = 8


def say(text: str) -> None:
    print(text, flush=True)


class Load:
    """A rolling set of ``devices`` devices in the simulator, changed at random; their
    webhooks go to its sender one at a time, ``rate`` a second by the wall clock.

    Parameters:
      sim: the simulator, its sender pointed at the service.
      devices: how many devices (and so Zabbix hosts) there are at any time.
      rate: webhooks a second.
      seed: for the random choice of changes, so runs are alike.
    """

    def __init__(self, sim: SimServer, devices: int, rate: float, seed: int) -> None:
        self.sim = sim
        self.rate = rate
        self.random = random.Random(seed)
        # A change commits at once, as in NetBox; its webhooks wait here and leave at their
        # own time, so pacing never sleeps holding the simulator's lock (its REST API,
        # which the worker reads, takes it too).
        self.pending: list[dict[str, Any]] = []
        sim.sim.emit = self.pending.append
        self.ids = [0] * devices
        self.names = [""] * devices
        self.statuses = ["active"] * devices
        self.queued = 0
        self.changes: Counter[str] = Counter()
        #: The most a webhook left after its time since the last reset, seconds.
        self.max_late = 0.0
        self._generation = 0
        self._t0 = time.monotonic()
        self._n0 = 0
        self.answered_before = 0

    def restart_clock(self) -> None:
        """Pace from now on, as if no webhook had been sent before; count from here too."""
        self._t0, self._n0, self.max_late = time.monotonic(), self.queued, 0.0
        self.answered_before = self.sim.sender.statuses.get(202, 0)

    def tally(self) -> tuple[int, int, int, int]:
        """(sent, answered 202, answered otherwise, not answered yet) since
        :meth:`restart_clock`, from one reading of the sender's answers, so they agree."""
        queued, answers = self.queued - self._n0, dict(self.sim.sender.statuses)
        ok = answers.get(202, 0) - self.answered_before
        answered = sum(answers.values())
        return queued, ok, answered - answers.get(202, 0), self.queued - answered

    def create(self, slot: int) -> None:
        self.ids[slot] = self.sim.sim.create_device(
            self._name(slot), ip=f"10.99.{slot >> 8}.{slot & 255}/16"
        )
        self.statuses[slot] = "active"
        self._deliver()

    def change(self) -> None:
        """One change to a device chosen at random, and its webhooks."""
        kind = self.random.choices(list(MIX), weights=list(MIX.values()))[0]
        slot = self.random.randrange(len(self.ids))
        self.changes[kind] += 1
        if kind == "rename":
            self.sim.sim.update_device(self.ids[slot], name=self._name(slot))
        elif kind == "status":
            self.statuses[slot] = "offline" if self.statuses[slot] == "active" else "active"
            self.sim.sim.update_device(self.ids[slot], status=self.statuses[slot])
        else:
            self.sim.sim.delete_device(self.ids[slot])
            self._deliver()
            self.create(slot)
        self._deliver()

    def expected(self) -> dict[str, tuple[str, str]]:
        """Target -> (visible name, Zabbix status) each host should have now."""
        return {
            f"dcim.device:{device_id}": (name, "0" if status == "active" else "1")
            for device_id, name, status in zip(self.ids, self.names, self.statuses, strict=True)
        }

    def trim(self) -> None:
        with self.sim.sim.lock:
            del self.sim.sim.changes[:-KEEP_CHANGES]

    def _name(self, slot: int) -> str:
        # A new name each time, so a replacement never takes the name of the host whose
        # delete may still be on its way.
        self._generation += 1
        self.names[slot] = f"{PREFIX}{slot:03d}-{self._generation}"
        return self.names[slot]

    def _deliver(self) -> None:
        for body in self.pending:
            due = self._t0 + (self.queued - self._n0) / self.rate
            late = time.monotonic() - due
            if late < 0:
                time.sleep(-late)
            self.max_late = max(self.max_late, late)
            self.sim.sender(body)
            self.queued += 1
        self.pending.clear()


def service_pids(web: subprocess.Popen, worker: subprocess.Popen) -> dict[str, int]:
    """Each service process by a label naming its pid: gunicorn's master and workers,
    dramatiq's supervising parent and its job process (and any other child)."""
    pids = {f"web master {web.pid}": web.pid}
    pids.update({f"web worker {pid}": pid for pid in child_pids(web.pid)})
    pids[f"dramatiq parent {worker.pid}"] = worker.pid
    job = job_process(worker)
    for pid in child_pids(worker.pid):
        pids[f"dramatiq {'job process' if pid == job else 'child'} {pid}"] = pid
    return pids


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """The process's RSS (or another Vm field) in MiB; None once it is gone."""
    try:
        return proc_status(pid, field) / 1024
    except (OSError, KeyError):  # gone, or a zombie (no Vm fields)
        return None


def backlog(conn: psycopg.Connection) -> tuple[int, int]:
    """(dirty targets, jobs not final) in the service's database."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM dirty_targets) AS dirty,"
        " (SELECT count(*) FROM jobs WHERE status <> ALL(%s)) AS open",
        [list(FINAL)],
    ).fetchone()
    return row["dirty"], row["open"]


def counts(conn: psycopg.Connection, column: str) -> dict[str, int]:
    """Job rows by ``status`` or ``actor``."""
    rows = conn.execute(
        f"SELECT {column} AS key, count(*) AS n FROM jobs GROUP BY 1 ORDER BY 2 DESC"
    ).fetchall()
    return {r["key"]: r["n"] for r in rows}


def hosts_by_owner(
    zbx: ZabbixGateway, settings: dict[str, Any]
) -> tuple[dict[str, list[dict]], int]:
    """Zabbix hosts carrying the ownership tag, by its value (the target), and how many are
    archived."""
    owner, archived = owner_tag_name(settings), archived_tag_name(settings)
    owned: dict[str, list[dict]] = {}
    n_archived = 0
    hosts = zbx.call("host.get", {"output": ["host", "name", "status"], "selectTags": "extend"})
    for host in hosts:
        for tag in host["tags"]:
            if tag["tag"] == owner:
                owned.setdefault(tag["value"], []).append(host)
            n_archived += tag["tag"] == archived
    return owned, n_archived


def count_owned(zbx: ZabbixGateway, owner: str) -> int:
    """Hosts in Zabbix carrying the ownership tag."""
    return int(
        zbx.call("host.get", {"countOutput": True, "tags": [{"tag": owner, "operator": 4}]})
    )  # operator 4: the tag exists


def settle(load: Load, conn: psycopg.Connection, timeout: float) -> str | None:
    """Wait until every webhook was answered, no target is dirty and every job is final
    (twice in a row, a second apart: a run ending may still send the next); None then,
    else what was left after ``timeout`` seconds."""
    deadline, idle = time.monotonic() + timeout, 0
    while True:
        sender = load.sim.sender
        undelivered = load.queued - sender.sent - sender.failed
        dirty, open_jobs = backlog(conn)
        if undelivered or dirty or open_jobs:
            idle = 0
            if time.monotonic() > deadline:
                return (
                    f"{undelivered} webhooks not answered, {dirty} dirty targets, "
                    f"{open_jobs} jobs not final"
                )
        else:
            idle += 1
            if idle == 2:
                return None
        time.sleep(1)


def growth_lines(history: dict[str, list[float | None]]) -> tuple[list[str], list[str]]:
    """Per process, RSS at the end of minute 1 and at the end, growth and verdict; and the
    processes that failed."""
    lines, failed = [], []
    for label, samples in history.items():
        first, last = samples[0], samples[-1]
        if first is None or last is None:
            # Started after minute 1 (a restart) or gone by the end: not flat either way.
            lines.append(f"  {label:28} {_mib(first)} -> {_mib(last)} MiB  FAIL (not alive)")
            failed.append(label)
            continue
        pct = (last - first) / first * 100
        verdict = "PASS" if pct <= RSS_LIMIT_PCT else "FAIL"
        if verdict == "FAIL":
            failed.append(label)
        lines.append(f"  {label:28} {first:6.1f} -> {last:6.1f} MiB  {pct:+6.1f} %  {verdict}")
    return lines, failed


def _mib(value: float | None) -> str:
    return "gone" if value is None else f"{value:.1f}"


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt  # a kill cleans up as Ctrl-C does


@dataclass
class Run:
    """What a run measured, for :func:`report`."""

    load: Load
    #: RSS (MiB) of each service process at the end of each minute; None: not alive then.
    history: dict[str, list[float | None]]
    peaks: dict[str, float | None]
    warmup_webhooks: int
    sending_s: float
    cpu: str
    settle_s: float
    #: What was left when the service did not settle in time; None when it did.
    unsettled: str | None
    statuses: dict[str, int]
    actors: dict[str, int]
    owned: dict[str, list[dict]]
    archived: int


def soak(args: argparse.Namespace, database_url: str, zabbix_url: str) -> Run:
    """Start the service, create the devices, send for ``args.minutes`` printing a line a
    minute, wait for the service to settle and read what it did; stop it all however that
    ends."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        conn.execute("UPDATE settings SET delete_mode = 'hard'")  # before the service reads it
        settings = conn.execute("SELECT * FROM settings").fetchone()
        for queue in QUEUES:  # messages a killed bench left would name another database's jobs
            events_queued(queue)
            events_queued(f"{queue}.DQ")
        sim, env = whole_path(database_url, zabbix_url, sender_threads=SENDERS)
        port = free_port()
        web = worker = None
        try:
            web = start_web(env, port, WEB_ARGS)
            worker = start_worker(env, threads=4)
            wait_ready(port)
            sim.sender.url = f"http://127.0.0.1:{port}/webhooks/netbox"
            zbx = ZabbixGateway(zabbix_url, token=zabbix_token("7.0"))
            owner = owner_tag_name(settings)
            load = Load(sim, args.devices, args.rate, args.seed)

            # The starting set, at the same rate, in Zabbix before the clock starts.
            for slot in range(args.devices):
                load.create(slot)
            unsettled = settle(load, conn, args.settle_timeout)
            say(
                f"warm-up: {args.devices} devices created ({load.queued} webhooks), "
                f"{count_owned(zbx, owner)} hosts in Zabbix"
                + (f"; NOT settled: {unsettled}" if unsettled else "")
            )

            history: dict[str, list[float | None]] = {}
            warmup = load.queued
            cpu_before, began = cpu_seconds(), time.monotonic()
            load.restart_clock()
            for minute in range(1, args.minutes + 1):
                while time.monotonic() < began + minute * 60:
                    load.change()
                load.trim()
                rss = {label: rss_mib(pid) for label, pid in service_pids(web, worker).items()}
                for label in rss:
                    if label not in history:  # a process new since minute 1: a restart
                        history[label] = [None] * (minute - 1)
                for label, samples in history.items():
                    samples.append(rss.get(label))
                say(minute_line(minute, load, time.monotonic() - began, conn, zbx, owner, rss))
                load.max_late = 0.0
            sending_s = time.monotonic() - began
            cpu = cpu_report(cpu_before, cpu_seconds(), sending_s)
            peaks = {
                label: rss_mib(pid, "VmHWM") for label, pid in service_pids(web, worker).items()
            }

            settle_began = time.monotonic()
            unsettled = settle(load, conn, args.settle_timeout)
            settle_s = time.monotonic() - settle_began
            owned, archived = hosts_by_owner(zbx, settings)
            return Run(
                load=load,
                history=history,
                peaks=peaks,
                warmup_webhooks=warmup,
                sending_s=sending_s,
                cpu=cpu,
                settle_s=settle_s,
                unsettled=unsettled,
                statuses=counts(conn, "status"),
                actors=counts(conn, "actor"),
                owned=owned,
                archived=archived,
            )
        finally:
            if worker is not None:
                stop(worker)
            if web is not None:
                web.terminate()
                try:
                    web.wait(30)
                except subprocess.TimeoutExpired:
                    web.kill()
                    web.wait(10)
            sim.stop()
            shutil.rmtree(env["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def minute_line(
    minute: int,
    load: Load,
    elapsed: float,
    conn: psycopg.Connection,
    zbx: ZabbixGateway,
    owner: str,
    rss: dict[str, float | None],
) -> str:
    """The minute's line: webhooks so far (after the warm-up), the service's backlog, the
    hosts in Zabbix and the RSS of each process."""
    sent, answered, other, in_flight = load.tally()
    dirty, open_jobs = backlog(conn)
    return (
        f"minute {minute:2d}: sent {sent} ({sent / elapsed:.1f}/s, at most "
        f"{load.max_late * 1000:.0f} ms behind), answered 202 {answered}, other {other}, in "
        f"flight {in_flight}; {dirty} dirty targets, "
        f"{open_jobs} jobs open, {count_owned(zbx, owner)} hosts in Zabbix; RSS MiB: "
        + ", ".join(f"{label} {_mib(mib)}" for label, mib in rss.items())
    )


def report(run: Run, args: argparse.Namespace) -> list[str]:
    """Print the final counts and RSS growth; the problems found (none: a pass)."""
    load, sender = run.load, run.load.sim.sender
    expected = load.expected()
    missing = [t for t in expected if t not in run.owned]
    stale = [
        t
        for t, (name, status) in expected.items()
        if t in run.owned and [(h["name"], h["status"]) for h in run.owned[t]] != [(name, status)]
    ]
    left_over = [t for t in run.owned if t not in expected]
    answered = sender.statuses.get(202, 0)
    lost_webhooks = load.queued - answered
    lost = lost_webhooks + len(missing) + len(stale) + len(left_over)
    sent = load.tally()[0]
    say(
        f"sent: {sent} webhooks in {run.sending_s:.0f} s ({sent / run.sending_s:.1f}/s) "
        f"after {run.warmup_webhooks} of warm-up; changes {dict(load.changes)} on "
        f"{args.devices} devices"
    )
    say(
        f"answered 202: {answered} of {load.queued} (answers by status "
        f"{dict(sorted(sender.statuses.items()))}, not answered "
        f"{load.queued - sender.sent - sender.failed})"
    )
    say(
        f"settled {run.settle_s:.0f} s after the last webhook was sent"
        if run.unsettled is None
        else f"NOT settled {run.settle_s:.0f} s after sending: {run.unsettled}"
    )
    get = run.statuses.get
    say(
        f"jobs: succeeded {get('succeeded', 0)}, failed {get('failed', 0)}, dead {get('dead', 0)}"
        f" (by status {run.statuses}; by actor {run.actors})"
    )
    say(f"hosts: expected {len(expected)}, in Zabbix {len(run.owned)} (+ {run.archived} archived)")
    examples = (missing + stale + left_over)[:5]
    say(
        f"lost: {lost} (webhooks not answered 202: {lost_webhooks}; hosts missing: "
        f"{len(missing)}, with an old name or status: {len(stale)}, left over: {len(left_over)})"
        + (f"; e.g. {examples}" if examples else "")
    )
    say(run.cpu)
    say(f"load average at the end: {' / '.join(f'{x:.2f}' for x in os.getloadavg())}")
    say(
        f"RSS growth from the end of minute 1 to the end of minute {args.minutes} "
        f"(limit {RSS_LIMIT_PCT:.0f} %):"
    )
    lines, failed = growth_lines(run.history)
    for line in lines:
        say(line)
    say("peak RSS (VmHWM) MiB: " + ", ".join(f"{k} {_mib(v)}" for k, v in run.peaks.items()))
    bench_peak = _mib(rss_mib(os.getpid(), "VmHWM"))
    say(f"bench process (load, simulator; not judged): peak {bench_peak} MiB")
    problems = [f"RSS of {label}" for label in failed]
    problems += [f"{lost} lost"] if lost else []
    problems += [f"{get('dead')} dead jobs"] if get("dead") else []
    problems += ["not settled"] if run.unsettled else []
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=100.0, help="webhooks a second")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--devices", type=int, default=300, help="the rolling set's size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--settle-timeout", type=float, default=600, help="seconds to wait for the service"
    )
    args = parser.parse_args()
    if args.minutes < 2:
        parser.error("--minutes must be at least 2: growth is measured from the end of minute 1")
    if not 0 < args.devices <= 65536:
        parser.error("--devices must be between 1 and 65536 (one 10.99.0.0/16 address each)")
    signal.signal(signal.SIGTERM, _interrupt)
    say(
        f"{header('bench.soak')}; web, worker, Postgres, RabbitMQ, the simulator and "
        "Zabbix 7.0 all on this machine"
    )
    try:
        with scratch_database() as database_url, private_zabbix("7.0") as zabbix_url:
            run = soak(args, database_url, zabbix_url)
    except KeyboardInterrupt:
        sys.exit("interrupted; every process the bench started is stopped")
    problems = report(run, args)
    say(f"verdict: {'PASS' if not problems else 'FAIL: ' + ', '.join(problems)}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
