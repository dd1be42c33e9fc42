"""Replay: failed work brought back, on operators' request (the CLI and the admin API).

A replay takes the original message out of its dead-letter queue, sends it again as a new
message (a new job, ``replay_of`` the original) and records who asked, when and why on both
rows, in one transaction with the new message's publish. The original's row lock makes a
second replay of the same job find it ``replayed`` and send nothing. Jobs read NetBox
afresh, so a replay of stale work converges on NetBox as it is now.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pika.exceptions
import psycopg
from dramatiq.errors import ActorNotFound

from handlers.decide.failures import FailureGroup, group_failures
from handlers.gateways import dead_letters, job_records
from handlers.gateways.dead_letters import DeadLetter
from handlers.middleware.job_recorder import RECORDED
from handlers.runtime import Runtime

log = logging.getLogger(__name__)

#: Advisory lock key held while a session reads the dead-letter queues: a letter being read
#: is invisible to any other reader, so two readers at once would each miss the other's.
DLQ_LOCK_KEY = 7_340_121_012
#: Message options a replay keeps (the rest belong to the old message's retries).
KEPT_OPTIONS = ("request_id",)
#: What the job row of a dead letter without one is made of.
_DEAD_LETTER_FIELDS = (
    "job_id",
    "actor",
    "queue",
    "targets",
    "args",
    "kwargs",
    "request_id",
    "enqueued_at",
)


@dataclass(frozen=True)
class ReplayOutcome:
    """What became of one job (or dead letter) asked to be replayed.

    Parameters:
      asked: the job id or dead-letter message id asked for.
      outcome: one of :data:`OUTCOMES`.
      new_job_id: the new job (``replayed``), or the earlier replay (``already_replayed``).
      detail: one sentence for an operator.
    """

    asked: str
    outcome: str
    new_job_id: str | None
    detail: str


def failure_groups(
    conn: psycopg.Connection, *, since: timedelta | None = None, limit: int = 50
) -> list[FailureGroup]:
    """Open failures grouped by their normalised error, the largest group first."""
    return group_failures(job_records.recent_failures(conn, since=since))[:limit]


@contextmanager
def _dead_letters(runtime: Runtime) -> Iterator[dead_letters.DeadLetters]:
    """A dead-letter session, one at a time across every process (a Postgres lock)."""
    with runtime.store.connection() as lock, lock.transaction():
        lock.execute("SELECT pg_advisory_xact_lock(%s)", [DLQ_LOCK_KEY])
        with dead_letters.session(runtime.config.broker_url) as dlq:
            yield dlq


def list_dead_letters(runtime: Runtime) -> list[DeadLetter]:
    """Every dead letter, oldest first; nothing is taken out."""
    with _dead_letters(runtime) as dlq:
        letters = list(dlq.letters.values())
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(letters, key=lambda letter: (letter.dead_at or epoch, letter.message_id))


def replay(
    runtime: Runtime,
    ids: list[str],
    *,
    requested_by: str,
    reason: str | None = None,
    dry_run: bool = False,
) -> list[ReplayOutcome]:
    """Replay the jobs (or dead letters) ``ids``, in order; one outcome each.

    ``dry_run`` says what would be replayed and changes nothing, not even the dead-letter
    queues. Otherwise the session also takes out every dead letter whose job has ended
    since (replayed, or succeeded): a letter that reached its queue after its replay.
    """
    outcomes = []
    with _dead_letters(runtime) as dlq:
        for job_id in dict.fromkeys(ids):
            outcomes.append(_replay_one(runtime, dlq, job_id, requested_by, reason, dry_run))
        if not dry_run:
            with runtime.store.connection() as conn:
                ended = job_records.statuses(conn, list(dlq.letters))
            for message_id, status in ended.items():
                if status in job_records.ENDED:
                    _remove(dlq, message_id)
    return outcomes


def replay_matching(
    runtime: Runtime,
    *,
    status: str,
    actor: str | None = None,
    target: str | None = None,
    since: timedelta | None = None,
    limit: int = 100,
    requested_by: str,
    reason: str | None = None,
    dry_run: bool = False,
) -> list[ReplayOutcome]:
    """Replay the jobs a filter picks, oldest first (the CLI's ``--status``, the API's
    filter): ``dead``, or ``failed``, which includes ``partial``."""
    if status not in ("dead", "failed"):
        raise ValueError(f"status {status!r} cannot be replayed: use dead or failed")
    with runtime.store.connection() as conn:
        ids = job_records.replay_candidates(
            conn, status=status, actor=actor, target=target, since=since, limit=limit
        )
    return replay(runtime, ids, requested_by=requested_by, reason=reason, dry_run=dry_run)


def _remove(dlq: dead_letters.DeadLetters, message_id: str) -> None:
    """Take a letter out; if RabbitMQ fails now, the next session's sweep takes it."""
    try:
        dlq.remove(message_id)
    except pika.exceptions.AMQPError as exc:
        log.warning("dead letter %s left in its queue for the next replay: %s", message_id, exc)


def _replay_one(
    runtime: Runtime,
    dlq: dead_letters.DeadLetters,
    job_id: str,
    requested_by: str,
    reason: str | None,
    dry_run: bool,
) -> ReplayOutcome:
    letter = dlq.letters.get(job_id)
    with runtime.store.connection() as conn, conn.transaction():
        row = job_records.lock_for_replay(conn, job_id)
        if row is None and letter is None:
            return _refused(job_id, "no job and no dead letter has this id; `nzc jobs list`")
        if row is None:
            if "undecodable" in letter.message:
                return _refused(job_id, "the dead letter is not a Dramatiq message")
            row = _row_of(runtime, letter)
            if not dry_run:
                job_records.record_dead_letter(conn, **{k: row[k] for k in _DEAD_LETTER_FIELDS})
                row = job_records.lock_for_replay(conn, job_id)  # decide on the row, locked
        if refusal := _refusal(row, letter):
            return refusal
        try:
            runtime.broker.get_actor(row["actor"])
        except ActorNotFound:
            return _refused(job_id, f"its actor {row['actor']!r} no longer exists")
        message = _message(row, letter)
        if dry_run:
            return ReplayOutcome(
                job_id, "would_replay", None, f"{row['actor']} {row['status']}: would be replayed"
            )
        job_records.record_replay(
            conn,
            original_id=job_id,
            new_id=message.message_id,
            actor=row["actor"],
            queue=row["queue"],
            targets=list(row["targets"]),
            args=list(message.args),
            kwargs=dict(message.kwargs),
            request_id=row["request_id"],
            requested_by=requested_by,
            reason=reason,
        )
        # Published inside the transaction: if RabbitMQ refuses, the rows roll back and
        # the original stays replayable; once published, the commit records it.
        runtime.broker.enqueue(message)
    if letter is not None:
        _remove(dlq, job_id)
    return ReplayOutcome(
        job_id,
        "replayed",
        message.message_id,
        f"{row['actor']} replayed as job {message.message_id}",
    )


def _refusal(row: dict[str, Any], letter: DeadLetter | None) -> ReplayOutcome | None:
    job_id, status = row["id"], row["status"]
    if status == "replayed":
        detail = f"already replayed as job {row['replayed_as']} ({row['replay_status']})"
        if row["replay_status"] in ("dead", "failed", "partial"):
            detail += f"; replay that one: nzc jobs replay {row['replayed_as']}"
        return ReplayOutcome(job_id, "already_replayed", row["replayed_as"], detail)
    if status not in job_records.REPLAYABLE:
        return _refused(job_id, f"it is {status}: only dead, failed and partial jobs are replayed")
    if status == "failed" and letter is None:
        return _refused(
            job_id,
            f"attempt {row['attempts']} failed and Dramatiq retries it; replay it once it is "
            "dead (its retries exhausted)",
        )
    return None


def _refused(job_id: str, why: str) -> ReplayOutcome:
    return ReplayOutcome(job_id, "refused", None, f"not replayed: {why}")


def _row_of(runtime: Runtime, letter: DeadLetter) -> dict[str, Any]:
    """A job row for a dead letter that has none."""
    message = letter.message
    args, kwargs = list(message.get("args") or []), dict(message.get("kwargs") or {})
    try:
        targets_fn = runtime.broker.get_actor(letter.actor).options.get("job_targets")
        targets = targets_fn(*args, **kwargs) if targets_fn else []
    except (ActorNotFound, TypeError, ValueError):
        targets = []
    return {
        "job_id": letter.message_id,
        "id": letter.message_id,
        "actor": letter.actor,
        "queue": letter.queue,
        "targets": targets,
        "args": args,
        "kwargs": kwargs,
        "request_id": (message.get("options") or {}).get("request_id"),
        "enqueued_at": _timestamp(message.get("message_timestamp")),
        "status": "dead",
        "error": None,
        "attempts": 0,
    }


def _timestamp(milliseconds: Any) -> datetime | None:
    """A Dramatiq message timestamp (milliseconds since the epoch) as a datetime."""
    if not isinstance(milliseconds, int | float):
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _message(row: dict[str, Any], letter: DeadLetter | None) -> dramatiq.Message:
    """The new message: the dead letter's own arguments where it is at hand (exactly what
    was sent), else the row's; the options of a fresh message, linked to the original."""
    source = letter.message if letter is not None else row
    old_options = (letter.message.get("options") or {}) if letter is not None else {}
    options = {k: old_options[k] for k in KEPT_OPTIONS if old_options.get(k)}
    if row.get("request_id"):
        options["request_id"] = row["request_id"]
    return dramatiq.Message(
        queue_name=row["queue"],
        actor_name=row["actor"],
        args=tuple(source.get("args") or ()),
        kwargs=dict(source.get("kwargs") or {}),
        options={**options, "replay_of": row["id"], RECORDED: True},
    )
