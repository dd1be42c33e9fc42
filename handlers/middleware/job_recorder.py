"""JobRecorder: writes the ``queued`` job row at enqueue and the ``dead`` status at the end."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from handlers.gateways import job_records
from handlers.gateways.postgres import Store
from handlers.runner import Refused

log = logging.getLogger(__name__)

#: Message option saying the job row was already written (the web edge writes a webhook's
#: row with its de-duplication, in one statement), so enqueueing it writes nothing more.
RECORDED = "recorded"


class JobRecorder(Middleware):
    """Keeps the jobs table in step with the broker.

    Parameters:
      store: the Postgres gateway the rows go to.

    Actors name their targets with the ``job_targets`` option (a function of the actor's
    arguments); a message may carry ``request_id`` and ``replay_of`` options.
    """

    actor_options = {"job_targets", "job_locks", "job_resume"}
    # Message options read here: request_id, replay_of, RECORDED.

    def __init__(self, store: Store) -> None:
        self.store = store

    def after_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: Any) -> None:
        if message.options.get("retries") or message.options.get(RECORDED):
            return  # a retry, or a webhook whose row the web edge wrote with its de-duplication
        actor = broker.get_actor(message.actor_name)
        targets_fn = actor.options.get("job_targets")
        targets = targets_fn(*message.args, **message.kwargs) if targets_fn else []
        with self.store.connection() as conn:
            job_records.record_enqueued(
                conn,
                job_id=message.message_id,
                actor=message.actor_name,
                queue=q_name(message.queue_name),
                targets=targets,
                args=list(message.args),
                kwargs=dict(message.kwargs),
                request_id=message.options.get("request_id"),
                replay_of=message.options.get("replay_of"),
            )

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None and message.failed:
            why = "refused" if isinstance(exception, Refused) else "retries exhausted"
            self._dead(message.message_id, f"{why}; the message is in the dead-letter queue")

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        if message.failed:
            self._dead(
                message.message_id, "skipped (too old); the message is in the dead-letter queue"
            )

    def _dead(self, job_id: str, reason: str) -> None:
        with self.store.connection() as conn:
            job_records.mark_dead(conn, job_id, reason)
            job_records.log_event(conn, "error", reason, job_id=job_id)
