"""Webhook bodies of every NetBox shape from 4.0 to 4.7, built from the captured 4.4 samples.

The captures are 4.4; the other versions differ only in top-level keys (DESIGN.md):
4.0-4.3 send ``model`` without ``object_type``; 4.5 drops ``model``; 4.6 adds ``request``;
4.7 drops ``username`` and ``request_id``.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "test-secret"


def sample(name: str) -> dict:
    """A captured webhook: ``headers``, ``body`` and the exact ``raw_body`` NetBox signed."""
    return json.loads((FIXTURES / "webhooks" / name).read_text())


def sample_names() -> list[str]:
    return sorted(p.name for p in (FIXTURES / "webhooks").glob("*.json"))


#: Folders of webhooks captured from real NetBox releases other than the 4.4 ones above:
#: 4.6.8 (no ``model``, a ``request`` object) and 4.7.0-beta1 (no ``username``, no
#: ``request_id``: the request id is ``request.id``).
REAL_CAPTURES = ("webhooks-4.6", "webhooks-4.7")


def real_capture_names() -> list[str]:
    return sorted(
        f"{folder}/{p.name}" for folder in REAL_CAPTURES for p in (FIXTURES / folder).glob("*.json")
    )


def capture(name: str) -> dict:
    """A capture of :func:`real_capture_names`, like :func:`sample`."""
    return json.loads((FIXTURES / name).read_text())


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha512).hexdigest()


def shape(body: dict, version: str) -> dict:
    """``body`` (a 4.4 capture) as NetBox ``version`` would send it."""
    out = copy.deepcopy(body)
    minor = int(version.split(".")[1])
    if minor <= 3:
        out.pop("object_type", None)
    if minor >= 5:
        out.pop("model", None)
    if minor >= 6:
        out["request"] = {"id": out.get("request_id"), "username": out.get("username")}
    if minor >= 7:
        out.pop("username", None)
        out.pop("request_id", None)
    return out


VERSIONS = ["4.0", "4.1", "4.2", "4.3", "4.4", "4.5", "4.6", "4.7"]
