"""Helpers the benchmarks share: a scratch database, a private Zabbix frontend, the
service's processes, free ports, percentiles."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from handlers.gateways.zabbix import ZabbixUnavailable, probe_version
from tests.conftest import ZABBIX_ADMIN_URL, ZABBIX_HOME, fresh_database, zabbix_token
from tests.netbox_sim import SimServer

BENCH_BROKER_URL = os.environ.get(
    "NZC_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/nzc-bench"
)

#: gunicorn's worker arguments, as in the Procfile (start_web adds --workers 2).
WEB_ARGS = ["--worker-class", "gthread", "--threads", "8"]


def scratch_database() -> AbstractContextManager[str]:
    """A migrated database for one benchmark run, dropped afterwards."""
    return fresh_database("nzc_bench")


def bench_env(database_url: str, secret: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's service processes: its own database, the bench vhost,
    and metrics in multiprocess mode in a directory of its own, as the Procfile runs them."""
    env = dict(
        os.environ,
        NZC_DATABASE_URL=database_url,
        NZC_BROKER_URL=BENCH_BROKER_URL,
        NZC_WEBHOOK_SECRET=secret,
        NZC_LOG_LEVEL="WARNING",
        PROMETHEUS_MULTIPROC_DIR=tempfile.mkdtemp(prefix="nzc-bench-metrics-"),
        **extra,
    )
    env.pop("NZC_WEBHOOK_INSECURE", None)
    # The benches push as many webhooks at once as gunicorn has threads (WEB_ARGS): they
    # measure the path, not the limit that keeps a thread free (NZC_WEB_MAX_CONCURRENT).
    env.setdefault("NZC_WEB_MAX_CONCURRENT", "8")
    return env


#: The simulator's API token and the webhook secret of the benches that run the whole path.
SIM_TOKEN, SECRET = "0123456789abcdef0123456789abcdef01234567", "bench-secret"


def whole_path(
    database_url: str, zabbix_url: str, **sim_options: Any
) -> tuple[SimServer, dict[str, str]]:
    """The NetBox simulator, started (``sim_options`` go to :class:`SimServer`), and the
    environment of service processes that take its webhooks and write to the Zabbix 7.0
    frontend at ``zabbix_url``."""
    sim = SimServer(token=SIM_TOKEN, webhook_secret=SECRET, **sim_options).start()
    env = bench_env(
        database_url,
        SECRET,
        NZC_ZABBIX_URL=zabbix_url,
        NZC_ZABBIX_TOKEN=zabbix_token("7.0"),
        NZC_NETBOX_URL=sim.url,
        NZC_NETBOX_TOKEN=SIM_TOKEN,
    )
    return sim, env


#: The php options of deploy/dev/zabbix.sh's frontends (start_server).
PHP_OPTIONS = (
    "memory_limit=512M",
    "max_execution_time=300",
    "date.timezone=UTC",
    "post_max_size=16M",
    "display_errors=0",
    "log_errors=1",
)
#: Seconds a private frontend may take to answer its first call.
FRONTEND_START_S = 30


@contextmanager
def private_zabbix(version: str = "7.0") -> Iterator[str]:
    """A Zabbix ``version`` frontend of the benchmark's own, so it never disturbs the tests:
    a clone of the pristine database and ``php -S`` on a free loopback port serving a copy
    of the frontend deploy/dev/zabbix.sh unpacked. Yields its ``api_jsonrpc.php`` URL; the
    dev API token works (the clone holds it). Database, copy and php go afterwards."""
    home = ZABBIX_HOME / version
    source = f"nzc_zabbix{version.replace('.', '')}"
    db = f"nzc_bench_zabbix{version.replace('.', '')}"
    with psycopg.connect(ZABBIX_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")  # left by a killed run
        conn.execute(f"CREATE DATABASE {db} TEMPLATE {source}_pristine")
    tmp = Path(tempfile.mkdtemp(prefix=f"nzc-bench-zabbix{version}-"))
    php = None
    try:
        subprocess.run(["cp", "-a", str(home / "pkg"), str(tmp / "pkg")], check=True)
        # The dev frontend reads the config file named in CConfigFile.php (zabbix.sh edits
        # it); the copy reads its own, naming the clone.
        _replace(
            tmp / "pkg/usr/share/zabbix/include/classes/core/CConfigFile.php",
            f"'{home}/zabbix.conf.php'",
            f"'{tmp}/zabbix.conf.php'",
        )
        shutil.copy(home / "zabbix.conf.php", tmp / "zabbix.conf.php")
        _replace(tmp / "zabbix.conf.php", f"= '{source}';", f"= '{db}';")
        port = free_port()
        cmd = ["php", *(arg for opt in PHP_OPTIONS for arg in ("-d", opt))]
        cmd += ["-S", f"127.0.0.1:{port}", "-t", str(tmp / "pkg/usr/share/zabbix")]
        with open(tmp / "php.log", "wb") as log:
            # Its own session: php's server workers go with it (killpg below).
            php = subprocess.Popen(
                cmd,
                env=dict(os.environ, PHP_CLI_SERVER_WORKERS="4"),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        url = f"http://127.0.0.1:{port}/api_jsonrpc.php"
        _wait_frontend(url, php, tmp / "php.log")
        yield url
    finally:
        if php is not None:
            os.killpg(php.pid, signal.SIGTERM)
            php.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
        with psycopg.connect(ZABBIX_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        sys.exit(f"{path} does not contain {old}: was it written by deploy/dev/zabbix.sh?")
    path.write_text(text.replace(old, new))


def _wait_frontend(url: str, php: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + FRONTEND_START_S
    while time.monotonic() < deadline and php.poll() is None:
        try:
            probe_version(url, timeout=1)
            return
        except ZabbixUnavailable:
            time.sleep(0.1)
    sys.exit(f"the private Zabbix frontend at {url} did not answer; php said:\n{log.read_text()}")


def start_worker(env: dict[str, str], processes: int = 1, threads: int = 8) -> subprocess.Popen:
    """``dramatiq consumer.worker`` on every queue, as the Procfile starts it (with
    ``threads`` threads)."""
    cmd = [sys.executable, "-m", "dramatiq", "consumer.worker"]
    env = {"MALLOC_ARENA_MAX": "2", **env}  # as the Procfile sets it
    return subprocess.Popen(
        [*cmd, "--processes", str(processes), "--threads", str(threads)], env=env
    )


def start_web(env: dict[str, str], port: int, gunicorn_args: list[str]) -> subprocess.Popen:
    """gunicorn with 2 workers (as in the Procfile) on 127.0.0.1:``port``."""
    cmd = [sys.executable, "-m", "gunicorn", "--workers", "2", "--no-control-socket"]
    cmd += ["--bind", f"127.0.0.1:{port}"]
    return subprocess.Popen([*cmd, *gunicorn_args, "consumer.app:create_app()"], env=env)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def job_process(worker: subprocess.Popen) -> int:
    """The pid of the process that runs the jobs: dramatiq's parent only supervises its
    worker children (forked, so found by parent pid); the one with the most threads."""
    children = child_pids(worker.pid)
    if not children:
        sys.exit(f"dramatiq (pid {worker.pid}) has no worker process")
    return max(children, key=lambda pid: proc_status(pid, "Threads"))


def child_pids(pid: int) -> list[int]:
    """The pids of ``pid``'s children (found by parent pid in /proc), in pid order."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        if stat and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def proc_status(pid: int, field: str) -> int:
    """A number from /proc/<pid>/status (VmHWM, the peak RSS, is in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise KeyError(field)


def web_peak_mib(web: subprocess.Popen) -> float:
    """The largest peak RSS among gunicorn's processes."""
    pids = [web.pid, *child_pids(web.pid)]
    return max(proc_status(p, "VmHWM") for p in pids) / 1024


def header(bench: str) -> str:
    """The first line of a bench's report: where and with what it ran."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return (
        f"{bench} at {done.stdout.strip() or 'unknown'}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}"
    )


#: Process groups whose CPU time a bench reports, by a word of their command line.
CPU_GROUPS = (
    ("web", "gunicorn"),
    ("worker", "dramatiq"),
    ("postgres", "postgres"),
    ("rabbitmq", "beam.smp"),
    ("zabbix frontend", "php"),
    ("zabbix server", "zabbix_server"),
)


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by each group of :data:`CPU_GROUPS` and by this process (the
    load generator and the simulator), children that ended included (cutime, cstime)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(entry.name) == os.getpid():
            group = "bench (load, simulator)"
        else:
            group = next((name for name, word in CPU_GROUPS if word in cmdline), "")
        if group == "postgres":
            # A backend names its database; the postmaster holds the CPU of the connections
            # that ended (the Zabbix frontend's, mostly: PHP connects per request).
            if " nzc_zabbix" in cmdline:
                group = "postgres for zabbix"
            elif cmdline.startswith("postgres: ") and " nzc" in cmdline:
                group = "postgres for the service"
            elif not cmdline.startswith("postgres: "):
                group = "postgres, ended connections"
            else:
                group = "postgres, background"
        if group:
            used[group] = used.get(group, 0.0) + sum(int(f) for f in fields[11:15]) / ticks
    return used


def cpu_report(before: dict[str, float], after: dict[str, float], seconds: float) -> str:
    """One line: CPU seconds each group used between two :func:`cpu_seconds` readings, out
    of what the machine's cores had in ``seconds``."""
    spent = {g: after.get(g, 0.0) - before.get(g, 0.0) for g in after}
    parts = ", ".join(f"{g} {s:.1f}" for g, s in sorted(spent.items(), key=lambda i: -i[1]) if s)
    cores = os.cpu_count() or 1
    return (
        f"CPU seconds used in those {seconds:.1f} s ({cores} cores: {cores * seconds:.1f} "
        f"available): {parts}"
    )
