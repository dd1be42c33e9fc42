"""Who may use the admin API: the holder of ``NZC_ADMIN_TOKEN``, as a bearer token.

Checked before anything else on every path under :data:`~consumer.api.operations.PREFIX`,
known or not, so an unauthenticated client learns nothing of the API, not even which
paths exist. Without a token configured the API is off and every path answers 404.
"""

from __future__ import annotations

import hmac

from flask import request

from consumer.api.operations import PREFIX
from consumer.errors import ApiError
from consumer.state import app_state


def bearer_ok(expected: str, header: str | None) -> bool:
    """Whether ``header`` (``Authorization``) is ``Bearer <expected>``, compared in
    constant time."""
    scheme, _, given = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, not str: compare_digest refuses non-ASCII strings, and headers are untrusted.
    return hmac.compare_digest(expected.encode(), given.strip().encode("utf-8", "replace"))


def require_token() -> None:
    """Before every request: refuse one under the API's prefix without the admin token."""
    if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
        return
    expected = app_state().runtime.config.admin_token
    if not expected:
        raise ApiError(
            404,
            "not found",
            "the admin API is off: set NZC_ADMIN_TOKEN to a long random string to turn it on",
        )
    header = request.headers.get("Authorization")
    if not bearer_ok(expected, header):
        challenge = 'Bearer realm="nzc"' + (', error="invalid_token"' if header else "")
        raise ApiError(
            401,
            "unauthorized",
            "send the admin token as `Authorization: Bearer $NZC_ADMIN_TOKEN`"
            + ("; the token given does not match" if header else ""),
            headers={"WWW-Authenticate": challenge},
        )
