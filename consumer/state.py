"""What one web app holds while it runs, in one typed object."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flask import Flask, current_app

from consumer.intake import Intake
from consumer.relay import SpoolRelay
from handlers.gateways.ingest import IngestConnection
from handlers.runtime import Runtime

#: The one key under ``app.extensions``.
EXTENSION = "nzc"


@dataclass
class AppState:
    """The per-app state of the web edge.

    Parameters:
      runtime: configuration, store and broker of the process.
      ingest_db: the per-thread autocommit connections of the webhook endpoint.
      relay: the spool relay (its thread runs only in a real web process).
      intake: the group commit of accepted webhooks.
      owns_runtime: whether the app wired the runtime itself (and closes it with the app).
      webhook_slots: one per webhook this process handles at once (NZC_WEB_MAX_CONCURRENT).
    """

    runtime: Runtime
    ingest_db: IngestConnection
    relay: SpoolRelay
    intake: Intake
    webhook_slots: threading.BoundedSemaphore
    owns_runtime: bool = False

    def close(self) -> None:
        """Stop the relay and drop the connections this app opened."""
        self.relay.stop()
        self.ingest_db.discard()
        if self.owns_runtime:
            self.runtime.broker.close()
            self.runtime.store.close()


def app_state(app: Flask | None = None) -> AppState:
    """The state of ``app`` (default: the app handling the current request)."""
    return (app or current_app).extensions[EXTENSION]
