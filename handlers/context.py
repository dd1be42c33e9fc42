"""The per-process runtime: configuration, store and broker, set once by ``wiring.setup``."""

from __future__ import annotations

from dataclasses import dataclass

import dramatiq

from consumer.config import Config
from handlers.store import Store


@dataclass
class Runtime:
    """What jobs and the web edge share inside one process.

    Parameters:
      config: the validated configuration.
      store: the Postgres gateway.
      broker: the Dramatiq broker actors are bound to.
    """

    config: Config
    store: Store
    broker: dramatiq.Broker


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    """The process runtime; raises when the process was not wired with ``consumer.wiring.setup``."""
    if _current is None:
        raise RuntimeError(
            "the process is not wired: call consumer.wiring.setup(config) before running jobs"
        )
    return _current
