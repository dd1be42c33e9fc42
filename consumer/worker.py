"""Loaded by the worker (``dramatiq consumer.worker``) and scheduler (``periodiq ...``)."""

from __future__ import annotations

import logging
import sys

from consumer.wiring import configure_logging, setup
from handlers.config import TLS_UNVERIFIED, ConfigError, load_config

try:
    _config = load_config()
except ConfigError as exc:
    sys.stderr.write(f"nzc: configuration error: {exc}\n")
    raise SystemExit(2) from None

configure_logging(_config.log_level, _config.log_format, config=_config)
if _config.tls_verify is False:
    logging.getLogger(__name__).warning(TLS_UNVERIFIED)
broker = setup(_config).broker
