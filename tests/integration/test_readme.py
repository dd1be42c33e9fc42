"""The README's shell blocks, run as a new user pastes them: in order, in a new shell with
nothing set by hand, after ``make run``; the README cannot rot.

Every ``sh`` block carries a marker on the line before it: ``<!-- runnable -->``, or
``<!-- not run: why -->`` (the service itself, the suite, benchmarks). The runnable ones
run with ``bash -euo pipefail`` under ``env -i`` (PATH and HOME only), in a folder that
looks like the project folder (its entries linked) holding the ``.env`` that ``make``
writes (deploy/dev/dotenv.sh, given the test services), against a stack started as
``make run`` starts it, smaller: web (gunicorn gthread, one worker) and a Dramatiq worker
from the Procfile's commands, the NetBox simulator seeded. The stack listens on
ports of its own; the blocks' ``127.0.0.1:8000`` and ``:8001`` are rewritten to them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pika
import pytest
import requests

from handlers.broker import QUEUES
from tests.conftest import (
    TEST_BROKER_URL,
    fresh_database,
    reset_zabbix,
    zabbix_token,
    zabbix_url,
)
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
RUNNABLE = "<!-- runnable -->"
NOT_RUN = re.compile(r"<!-- not run: .+ -->")
FENCE = re.compile(r"^```(sh|bash|shell)\n(.*?)^```$", re.S | re.M)
#: Seconds one block may take (nzc ping waits up to 30 s for the worker).
BLOCK_TIMEOUT_S = 120
SECRET = "readme-secret"
NETBOX_TOKEN = "0123456789abcdef0123456789abcdef01234567"


def shell_blocks(text: str) -> list[tuple[int, str, str]]:
    """(line, marker, body) of each shell block; marker is the line before the fence."""
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1].strip()
        found.append((line, before, match.group(2)))
    return found


def test_every_shell_block_of_the_readme_says_whether_it_is_run():
    blocks = shell_blocks((ROOT / "README.md").read_text())
    assert blocks, "no shell block found: has the README's fence style changed?"
    unmarked = [
        line for line, marker, _ in blocks if marker != RUNNABLE and not NOT_RUN.match(marker)
    ]
    assert not unmarked, (
        f"README.md lines {unmarked}: put {RUNNABLE} or '<!-- not run: why -->' on the line "
        "before each shell block"
    )
    assert sum(marker == RUNNABLE for _, marker, _ in blocks) >= 5


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def purge_test_queues() -> None:
    """The test vhost's queues emptied: the stack's worker runs only the blocks' work."""
    conn = pika.BlockingConnection(pika.URLParameters(TEST_BROKER_URL))
    try:
        for queue in QUEUES:
            channel = conn.channel()
            try:
                channel.queue_purge(queue)
            except pika.exceptions.ChannelClosedByBroker:
                pass  # not declared yet: nothing to purge
            else:
                channel.close()
    finally:
        conn.close()


@pytest.fixture
def scratch_db():
    """A migrated database of this test's own (the blocks change settings and mappings)."""
    with fresh_database("nzc_readme") as url:
        yield url


@pytest.fixture
def project(scratch_db):
    """A folder like the project folder after ``make run``, and the stack it talks to:
    (folder, web port, simulator port)."""
    from tests.netbox_sim import SimServer
    from tests.netbox_sim.__main__ import seed

    reset_zabbix("7.0")
    purge_test_queues()
    web_port = free_port()
    sim = SimServer(token=NETBOX_TOKEN, webhook_secret=SECRET).start()
    sim.sender.url = f"http://127.0.0.1:{web_port}/webhooks/netbox"
    settings = {
        "NZC_DATABASE_URL": scratch_db,
        "NZC_BROKER_URL": TEST_BROKER_URL,
        "NZC_ZABBIX_URL": zabbix_url("7.0"),
        "NZC_ZABBIX_TOKEN": zabbix_token("7.0"),
        "NZC_NETBOX_URL": sim.url,
        "NZC_NETBOX_TOKEN": NETBOX_TOKEN,
        "NZC_WEBHOOK_SECRET": SECRET,
        "NZC_WEB_BIND": f"127.0.0.1:{web_port}",
    }
    folder = Path(tempfile.mkdtemp(prefix="nzc-readme-"))
    for entry in ROOT.iterdir():
        if entry.name not in (".env", ".run", ".git"):
            (folder / entry.name).symlink_to(entry)
    # The .env make writes, written as make writes it, with the test's services chosen.
    subprocess.run(
        ["bash", str(folder / "deploy" / "dev" / "dotenv.sh")],
        env={"PATH": "/usr/bin:/bin", **settings, "NZC_DEV_CHOSEN": " ".join(settings)},
        check=True,
    )
    written = (folder / ".env").read_text()
    assert all(f"{k}={v}\n" in written for k, v in settings.items()), written
    metrics = folder / "metrics"
    metrics.mkdir()
    admin = re.search(r"^NZC_ADMIN_TOKEN=(.+)$", written, re.M).group(1)  # make's choice
    env = {
        "NZC_ADMIN_TOKEN": admin,
        "PATH": f"{ROOT / '.venv' / 'bin'}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "NZC_LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        **settings,
    }
    python = sys.executable
    web = subprocess.Popen(
        [
            python,
            "-m",
            "gunicorn",
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--no-control-socket",
            "--bind",
            settings["NZC_WEB_BIND"],
            "consumer.app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [python, "-m", "dramatiq", "consumer.worker", "--processes", "1", "--threads", "2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _answers(f"http://127.0.0.1:{web_port}/healthz"), "the web process")
        seed(sim)  # as make run's simulator starts
        yield folder, web_port, int(sim.url.rsplit(":", 1)[1])
    finally:
        for process in (worker, web):
            process.terminate()
        for process in (worker, web):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        sim.stop()
        shutil.rmtree(folder, ignore_errors=True)
        reset_zabbix("7.0")
        purge_test_queues()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.integration
def test_every_runnable_readme_block_works_from_a_new_shell(project):
    folder, web_port, sim_port = project
    blocks = [b for b in shell_blocks((ROOT / "README.md").read_text()) if b[1] == RUNNABLE]
    clean = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    for line, _marker, body in blocks:
        script = body.replace("127.0.0.1:8000", f"127.0.0.1:{web_port}").replace(
            "127.0.0.1:8001", f"127.0.0.1:{sim_port}"
        )
        done = subprocess.run(
            [
                "env",
                "-i",
                *(f"{k}={v}" for k, v in clean.items()),
                "bash",
                "-euo",
                "pipefail",
                "-c",
                script,
            ],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=BLOCK_TIMEOUT_S,
        )
        assert done.returncode == 0, (
            f"README.md block at line {line} failed (exit {done.returncode}):\n{body}\n"
            f"--- stdout:\n{done.stdout[-3000:]}\n--- stderr:\n{done.stderr[-3000:]}"
        )
