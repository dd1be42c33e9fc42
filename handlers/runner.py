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

import dramatiq
import psycopg
from dramatiq.common import q_name
from dramatiq.middleware import CurrentMessage

from handlers.gateways import job_records
from handlers.middleware.metrics import OUTCOME
from handlers.runtime import get_runtime

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
        #: Set when the job did its work for some targets and failed for others: its row
        #: then says ``partial`` (and ``nzc jobs list --status failed`` shows it).
        self.partial = False

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
        job_records.log_event(
            self.conn, level, message, job_id=self.job_id, target=target, data=data
        )


def no_targets(*_args: Any, **_kwargs: Any) -> list[str]:
    return []


def lock_targets(conn: psycopg.Connection, targets: list[str]) -> None:
    """Take the transaction-scoped advisory lock of each target, in a fixed order (no deadlock)."""
    for target in sorted(set(targets)):
        conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [target])


def atomic_job(fn: Callable[..., Any]) -> Callable[..., None]:
    """Make ``fn(job: Job, *args, **kwargs)`` run through the runner as an actor's function.

    The job's targets come from the actor's ``job_targets`` option (a function of the
    actor's arguments), declared once with the actor; they are locked unless its
    ``job_locks`` option is false. The job's return value goes to the job row (``result``),
    not back to Dramatiq; its outcome (``succeeded``, ``partial``, or ``skipped`` for a
    redelivered message whose job had ended) goes to the message's
    :data:`~handlers.middleware.metrics.OUTCOME` option, for the metrics middleware.
    :func:`job_actor` declares all of it at once.
    """

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> None:
        message = CurrentMessage.get_current_message()
        if message is None:
            raise RuntimeError(f"{fn.__name__} must run as a Dramatiq actor")
        actor = get_runtime().broker.get_actor(message.actor_name)
        targets = actor.options.get("job_targets", no_targets)(*args, **kwargs)
        _run(
            fn,
            message,
            targets,
            args,
            kwargs,
            lock=actor.options.get("job_locks", True),
            resume=actor.options.get("job_resume"),
        )

    return run


def job_actor(
    *,
    queue: str,
    targets: TargetsFn = no_targets,
    refuses: tuple[type[Exception], ...] = (),
    locks: bool = True,
    resume: Callable[[], Any] | None = None,
    **options: Any,
) -> Callable[[Callable[..., Any]], dramatiq.Actor]:
    """Declare a job of the catalogue: a Dramatiq actor on ``queue`` whose function runs
    through the runner, locking ``targets(*args, **kwargs)`` (only recording them on the job
    row when ``locks`` is false); the exceptions in ``refuses`` are not retried (the message
    goes to the dead-letter queue at once). ``resume`` runs when a message comes again after
    its job ended: the worker may have died between the job's commit and the follow-ups it
    sends after it, so an actor with follow-ups redoes them (idempotently). Other
    ``options`` go to Dramatiq (``periodic``, ``max_retries``, ...)::

        @job_actor(queue=QUEUE_HOSTS, targets=lambda target: [target], refuses=(Refused,))
        def update_host(job, target): ...
    """

    def decorate(fn: Callable[..., Any]) -> dramatiq.Actor:
        return dramatiq.actor(
            atomic_job(fn),
            actor_name=fn.__name__,
            queue_name=queue,
            job_targets=targets,
            job_locks=locks,
            job_resume=resume,
            throws=refuses,
            **options,
        )

    return decorate


def _run(
    fn: Callable[..., Any],
    message: Any,
    targets: list[str],
    args: tuple,
    kwargs: dict,
    *,
    lock: bool = True,
    resume: Callable[[], Any] | None = None,
) -> Any:
    store = get_runtime().store
    job_id = message.message_id
    attempt = message.options.get("retries", 0) + 1
    started = time.monotonic()
    try:
        with store.connection() as conn, conn.transaction():
            if lock:
                lock_targets(conn, targets)
            # Recorded after the locks, on its own connection: "running" is visible at once
            # and started_at is when the work began, not when it queued for the lock.
            with store.connection() as side:
                fresh = job_records.record_started(
                    side,
                    job_id=job_id,
                    actor=message.actor_name,
                    queue=q_name(message.queue_name),
                    targets=targets,
                    args=list(args),
                    kwargs=kwargs,
                    attempt=attempt,
                )
                if not fresh:
                    job_records.log_event(
                        side,
                        "warning",
                        f"{message.actor_name}: message delivered again after its job ended;"
                        " acknowledged without running it again",
                        job_id=job_id,
                        data={"attempt": attempt},
                    )
            if not fresh:
                raise _Ended
            started = time.monotonic()
            job = Job(conn, job_id, targets, attempt)
            result = fn(job, *args, **kwargs)
            duration_ms = (time.monotonic() - started) * 1000
            status = "partial" if job.partial else "succeeded"
            job_records.record_finished(
                conn,
                job_id=job_id,
                status=status,
                duration_ms=duration_ms,
                result=result,
                targets=job.targets if job.targets != targets else None,
            )
            job_records.log_event(
                conn,
                "info",
                f"{message.actor_name} {'partly succeeded' if job.partial else 'succeeded'}",
                job_id=job_id,
                data={"attempt": attempt, "duration_ms": round(duration_ms, 3)},
            )
        # One line per finished job; the log context adds its id, actor and target.
        log.info(
            "%s %s in %.0f ms (attempt %d)",
            message.actor_name,
            "partly succeeded" if job.partial else "succeeded",
            duration_ms,
            attempt,
        )
    except _Ended:
        message.options[OUTCOME] = "skipped"
        if resume is not None:
            _follow_up(message.actor_name, job_id, resume)
        return None
    except Exception as exc:
        duration_ms = (time.monotonic() - started) * 1000
        _record_failure(store, job_id, message.actor_name, attempt, duration_ms, exc)
        raise
    for action in job._after_commit:
        _follow_up(message.actor_name, job_id, action)
    message.options[OUTCOME] = status
    return result


class _Ended(Exception):
    """The message came again after its job ended: leaves the job's transaction unused."""


def _follow_up(actor: str, job_id: str, action: Callable[[], Any]) -> None:
    """Run what a job sends after its commit (the next reconcile run, an import's next
    part). The job has committed: a follow-up that fails must not record it failed, nor have
    Dramatiq run it again."""
    try:
        action()
    except Exception:
        log.exception(
            "%s: job %s committed, but what it sends after its commit failed (a reconcile run"
            " it owed comes with the minute's periodic run)",
            actor,
            job_id,
        )


def _record_failure(
    store: Any, job_id: str, actor: str, attempt: int, duration_ms: float, exc: Exception
) -> None:
    error = f"{type(exc).__name__}: {exc}"
    try:
        with store.connection() as conn, conn.transaction():
            job_records.record_finished(
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
            job_records.log_event(
                conn, "error", f"{actor} failed (attempt {attempt}): {error}", job_id=job_id
            )
    except Exception:
        # The original error matters more; Dramatiq still retries and logs it.
        log.exception("could not record the failure of job %s", job_id)
