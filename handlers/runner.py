"""The AtomicJobRunner: every job of the catalogue runs through :func:`atomic_job`.

One Postgres transaction per attempt; a transaction-scoped advisory lock per target so two
jobs on one host never interleave, whichever workers run them; success commits the job's
writes with its job-row update and an event-log entry; failure rolls them back, records the
failure in a separate transaction and re-raises so that Dramatiq retries.
"""

from __future__ import annotations

import functools
import logging
import time
import traceback
from collections.abc import Callable
from typing import Any

import psycopg
from dramatiq.common import q_name
from dramatiq.middleware import CurrentMessage

from handlers import records
from handlers.context import get_runtime

log = logging.getLogger(__name__)

#: A function from the actor's arguments to the targets it works on (e.g. ``dcim.device:42``).
TargetsFn = Callable[..., list[str]]


class JobError(Exception):
    """A job failure that carries what the job was working on, so the job row alone explains it.

    Parameters:
      message: what went wrong and what to do about it.
      data: the input the job was working on.
      pre_data: the external state (e.g. the Zabbix host) before the job touched it.
      post_data: the external state after, where known.
    """

    def __init__(
        self, message: str, *, data: Any = None, pre_data: Any = None, post_data: Any = None
    ) -> None:
        super().__init__(message)
        self.data = data
        self.pre_data = pre_data
        self.post_data = post_data


class Refused(JobError):
    """The job cannot succeed as things stand (bad input, a misconfiguration, differences
    found by a validation): retrying will not help, so actors list it in ``throws`` and the
    message goes straight to the dead-letter queue, where it can be replayed once fixed."""


class Job:
    """What a job function receives first: its transaction and its identity.

    Parameters:
      conn: the connection whose transaction commits with the job's success.
      job_id: the Dramatiq message id (the job row's id).
      targets: the targets locked for this job.
      attempt: 1 on the first run, 2 on the first retry, ...
    """

    def __init__(self, conn: psycopg.Connection, job_id: str, targets: list[str], attempt: int):
        self.conn = conn
        self.job_id = job_id
        self.targets = list(targets)
        self.attempt = attempt
        self._after_commit: list[Callable[[], Any]] = []

    def lock(self, targets: list[str]) -> None:
        """Lock targets found while running (e.g. claimed dirty targets); they are recorded on
        the job row with the others."""
        new = sorted(set(targets) - set(self.targets))
        lock_targets(self.conn, new)
        self.targets.extend(new)

    def after_commit(self, action: Callable[[], Any]) -> None:
        """Run ``action`` once the job's transaction committed (e.g. send a follow-up message
        that must not overtake the rows it refers to)."""
        self._after_commit.append(action)

    def log(self, level: str, message: str, *, target: str | None = None, data: Any = None) -> None:
        """An event-log entry inside the job's transaction: kept only if the job succeeds."""
        records.log_event(self.conn, level, message, job_id=self.job_id, target=target, data=data)


def no_targets(*_args: Any, **_kwargs: Any) -> list[str]:
    return []


def lock_targets(conn: psycopg.Connection, targets: list[str]) -> None:
    """Take the transaction-scoped advisory lock of each target, in a fixed order (no deadlock)."""
    for target in sorted(set(targets)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [target])


def atomic_job(
    targets: TargetsFn = no_targets,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a job function ``fn(job: Job, *args, **kwargs)`` to run through the runner.

    Use under ``@dramatiq.actor``; the actor is called with ``*args, **kwargs`` only. The
    job's return value goes to the job row (``result``), not back to Dramatiq::

        @dramatiq.actor(queue_name=QUEUE_HOSTS, job_targets=device_target)
        @atomic_job(device_target)
        def update_host(job, device_id): ...
    """

    def decorate(fn: Callable[..., Any]) -> Callable[..., None]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> None:
            message = CurrentMessage.get_current_message()
            if message is None:
                raise RuntimeError(f"{fn.__name__} must run as a Dramatiq actor")
            _run(fn, message, targets(*args, **kwargs), args, kwargs)

        run.job_targets = targets  # type: ignore[attr-defined]
        return run

    return decorate


def _run(
    fn: Callable[..., Any], message: Any, targets: list[str], args: tuple, kwargs: dict
) -> Any:
    store = get_runtime().store
    job_id = message.message_id
    attempt = message.options.get("retries", 0) + 1
    started = time.monotonic()
    try:
        with store.connection() as conn, conn.transaction():
            lock_targets(conn, targets)
            # Recorded after the locks, on its own connection: "running" is visible at once
            # and started_at is when the work began, not when it queued for the lock.
            with store.connection() as side:
                records.record_started(
                    side,
                    job_id=job_id,
                    actor=message.actor_name,
                    queue=q_name(message.queue_name),
                    targets=targets,
                    args=list(args),
                    kwargs=kwargs,
                    attempt=attempt,
                )
            started = time.monotonic()
            job = Job(conn, job_id, targets, attempt)
            result = fn(job, *args, **kwargs)
            duration_ms = (time.monotonic() - started) * 1000
            records.record_finished(
                conn,
                job_id=job_id,
                status="succeeded",
                duration_ms=duration_ms,
                result=result,
                targets=job.targets if job.targets != targets else None,
            )
            records.log_event(
                conn,
                "info",
                f"{message.actor_name} succeeded",
                job_id=job_id,
                data={"attempt": attempt, "duration_ms": round(duration_ms, 3)},
            )
        for action in job._after_commit:
            action()
        return result
    except Exception as exc:
        duration_ms = (time.monotonic() - started) * 1000
        _record_failure(store, job_id, message.actor_name, attempt, duration_ms, exc)
        raise


def _record_failure(
    store: Any, job_id: str, actor: str, attempt: int, duration_ms: float, exc: Exception
) -> None:
    error = f"{type(exc).__name__}: {exc}"
    try:
        with store.connection() as conn, conn.transaction():
            records.record_finished(
                conn,
                job_id=job_id,
                status="failed",
                duration_ms=duration_ms,
                error=error,
                traceback="".join(traceback.format_exception(exc)),
                data=getattr(exc, "data", None),
                pre_data=getattr(exc, "pre_data", None),
                post_data=getattr(exc, "post_data", None),
            )
            records.log_event(
                conn, "error", f"{actor} failed (attempt {attempt}): {error}", job_id=job_id
            )
    except Exception:
        # The original error matters more; Dramatiq still retries and logs it.
        log.exception("could not record the failure of job %s", job_id)
