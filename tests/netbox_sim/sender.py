"""Delivers webhook bodies as NetBox does: JSON, signed with X-Hook-Signature."""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import requests


class WebhookSender:
    """Posts webhook bodies to ``url`` from ``threads`` sender threads (NetBox's RQ workers).

    Parameters:
      url: the receiver, e.g. ``http://127.0.0.1:8000/webhooks/netbox``; None sends nothing.
      secret: the webhook secret; None sends no signature.
      threads: concurrent deliveries; 1 keeps NetBox's order exactly.

    Like NetBox, a failed delivery is not retried; it is counted in ``failed``.
    """

    def __init__(self, url: str | None, secret: str | None, threads: int = 1) -> None:
        self.url = url
        self.secret = secret
        self.sent = 0
        self.failed = 0
        self.statuses: dict[int, int] = {}
        #: Bodies for which this returns true are never sent (NetBox failed to deliver them).
        self.dropped: Callable[[dict[str, Any]], bool] = lambda _body: False
        #: Deliveries a second at most (None: as fast as the receiver answers); with one
        #: thread, NetBox's single RQ worker sending a bulk edit's webhooks in turn.
        self.rate: float | None = None
        #: When the first delivery started (time.monotonic()), for benchmarks.
        self.first_at: float | None = None
        self._queue: queue.Queue[bytes | None] = queue.Queue()
        self._lock = threading.Lock()
        self._gate = threading.Condition()
        self._started = 0
        self._allowed: int | None = None
        self._next_at = 0.0
        self._threads = [
            threading.Thread(target=self._run, name=f"webhook-sender-{i}", daemon=True)
            for i in range(threads)
        ]
        for thread in self._threads:
            thread.start()

    def set_threads(self, threads: int) -> None:
        """Deliver with ``threads`` concurrent senders from now on."""
        for i in range(len(self._threads), threads):
            thread = threading.Thread(target=self._run, name=f"webhook-sender-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def allow(self, count: int | None) -> None:
        """Start only ``count`` more deliveries, holding the rest queued until called again
        (None: deliver everything), so a test can hold NetBox's delivery still."""
        with self._gate:
            self._allowed = None if count is None else self._started + count
            self._gate.notify_all()

    @property
    def started(self) -> int:
        """Deliveries started so far."""
        with self._gate:
            return self._started

    def _turn(self) -> None:
        """Wait until this delivery may start: allowed, and at the rate."""
        with self._gate:
            self._gate.wait_for(lambda: self._allowed is None or self._started < self._allowed)
            self._started += 1
            now = time.monotonic()
            self.first_at = self.first_at or now
            start = max(now, self._next_at)
            self._next_at = start + (1 / self.rate if self.rate else 0)
        time.sleep(max(0.0, start - time.monotonic()))

    def headers(self, raw: bytes) -> dict[str, str]:
        """The headers NetBox sends with ``raw``."""
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers["X-Hook-Signature"] = hmac.new(
                self.secret.encode(), raw, hashlib.sha512
            ).hexdigest()
        return headers

    def __call__(self, body: dict[str, Any]) -> None:
        if self.url and not self.dropped(body):
            self._queue.put(json.dumps(body).encode())

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every queued webhook was delivered (or failed)."""
        self._queue.join()

    def close(self) -> None:
        self.allow(None)
        for _ in self._threads:
            self._queue.put(None)

    def _run(self) -> None:
        session = requests.Session()
        while True:
            raw = self._queue.get()
            try:
                if raw is None:
                    return
                self._turn()
                try:
                    resp = session.post(self.url, data=raw, headers=self.headers(raw), timeout=10)
                    status = resp.status_code
                except requests.RequestException:
                    status = 0
                with self._lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1
                    if 200 <= status < 300:
                        self.sent += 1
                    else:
                        self.failed += 1
            finally:
                self._queue.task_done()
