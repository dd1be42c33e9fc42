"""Group commit at the web edge: webhooks that arrive together share one Postgres statement,
one RabbitMQ message and one publisher confirm; each is answered once its own event is
durable (confirmed by RabbitMQ, or committed to the spool).

A batch of one never waits for company: the first webhook with nobody committing commits
at once, and those arriving while it does gather for the next commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import dramatiq
import psycopg
from dramatiq.message import generate_unique_id

from consumer.errors import ApiError
from consumer.relay import SpoolRelay
from handlers.broker import QUEUE_EVENTS
from handlers.gateways import ingest, job_records
from handlers.gateways.ingest import IngestConnection
from handlers.gateways.job_records import Webhook
from handlers.gateways.postgres import Store
from handlers.middleware.job_recorder import RECORDED

log = logging.getLogger(__name__)

#: Most webhooks one commit takes (one message carries their events).
MAX_BATCH = 64
#: Seconds the edge waits for a Postgres connection before treating Postgres as down.
DB_TIMEOUT_S = 2.0
#: The actor of a batch of events.
EVENTS_ACTOR = "handle_events"

In = TypeVar("In")
Out = TypeVar("Out")


class _Waiter(Generic[In, Out]):
    __slots__ = ("item", "woken", "leads", "result", "error")

    def __init__(self, item: In) -> None:
        self.item = item
        self.woken = threading.Event()
        self.leads = False
        self.result: Out | None = None
        self.error: BaseException | None = None


class GroupCommit(Generic[In, Out]):
    """Leader and followers: a caller that finds nobody committing commits what is queued
    (its own item first); callers arriving meanwhile queue and wait. When a commit ends, the
    oldest waiter, if any, leads the next one, so every caller is answered by the commit
    that carried its item, and none waits for a timer.

    Parameters:
      commit: takes a batch, returns one result per item in order (an exception as an
        item's result is raised to its caller only); what it raises is raised to every
        caller of the batch.
      max_batch: most items one commit takes.
    """

    def __init__(self, commit: Callable[[list[In]], list[Out]], max_batch: int = MAX_BATCH) -> None:
        self._commit = commit
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Waiter[In, Out]] = []
        self._busy = False

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken by a commit."""
        with self._lock:
            return len(self._queue)

    def submit(self, item: In) -> Out:
        """Commit ``item`` with whatever else is queued; its result once committed."""
        me: _Waiter[In, Out] = _Waiter(item)
        with self._lock:
            self._queue.append(me)
            me.leads = not self._busy
            self._busy = True
        if not me.leads:
            me.woken.wait()
        if me.leads:
            self._lead()
        if me.error is not None:
            raise me.error
        return me.result  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
        try:
            results = self._commit([w.item for w in batch])
            for waiter, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):  # this item's own failure
                    waiter.error = result
                else:
                    waiter.result = result
        except BaseException as exc:  # noqa: BLE001 -- every caller of the batch gets it
            for waiter in batch:
                waiter.error = exc
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].leads = True
                    self._queue[0].woken.set()
                else:
                    self._busy = False
            for waiter in batch:
                waiter.leads = False
                waiter.woken.set()


@dataclass(frozen=True)
class Outcome:
    """What became of one webhook: the message carrying it, or the earlier delivery it
    repeats (``duplicate_of``), and whether it waits in the spool."""

    message_id: str
    duplicate: bool = False
    spooled: bool = False


class Intake:
    """The webhook endpoint's commit: de-duplication and the job row in one statement, the
    events in one message, published with a confirm (or spooled), for a batch at a time.

    Parameters:
      store: the pool, for the spool.
      ingest_db: the per-thread autocommit connections of the endpoint.
      broker: where the messages go.
      relay: the spool relay (while it holds messages, new ones are spooled behind them).
      observe: called with each batch's size (the web's metric).
    """

    def __init__(
        self,
        store: Store,
        ingest_db: IngestConnection,
        broker: dramatiq.Broker,
        relay: SpoolRelay,
        observe: Callable[[int], None] = lambda _size: None,
        max_batch: int = MAX_BATCH,
    ) -> None:
        self.store = store
        self.observe = observe
        self.ingest_db = ingest_db
        self.broker = broker
        self.relay = relay
        self.group: GroupCommit[Webhook, Outcome] = GroupCommit(self.commit, max_batch)

    def accept(self, webhook: Webhook) -> Outcome:
        """Make ``webhook`` durable (with whatever arrived with it); raises :class:`ApiError`
        503 when neither RabbitMQ nor Postgres can keep it."""
        return self.group.submit(webhook)

    def commit(self, batch: list[Webhook]) -> list[Outcome | Exception]:
        self.observe(len(batch))
        message_id = generate_unique_id()
        # A body repeated within the batch is a duplicate of its first copy.
        first: dict[bytes, int] = {}
        for i, webhook in enumerate(batch):
            first.setdefault(webhook.body_sha256, i)
        distinct = [batch[i] for i in sorted(first.values())]
        db_up = True
        try:
            earlier = self._record(message_id, distinct)
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError):
            if len(batch) == 1:
                raise
            # One webhook Postgres refuses must not fail the others: each on its own.
            return [self._alone(webhook) for webhook in batch]
        except psycopg.OperationalError as exc:
            # Postgres down: the broker alone still keeps the events (no de-duplication).
            log.warning(
                "webhooks not recorded (%d, message %s), Postgres is unreachable: %s",
                len(distinct),
                message_id,
                exc,
            )
            self.ingest_db.discard()
            db_up = False
            earlier = [None] * len(distinct)
        seen = dict(zip((w.body_sha256 for w in distinct), earlier, strict=True))
        accepted = [w for w in distinct if seen[w.body_sha256] is None]
        spooled = self._send(message_id, accepted, db_up) if accepted else False
        outcomes = []
        for i, webhook in enumerate(batch):
            before = seen[webhook.body_sha256]
            if before is not None:
                outcomes.append(Outcome(before, duplicate=True))
            elif first[webhook.body_sha256] != i:
                outcomes.append(Outcome(message_id, duplicate=True))
            else:
                outcomes.append(Outcome(message_id, spooled=spooled))
        return outcomes

    def _record(self, message_id: str, webhooks: list[Webhook]) -> list[str | None]:
        for attempt in (1, 2):
            try:
                return job_records.record_webhooks(
                    self.ingest_db.get(),
                    message_id=message_id,
                    actor=EVENTS_ACTOR,
                    queue=QUEUE_EVENTS,
                    webhooks=webhooks,
                )
            except psycopg.errors.TransactionRollback:
                if attempt == 2:  # not a deadlock that one more try resolves
                    raise
        raise AssertionError("unreachable")

    def _alone(self, webhook: Webhook) -> Outcome | Exception:
        try:
            return self.commit([webhook])[0]
        except Exception as exc:  # noqa: BLE001 -- its own caller gets it
            return exc

    def _send(self, message_id: str, webhooks: list[Webhook], db_up: bool) -> bool:
        """Publish the batch's message, or spool it; True when spooled."""
        request_ids = {w.request_id for w in webhooks}
        message = dramatiq.Message(
            queue_name=QUEUE_EVENTS,
            actor_name=EVENTS_ACTOR,
            args=([w.event for w in webhooks],),
            kwargs={},
            # The job row was written with the de-duplication, in the one statement.
            options={
                "request_id": next(iter(request_ids)) if len(request_ids) == 1 else None,
                RECORDED: True,
            },
            message_id=message_id,
        )
        if db_up and self.relay.pending.is_set():
            return self._spool(message, "earlier webhooks are still spooled")
        try:
            self.broker.enqueue(message)
        except Exception as exc:  # noqa: BLE001 -- any broker failure: keep the events in Postgres
            if not db_up:
                log.error("webhooks refused: RabbitMQ and Postgres are both unreachable")
                raise _both_down() from exc
            return self._spool(message, f"{type(exc).__name__}: {exc}")
        return False

    def _spool(self, message: dramatiq.Message, why: str) -> bool:
        try:
            with self.store.connection(timeout=DB_TIMEOUT_S) as conn:
                ingest.spool(conn, message.asdict(), why)
        except psycopg.OperationalError:
            raise _both_down() from None
        self.relay.notify()
        return True


def _both_down() -> ApiError:
    return ApiError(
        503,
        "service unavailable",
        "RabbitMQ and Postgres are both unreachable; NetBox records the failed delivery, "
        "which can be retried once they are back",
    )


def webhook(event: dict[str, Any], body_sha256: bytes, target: str | None) -> Webhook:
    """The record of a verified webhook."""
    return Webhook(body_sha256, event, target, event.get("request_id"))
