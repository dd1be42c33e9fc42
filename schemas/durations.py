"""Durations as operators type them: ``90s``, ``15m``, ``2h``, ``7d``."""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhdw])\s*$")


def parse_duration(text: str) -> timedelta:
    """``text`` as a timedelta; a ValueError names the input and shows the accepted forms."""
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(
            f"{text!r} is not a duration: write a whole number and a unit, "
            "s, m, h, d or w (e.g. 90s, 15m, 2h, 7d)"
        )
    return timedelta(**{_UNITS[match[2]]: int(match[1])})
