"""LogContext: while a worker thread runs a job, its log lines say which job, actor and target."""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

from handlers import logs

#: The most targets a log line names; a job over more says how many others it has.
MAX_LOGGED_TARGETS = 3


class LogContext(Middleware):
    """Sets the log context (:mod:`handlers.logs`) for each message a worker thread processes.

    Every record logged meanwhile, by the job, the runner, Dramatiq's worker or the other
    middleware, carries ``job_id`` and ``message_id`` (the message id, which is the job
    row's id), ``actor``, ``request_id`` (NetBox's, for a webhook-born job) and ``target``
    (from the actor's ``job_targets`` option). It goes first in the stack, so its
    ``before`` hook runs before the others' and its ``after`` hooks after theirs.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._local.token = logs.bind(
            job_id=message.message_id,
            message_id=message.message_id,
            actor=message.actor_name,
            request_id=message.options.get("request_id"),
            target=target_field(_targets(broker, message)),
        )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._reset()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._reset()

    def _reset(self) -> None:
        token = getattr(self._local, "token", None)
        if token is not None:
            self._local.token = None
            logs.reset(token)


def target_field(targets: list[str]) -> str | None:
    """The ``target`` of a log line: the one target, a comma-joined short list, or None."""
    if not targets:
        return None
    shown = ",".join(targets[:MAX_LOGGED_TARGETS])
    more = len(targets) - MAX_LOGGED_TARGETS
    return f"{shown} (+{more} more)" if more > 0 else shown


def _targets(broker: dramatiq.Broker, message: dramatiq.Message) -> list[str]:
    try:
        targets_fn = broker.get_actor(message.actor_name).options.get("job_targets")
        return list(targets_fn(*message.args, **message.kwargs)) if targets_fn else []
    except Exception:  # noqa: BLE001 -- unknown actor or bad arguments: the job itself says so
        return []
