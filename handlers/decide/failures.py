"""Failure grouping: 500 failures with one cause read as one line.

An error is normalised by stripping what differs from one occurrence to the next (ids,
names in quotes, targets, addresses, numbers), so that "host 'core-01' ... id 42" and
"host 'edge-07' ... id 43" fall in one group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: What varies inside an error message, most specific first, and what replaces it.
_VARIABLE_PARTS = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b[a-z]+\.[a-z]+:\d+\b"), "<target>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d+)?\b"), "<ip>"),
    (
        re.compile(r"(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?:/\d{1,3})?(?![\w:])", re.I),
        "<ip>",
    ),
    # A quoted name (short, no colon): a long quoted text is a message, kept.
    (re.compile(r'"[^":]{0,64}"'), '"<name>"'),
    (re.compile(r"'[^':]{0,64}'"), "'<name>'"),
    # A word with a digit in it: an id, a number, a numbered name (core-01).
    (re.compile(r"(?<![\w<])-?[\w.-]*\d[\w.-]*"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise_error(error: str) -> str:
    """``error`` with its ids, quoted names, targets, addresses and numbers replaced by
    placeholders: the same cause gives the same text."""
    text = error.strip()
    for pattern, placeholder in _VARIABLE_PARTS:
        text = pattern.sub(placeholder, text)
    return text


@dataclass(frozen=True)
class FailureGroup:
    """Failures with one normalised error.

    Parameters:
      error: the normalised error.
      count: how many failures have it.
      first_at, last_at: the oldest and newest of them.
      sample_job_id: the newest failed job, to inspect with ``nzc jobs show``.
      sample_error: that job's error as it was.
      actors: the actors that failed so, sorted.
    """

    error: str
    count: int
    first_at: datetime
    last_at: datetime
    sample_job_id: str
    sample_error: str
    actors: list[str]


def group_failures(failures: Iterable[dict[str, Any]]) -> list[FailureGroup]:
    """Group failures (dicts with ``job_id``, ``actor``, ``error``, ``at``) by normalised
    error; the largest group first, then the most recent."""
    groups: dict[str, dict[str, Any]] = {}
    for failure in failures:
        key = normalise_error(failure["error"])
        group = groups.get(key)
        if group is None:
            groups[key] = group = {
                "count": 0,
                "first_at": failure["at"],
                "last_at": failure["at"],
                "sample": failure,
                "actors": set(),
            }
        group["count"] += 1
        group["actors"].add(failure["actor"])
        group["first_at"] = min(group["first_at"], failure["at"])
        if failure["at"] >= group["last_at"]:
            group["last_at"], group["sample"] = failure["at"], failure
    result = [
        FailureGroup(
            error=key,
            count=g["count"],
            first_at=g["first_at"],
            last_at=g["last_at"],
            sample_job_id=g["sample"]["job_id"],
            sample_error=g["sample"]["error"],
            actors=sorted(g["actors"]),
        )
        for key, g in groups.items()
    ]
    result.sort(key=lambda g: (-g.count, -g.last_at.timestamp(), g.error))
    return result
