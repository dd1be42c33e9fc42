"""The spool relay: publishes webhooks that were accepted while RabbitMQ was unreachable."""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq

from handlers.gateways import ingest
from handlers.gateways.postgres import Store

log = logging.getLogger(__name__)

#: Seconds between relay runs while the spool may hold messages.
RELAY_INTERVAL_S = 1.0


class SpoolRelay:
    """Drains the Postgres spool to the broker, in arrival order, in a daemon thread.

    Parameters:
      store: the Postgres gateway holding the spool.
      broker: where spooled messages go.

    While this process has spooled messages (``pending``), new webhooks are spooled too,
    so they cannot overtake older ones once the broker is back.
    """

    def __init__(self, store: Store, broker: dramatiq.Broker) -> None:
        self.store = store
        self.broker = broker
        self.pending = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def publish(self, message: dict[str, Any]) -> None:
        self.broker.enqueue(dramatiq.Message(**message))

    def drain_once(self) -> int:
        """Publish what the spool holds; return how many were published."""
        with self.store.connection() as conn:
            published, error = ingest.drain_spool(conn, self.publish)
            remaining = ingest.spool_size(conn)
        if error:
            if not self._failing:
                log.warning("spool relay: broker still unreachable (%s); will retry", error)
            self._failing = True
        else:
            if self._failing or published:
                log.info("spool relay: published %d spooled webhooks", published)
            self._failing = False
        if not remaining:
            self.pending.clear()
        return published

    def notify(self) -> None:
        """Called when a webhook was spooled."""
        self.pending.set()
        self._wake.set()

    def start(self) -> None:
        """Start the thread; its first run drains what earlier processes left behind."""
        self._thread = threading.Thread(target=self._loop, name="nzc-spool-relay", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.drain_once()
            except Exception:  # noqa: BLE001 -- Postgres may be down too; try again later
                log.warning("spool relay: run failed; will retry", exc_info=True)
            if self.pending.is_set():
                self._wake.wait(RELAY_INTERVAL_S)
            else:
                self._wake.wait(RELAY_INTERVAL_S * 30)
            self._wake.clear()
