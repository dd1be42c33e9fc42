"""Loaded by the worker (``dramatiq handlers.worker``) and scheduler (``periodiq ...``)."""

from __future__ import annotations

import sys

from consumer.config import ConfigError, load_config
from consumer.wiring import configure_logging, setup

try:
    _config = load_config()
except ConfigError as exc:
    sys.stderr.write(f"nzc: configuration error: {exc}\n")
    raise SystemExit(2) from None

configure_logging(_config.log_level)
broker = setup(_config).broker
