"""The dead-letter queues (``<queue>.XQ``) in RabbitMQ: the messages whose retries ran out.

Dramatiq dead-letters a message by rejecting it; RabbitMQ moves it to its queue's ``.XQ``
with an ``x-death`` header saying when. Nothing in Dramatiq reads them back: this module
lists them (without consuming), counts them, and takes chosen ones out.

Taking works on a :class:`DeadLetters` session: it reads every dead letter without
acknowledging it, so the messages stay in RabbitMQ (and go back to their queue when the
session closes) until :meth:`DeadLetters.remove` acknowledges one. A crash in between
loses nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
import pika.exceptions
from dramatiq.common import xq_name

from handlers.broker import QUEUES

#: Seconds a connection attempt or a socket read may take.
SOCKET_TIMEOUT_S = 5


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue.

    Parameters:
      message_id: the Dramatiq message id (the job row's id, when it has one).
      queue: the queue it was dead-lettered from (``nzc-hosts``).
      message: the Dramatiq message as a dict (actor_name, args, kwargs, options, ...).
      dead_at: when RabbitMQ dead-lettered it, where its header says.
    """

    message_id: str
    queue: str
    message: dict[str, Any]
    dead_at: datetime | None

    @property
    def actor(self) -> str:
        return str(self.message.get("actor_name", "?"))


def _parameters(broker_url: str) -> pika.URLParameters:
    params = pika.URLParameters(broker_url.split(";")[0])
    params.socket_timeout = SOCKET_TIMEOUT_S
    params.blocked_connection_timeout = SOCKET_TIMEOUT_S
    params.connection_attempts = 1
    return params


def _dead_at(properties: Any) -> datetime | None:
    deaths = (properties.headers or {}).get("x-death") or []
    when = deaths[0].get("time") if deaths else None
    if isinstance(when, datetime):
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _decode(queue: str, tag: int, properties: Any, body: bytes) -> DeadLetter:
    try:
        message = json.loads(body)
        if not isinstance(message, dict):
            raise ValueError("not an object")
    except ValueError:
        # Not a Dramatiq message: listed, so an operator sees it, but never replayed.
        message = {"actor_name": "?", "undecodable": body[:200].decode("utf-8", "replace")}
    message_id = str(message.get("message_id") or properties.message_id or f"tag-{tag}")
    return DeadLetter(message_id, queue, message, _dead_at(properties))


def _counts(connection: Any, queues: tuple[str, ...]) -> tuple[Any, dict[str, int]]:
    """A usable channel and queue -> messages in its dead-letter queue (0 when the queue
    was never declared: a passive declare of a missing queue closes the channel)."""
    channel = connection.channel()
    counts: dict[str, int] = {}
    for queue in queues:
        try:
            counts[queue] = channel.queue_declare(xq_name(queue), passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:
            counts[queue] = 0
            channel = connection.channel()
    return channel, counts


def queue_depths(broker_url: str, queues: tuple[str, ...] = QUEUES) -> dict[str, int]:
    """Queue name -> how many messages its dead-letter queue holds (0 when never declared)."""
    with pika.BlockingConnection(_parameters(broker_url)) as connection:
        return _counts(connection, queues)[1]


class DeadLetters:
    """A read of every dead letter, held unacknowledged until removed or the session ends.

    Parameters:
      channel: an open pika channel, owned by the session.
      letters: the dead letters read, by message id (the first copy wins).

    Example::

        with dead_letters.session(url) as dlq:
            letter = dlq.letters.get(job_id)
            ...
            dlq.remove(job_id)  # gone from RabbitMQ
    """

    def __init__(self, channel: Any, letters: dict[str, DeadLetter], copies: dict[str, list]):
        self._channel = channel
        self.letters = letters
        self._copies = copies

    def remove(self, message_id: str) -> bool:
        """Acknowledge every copy of ``message_id``: they leave the dead-letter queue."""
        tags = self._copies.pop(message_id, [])
        for tag in tags:
            self._channel.basic_ack(tag)
        self.letters.pop(message_id, None)
        return bool(tags)


def _read_all(channel: Any, counts: dict[str, int]) -> tuple[dict, dict]:
    letters: dict[str, DeadLetter] = {}
    copies: dict[str, list[int]] = {}
    for queue, count in counts.items():
        # Read at most what the queue held when we looked: a letter that arrives meanwhile
        # waits for the next session instead of making this one run forever.
        for _ in range(count):
            method, properties, body = channel.basic_get(xq_name(queue), auto_ack=False)
            if method is None:
                break
            letter = _decode(queue, method.delivery_tag, properties, body)
            letters.setdefault(letter.message_id, letter)
            copies.setdefault(letter.message_id, []).append(method.delivery_tag)
    return letters, copies


@contextmanager
def session(broker_url: str, queues: tuple[str, ...] = QUEUES) -> Iterator[DeadLetters]:
    """Read every dead letter of ``queues``; what is not removed goes back when it ends."""
    with pika.BlockingConnection(_parameters(broker_url)) as connection:
        channel, counts = _counts(connection, queues)
        letters, copies = _read_all(channel, counts)
        yield DeadLetters(channel, letters, copies)
