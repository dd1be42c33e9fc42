"""A fuzz run of the webhook loader: atheris (libFuzzer) mutates webhook bodies for a bounded
time, starting from the captured webhooks in every NetBox 4.0 to 4.7 shape, and checks each
against what the endpoint promises hostile input (README, "Faults and guarantees", R5).

    .venv/bin/python -m bench.fuzz [--seconds 60]
    .venv/bin/python -m bench.fuzz --replay /tmp/nzc-fuzz-.../finding-1.bin

Each body goes through the parse and schema load of ``POST /webhooks/netbox`` (signature and
content type aside). A refusal (the endpoint's 400) is fine; any other exception is a
finding (the endpoint would answer 500), and so is an accepted body whose event breaks what
the service relies on: a string Postgres cannot store, a value that is not strict JSON
(jsonb has no Infinity), or, for an event that is queued, a target that is not canonical
(``dcim.device:42``). The first body of each kind of finding is kept under /tmp and the run
goes on; the bench exits non-zero when there is any. ``--replay`` checks one body again.

libFuzzer ends its process when the time is up, so the fuzzer runs in a child process and
this one reports. atheris (the test extra) is imported by that child only: the module loads
without it.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import types
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import header
from consumer import webhooks
from consumer.errors import ApiError
from handlers.decide.targets import is_target
from handlers.decide.translate import event_target, ignore_reason
from schemas.netbox import HANDLED_OBJECT_TYPES, OBJECT_TYPE_OF_MODEL
from schemas.webhook import (
    OBJECT_EVENTS,
    WebhookSchema,
    unstorable,
)
from tests.webhook_shapes import (
    VERSIONS,
    capture,
    real_capture_names,
    sample,
    sample_names,
    shape,
)

#: The longest body libFuzzer makes: the largest capture is about 5 KB, and a body needs room
#: to grow (deeper nesting, longer strings).
MAX_LEN = 16384
#: Seconds one body may take before libFuzzer stops with it as a timeout (a finding).
PER_INPUT_TIMEOUT_S = 10
#: Seconds the child may take beyond its budget (start-up, loading the corpus) before it is
#: killed.
GRACE_S = 300
#: Modules (and their submodules) whose Python functions give libFuzzer its coverage: the
#: loader's path (json's scanner is C and gives none); with load and check themselves.
COVERED = ("json", "marshmallow", "schemas", "consumer.webhooks", "handlers.decide")
#: What libFuzzer names the inputs it stops on (the target raised past the catch-all, a
#: timeout, memory).
ARTIFACTS = ("crash-*", "timeout-*", "oom-*", "leak-*")


class Finding(Exception):
    """An accepted body whose event breaks an invariant; ``key`` names the kind, so that one
    reproducer is kept per kind."""

    def __init__(self, key: str, detail: str) -> None:
        super().__init__(f"{key}: {detail}")
        self.key = key


def load(body: bytes) -> dict[str, Any] | None:
    """The event ``POST /webhooks/netbox`` takes from ``body``, or None where it answers 400.
    Any other exception escapes, as it would from the view (a 500)."""
    try:
        return webhooks.load_webhook(body)
    except ApiError as exc:
        if exc.status != 400:
            raise
        return None


def check(body: bytes) -> bool:
    """The fuzz target: whether the body was accepted (and so checked), for one refused or
    accepted as promised; :class:`Finding` for an accepted one that breaks an invariant; any
    other exception is the loader's own."""
    event = load(body)
    if event is None:
        return False
    # The project's own predicate, over the whole event: what the schema let through is
    # what the job row stores.
    problem = unstorable(event, "event")
    if problem:
        raise Finding("accepted a string Postgres cannot store", problem)
    try:
        # psycopg's Jsonb writes Infinity and NaN as json.dumps does; jsonb refuses them.
        json.dumps(event, allow_nan=False)
    except ValueError as exc:
        raise Finding("accepted a value that is not strict JSON", str(exc)) from None
    # What the endpoint does next with an accepted event: the ignore check, then the target
    # that keys its job row and dirty mark (the worker splits it back into type and id).
    if ignore_reason(event) is None:
        target = event_target(event)
        if target is None or not is_target(target):
            shape_of_target = re.sub(r"\d+", "N", str(target))
            raise Finding(
                f"queued with the target {shape_of_target}",
                f"target {target!r} of event {event['event']!r} on {event['object_type']!r}",
            )
    return True


def seeds() -> list[bytes]:
    """The captured webhooks as NetBox sent them (4.4, 4.6, 4.7) and each 4.4 capture in
    every other version's shape (tests/webhook_shapes.py), no two alike."""
    bodies = [sample(name)["raw_body"].encode() for name in sample_names()]
    bodies += [capture(name)["raw_body"].encode() for name in real_capture_names()]
    for name in sample_names():
        body = sample(name)["body"]
        bodies += [json.dumps(shape(body, version)).encode() for version in VERSIONS]
    return list(dict.fromkeys(bodies))


def dictionary() -> list[bytes]:
    """Tokens libFuzzer splices into bodies: the schema's names and values, and what JSON,
    Python's json and Postgres treat specially."""
    words = [*WebhookSchema().fields, "prechange", "postchange", "id", *OBJECT_EVENTS, "job_"]
    words += [*HANDLED_OBJECT_TYPES, *OBJECT_TYPE_OF_MODEL]
    tokens = [json.dumps(word).encode() for word in words]
    tokens += [b"{", b"}", b"[", b"]", b":", b",", b'"', b"true", b"false", b"null", b"-0"]
    # Constants Python reads but JSON has not, a number past a double's range, escapes of
    # what Postgres cannot store (NUL, half a surrogate pair), the same as raw UTF-8 bytes,
    # a byte-order mark, an escaped newline (where a regex's $ still matches).
    tokens += [b"NaN", b"Infinity", b"-Infinity", b"1e999", b"\\u0000", b"\\ud800", b"\\udc00"]
    tokens += [b"\x00", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\\n", b"+00:00", b"Z"]
    return list(dict.fromkeys(tokens))


def _dictionary_file(tokens: list[bytes]) -> str:
    # libFuzzer's format: one quoted token a line; \xNN for any byte not plainly printable.
    def quoted(token: bytes) -> str:
        return "".join(
            chr(b) if 0x20 < b < 0x7F and b not in b'\\"' else f"\\x{b:02x}" for b in token
        )

    return "".join(f'"{quoted(token)}"\n' for token in tokens)


def _where(exc: BaseException) -> str:
    """The kind of an unforeseen exception: its type and the line that raised it."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"


def _instrument(atheris: Any) -> None:
    """Coverage from the Python functions on the loader's path. Loaded already (this module
    imports them), so instrument_imports would miss them; instrument_all takes minutes over
    the 18,000 functions the service's imports bring."""
    for obj in gc.get_objects():
        if isinstance(obj, types.FunctionType) and _covered(obj.__module__ or ""):
            atheris.instrument_func(obj)
    atheris.instrument_func(load)
    atheris.instrument_func(check)


def _covered(module: str) -> bool:
    return any(module == name or module.startswith(f"{name}.") for name in COVERED)


#: Stands for the spliced bytes while the rest of a body is written out again (and as
#: json.dumps writes it, whether ASCII or not: it escapes control characters always).
_PLACEHOLDER = "\x01nzc-fuzz-splice\x01"
_SPLICE = json.dumps(_PLACEHOLDER).encode()
#: What json.loads also reads (it detects the encoding), for a body written out again.
_ENCODINGS = ("utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def mutate_json(
    data: bytes, max_size: int, rng: random.Random, mutate_bytes: Callable[[bytes, int], bytes]
) -> bytes | None:
    """A mutation that keeps a JSON object mostly JSON: one key dropped, or one key or value
    of its tree, as JSON text, mutated by ``mutate_bytes`` (libFuzzer's) and spliced back
    verbatim, so that what Python's json never writes (``1e999``, ``\\ud800``, invalid
    UTF-8) survives; now and then the body in another encoding json.loads reads. None when
    ``data`` is no JSON object (libFuzzer's own mutations then)."""
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or not body:
        return None
    slots: list[tuple[Any, Any]] = []
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        for key, inner in node.items() if isinstance(node, dict) else enumerate(node):
            slots.append((node, key))
            if isinstance(inner, dict | list) and inner:
                stack.append(inner)
    # Half the time a top-level key (the first slots): the ones the schema validates, few
    # among the hundreds of a capture's free-form data.
    node, key = rng.choice(slots[: len(body)] if rng.random() < 0.5 else slots)
    choice = rng.random()
    raw = b""
    try:
        if isinstance(node, dict) and choice < 0.1:
            del node[key]
        elif isinstance(node, dict) and choice < 0.3:
            text = json.dumps(key).encode()
            raw = mutate_bytes(text, len(text) + 32)
            node[_PLACEHOLDER] = node.pop(key)
        else:
            text = json.dumps(node[key]).encode()
            raw = mutate_bytes(text, len(text) + 32)
            node[key] = _PLACEHOLDER
        out = json.dumps(body, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    except RecursionError:  # a body nested as deep as json.loads goes
        return None
    out = out.replace(_SPLICE, raw, 1)
    if rng.random() < 0.05:
        try:
            out = out.decode("utf-8", "surrogatepass").encode(
                rng.choice(_ENCODINGS), "surrogatepass"
            )
        except UnicodeError:
            pass
    return out if len(out) <= max_size else None


def _fuzz(workdir: Path, seconds: int) -> None:
    """The child: libFuzzer over ``workdir``'s corpus until the time is up (it exits)."""
    import atheris  # only here: the module must load without it

    _instrument(atheris)
    findings = workdir / "findings"
    findings.mkdir()
    kinds: set[str] = set()
    counts = [0, 0]  # bodies run, bodies accepted (checked)

    def target(data: bytes) -> None:
        counts[0] += 1
        try:
            counts[1] += check(data)
        except Exception as exc:  # noqa: BLE001 -- every exception is a finding
            key = exc.key if isinstance(exc, Finding) else _where(exc)
            if key not in kinds:
                kinds.add(key)
                stem = findings / f"finding-{len(kinds)}"
                stem.with_suffix(".bin").write_bytes(data)
                stem.with_suffix(".txt").write_text(
                    f"{key}\n\n{''.join(traceback.format_exception(exc))}"
                )
        if counts[0] % 1000 == 0:  # libFuzzer ends the process: no report at exit
            (workdir / "counts").write_text(f"{counts[0]} {counts[1]}")

    options = [
        f"-max_total_time={seconds}",
        f"-max_len={MAX_LEN}",
        f"-timeout={PER_INPUT_TIMEOUT_S}",
        f"-dict={workdir / 'json.dict'}",
        f"-artifact_prefix={workdir}/",
        "-print_final_stats=1",
    ]
    captures = seeds()

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        # Half libFuzzer's byte mutations (most make invalid JSON: the parser's refusals),
        # half structure-aware ones, a few of them of a whole capture again (libFuzzer
        # shrinks its corpus to small bodies the schema mostly refuses): about one body in
        # ten then reaches the checks, against one in seventy without.
        rng = random.Random(seed)
        if rng.random() < 0.5:
            base = rng.choice(captures) if rng.random() < 0.4 else data
            mutated = mutate_json(base, max_size, rng, atheris.Mutate)
            if mutated is not None:
                return mutated
        return atheris.Mutate(data, max_size)

    corpus = str(workdir / "corpus")
    atheris.Setup([sys.argv[0], *options, corpus], target, custom_mutator=mutator)
    atheris.Fuzz()


def _stat(log: str, pattern: str) -> str | None:
    found = re.findall(pattern, log)
    return found[-1] if found else None


def _replay(path: Path) -> None:
    try:
        accepted = check(path.read_bytes())
    except Exception:  # noqa: BLE001 -- shown, and the exit status says so
        traceback.print_exc()
        sys.exit(1)
    what = "accepted, and its event" if accepted else "refused (a 400), and it"
    print(f"{path}: {what} breaks nothing")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="time libFuzzer mutates for")
    parser.add_argument("--replay", type=Path, metavar="FILE", help="check one body again")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _fuzz(args.child, args.seconds)
        return
    if args.replay:
        _replay(args.replay)
        return
    if importlib.util.find_spec("atheris") is None:
        sys.exit("atheris is not installed (wheels for Linux x86_64 only): pip install atheris")
    print(
        f"{header('bench.fuzz')}; atheris {metadata.version('atheris')}, "
        f"{args.seconds} s of the webhook loader",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="nzc-fuzz-", dir="/tmp"))
    corpus = workdir / "corpus"
    corpus.mkdir()
    initial = seeds()
    for i, body in enumerate(initial):
        (corpus / f"seed-{i:03d}").write_bytes(body)
    (workdir / "json.dict").write_text(_dictionary_file(dictionary()))
    cmd = [sys.executable, "-m", "bench.fuzz", "--child", str(workdir)]
    began = time.monotonic()
    with open(workdir / "libfuzzer.log", "wb") as out:
        try:
            done = subprocess.run(
                [*cmd, "--seconds", str(args.seconds)],
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=args.seconds + GRACE_S,
            )
            status = done.returncode
        except subprocess.TimeoutExpired:
            status = None
    took = time.monotonic() - began
    log = (workdir / "libfuzzer.log").read_text(errors="replace")
    executions = _stat(log, r"stat::number_of_executed_units: (\d+)")
    fuzzed_s = _stat(log, r"Done \d+ runs in (\d+) second")
    counts = workdir / "counts"
    run, accepted = counts.read_text().split() if counts.exists() else ("0", "0")
    found = sorted((workdir / "findings").glob("*.bin"))
    found += sorted(p for pattern in ARTIFACTS for p in workdir.glob(pattern))
    kept = len(list(corpus.iterdir()))
    in_memory = _stat(log, r"DONE .*corp: (\d+)/")
    rate = _stat(log, r"stat::average_exec_per_sec: +(\d+)")
    seed = _stat(log, r"Seed: (\d+)")
    print(
        f"executions: {executions or 'unknown'} in {fuzzed_s or '?'} s of fuzzing ({rate}/s), "
        f"{took:.1f} s in all; libFuzzer seed {seed}"
    )
    if int(run):
        print(
            f"accepted by the schema, so checked: {int(accepted) / int(run):.1%} "
            f"({accepted} of the first {run})"
        )
    print(
        f"corpus: {kept} bodies ({len(initial)} seeds, {kept - len(initial)} added)"
        + (f", {in_memory} of them kept by libFuzzer for coverage" if in_memory else "")
    )
    print(f"findings: {len(found)}")
    for path in found:
        what = path.with_suffix(".txt")
        kind = what.read_text().splitlines()[0] if what.exists() else path.name.split("-")[0]
        print(f"  {kind}: {path} (.venv/bin/python -m bench.fuzz --replay {path})")
    if status != 0 or executions is None:
        tail = "\n".join(log.splitlines()[-30:])
        why = "was killed after its time" if status is None else f"exited with {status}"
        sys.exit(f"the fuzzer {why}; the end of {workdir / 'libfuzzer.log'}:\n{tail}")
    if found:
        sys.exit(f"{len(found)} finding(s); their bodies and tracebacks are in {workdir}")
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
