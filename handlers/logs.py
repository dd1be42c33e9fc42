"""Structured logs: the context each record carries, the filters that add it and mask secrets,
and the two line formats (``text`` for a person at a terminal, ``json`` for a collector).

The context is one :class:`~contextvars.ContextVar`, set in one place per path: around a job
by :class:`handlers.middleware.log_context.LogContext`, around a webhook request by
:mod:`consumer.webhooks`. The filters sit on the root logger's handlers, not on loggers, so
that records of every logger (ours, Dramatiq's, periodiq's, pika's) pass through them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from types import MappingProxyType

from pythonjsonlogger.json import JsonFormatter

#: The context fields, in the order the text format shows them.
CONTEXT_FIELDS = ("request_id", "job_id", "message_id", "target", "actor")
#: What replaces a secret.
MASK = "***"
#: Secrets shorter than this (characters) are not masked: masking them would garble ordinary
#: words (the dev database password is ``nzc``, as in ``nzc-events``), and a value that short
#: is not a secret anyway.
MIN_SECRET_CHARS = 6
#: The text format: what ``configure_logging`` always printed; the context follows in [...].
TEXT_FORMAT = "%(asctime)s %(levelname)s %(process)d %(name)s: %(message)s"

_context: ContextVar[Mapping[str, str]] = ContextVar(
    "nzc_log_context", default=MappingProxyType({})
)


def bind(**fields: object) -> Token:
    """Add ``fields`` (of :data:`CONTEXT_FIELDS`; None values are left out) to the log context
    of the current thread until :func:`reset` is given the token returned."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"not log context fields: {', '.join(sorted(unknown))}")
    known = {key: str(value) for key, value in fields.items() if value is not None}
    return _context.set(MappingProxyType({**_context.get(), **known}))


def reset(token: Token) -> None:
    """Give the log context back the value it had before the :func:`bind` of ``token``."""
    _context.reset(token)


class ContextFilter(logging.Filter):
    """Adds the log context to each record as attributes; a field not known is not added (a
    JSON line then has no such key), and a field given with ``extra=`` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if key not in record.__dict__:
                setattr(record, key, value)
        return True


class SecretFilter(logging.Filter):
    """Replaces each secret with ``***`` in a record's final message, exception and stack text.

    Defence in depth: no log call of ours carries a secret, but a library's exception or
    debug line may quote one. The exception is formatted here and the masked text replaces
    it, so that no handler or formatter after this filter can print it unmasked.

    Parameters:
      secrets: the exact values to mask (``Config.secrets()``); empty and short ones
        (under :data:`MIN_SECRET_CHARS`) are ignored.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        values = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_CHARS}, key=len)
        # Longest first, so a secret that contains another is masked whole.
        self._pattern = re.compile("|".join(map(re.escape, reversed(values)))) if values else None

    def mask(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``."""
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 -- a bad format string: the handler reports it
            return True
        record.msg, record.args = self.mask(message), None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _PLAIN.formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


_PLAIN = logging.Formatter()


class TextFormatter(logging.Formatter):
    """:data:`TEXT_FORMAT`, then the known context fields as ``[key=value ...]``."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = [f"{k}={record.__dict__[k]}" for k in CONTEXT_FIELDS if k in record.__dict__]
        return f"{line} [{' '.join(fields)}]" if fields else line


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: ``time`` (ISO 8601, UTC, milliseconds), ``level``,
    ``logger``, ``message``, then the context fields that are known, ``exc_info`` (the
    traceback as text) when there is one, and any ``extra=`` fields."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            json_ensure_ascii=False,
        )

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of ``log_format`` (``text`` or ``json``)."""
    if log_format == "json":
        return JsonLineFormatter()
    if log_format == "text":
        return TextFormatter()
    raise ValueError(f"the log format is text or json, not {log_format!r}")
