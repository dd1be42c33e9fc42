"""The Procfiles start the service's programs from its virtualenv however they are started:
from an activated venv, or with the venv's honcho and a PATH that does not name it."""

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
PROCFILES = [ROOT / "Procfile", ROOT / "deploy" / "dev" / "Procfile.demo"]


def processes(path):
    for line in path.read_text().splitlines():
        name, _, command = line.partition(":")
        yield name, command.strip()


def resolve(command, env):
    """The program the command would exec, with everything before the ``exec`` run first."""
    setup, _, run = command.partition("exec ")
    program = shlex.split(run)[0]
    probe = f"{setup} command -v {shlex.quote(program)}"
    return subprocess.run(
        ["/bin/sh", "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=10
    ).stdout.strip()


@pytest.mark.skipif(not (ROOT / ".venv").is_dir(), reason="needs the project's .venv")
@pytest.mark.parametrize(
    "path,name,command",
    [(p, n, c) for p in PROCFILES for n, c in processes(p)],
    ids=lambda v: v.name if isinstance(v, Path) else None,
)
def test_each_process_finds_its_program_in_the_venv_without_it_on_path(path, name, command):
    program = shlex.split(command.partition("exec ")[2])[0]
    bare = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root")}
    assert resolve(command, bare) == str(ROOT / ".venv" / "bin" / program)
    activated = {**bare, "VIRTUAL_ENV": str(VENV)}
    assert resolve(command, activated) == str(VENV / "bin" / program)


def test_gunicorn_runs_without_a_shared_control_socket():
    for path in PROCFILES:
        web = dict(processes(path))["web"]
        assert "--no-control-socket" in web, path
