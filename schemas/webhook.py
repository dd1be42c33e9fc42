"""NetBox webhook bodies, 4.0 to 4.7, normalised into one internal event.

Shapes accepted (see DESIGN.md): ``model`` and/or ``object_type`` (``object_type`` from
4.4, ``model`` dropped in 4.5); ``username`` and ``request_id`` (dropped in 4.7);
``request`` (from 4.6, an object or null); ``snapshots`` (null or absent for some events);
``job_started`` / ``job_ended`` events, whose ``data`` is a job, not an object.
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from schemas import Whole
from schemas.netbox import OBJECT_TYPE_OF_MODEL

#: Object events; anything starting with ``job_`` is a job event.
OBJECT_EVENTS = ("created", "updated", "deleted")


class _Snapshots(Schema):
    class Meta:
        unknown = EXCLUDE

    prechange = fields.Dict(allow_none=True, load_default=None)
    postchange = fields.Dict(allow_none=True, load_default=None)


class WebhookSchema(Schema):
    """A NetBox webhook body; ``load`` returns the normalised event (a dict).

    Normalised keys: ``event``, ``timestamp`` (ISO string), ``object_type``, ``object_id``
    (None for job events), ``username``, ``request_id``, ``data``, ``prechange``, ``postchange``.
    """

    class Meta:
        unknown = EXCLUDE  # later NetBox versions may add keys

    event = fields.String(
        required=True,
        validate=Whole(
            r"^(created|updated|deleted|job_[a-z_]+)$",
            error="must be created, updated, deleted or a job_* event",
        ),
    )
    timestamp = fields.AwareDateTime(required=True, format="iso", default_timezone=None)
    object_type = fields.String(
        validate=Whole(r"^[a-z_]+\.[a-z_]+$", error="must look like dcim.device")
    )
    model = fields.String(validate=validate.Length(min=1, max=100))
    username = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    request = fields.Dict(allow_none=True)
    data = fields.Dict(required=True)
    snapshots = fields.Nested(_Snapshots, allow_none=True)

    def __init__(self, *, check_storable: bool = True, **kwargs: Any) -> None:
        """``check_storable=False``: the caller knows the body holds no string PostgreSQL
        could refuse (:func:`may_hold_unstorable` said so), and the walk is spared."""
        super().__init__(**kwargs)
        self.check_storable = check_storable

    @validates_schema
    def _storable(self, body: dict[str, Any], **_kwargs: Any) -> None:
        """Every string kept (values and keys) must be one PostgreSQL can store: valid JSON
        may hold the NUL character or half a surrogate pair, which it cannot."""
        if not self.check_storable:
            return
        for field in ("data", "request", "snapshots", "username", "request_id", "model"):
            problem = unstorable(body.get(field), field)
            if problem:
                raise ValidationError(problem, field)

    @validates_schema
    def _kind(self, body: dict[str, Any], **_kwargs: Any) -> None:
        if "object_type" not in body and "model" not in body:
            raise ValidationError(
                "object_type (or model, before NetBox 4.4) is required", "object_type"
            )
        if body.get("event") in OBJECT_EVENTS:
            object_id = body.get("data", {}).get("id")
            if not isinstance(object_id, int) or isinstance(object_id, bool) or object_id < 1:
                raise ValidationError("must hold the object's integer id for object events", "data")

    @post_load
    def _normalise(self, body: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        request = body.get("request") or {}
        snapshots = body.get("snapshots") or {}
        object_type = body.get("object_type") or OBJECT_TYPE_OF_MODEL.get(
            body["model"], f"unknown.{body['model']}"
        )
        is_object_event = body["event"] in OBJECT_EVENTS
        return {
            "event": body["event"],
            "timestamp": body["timestamp"].isoformat(),
            "object_type": object_type,
            "object_id": body["data"]["id"] if is_object_event else None,
            "username": body.get("username")
            or _text(request.get("username") or request.get("user")),
            "request_id": body.get("request_id")
            or _text(request.get("id") or request.get("request_id")),
            # From 4.6: what the request was, to tell a bulk edit from one object's.
            "request_path": _text(request.get("path")),
            "data": body["data"],
            "prechange": snapshots.get("prechange"),
            "postchange": snapshots.get("postchange"),
        }


#: What a raw body needs for json.loads to give a NUL or a lone surrogate: an escape
#: (``\u0000``, ``\udXXX``), a UTF-8 encoded surrogate (json decodes with
#: ``surrogatepass``), or a NUL byte (a raw NUL is invalid JSON, but every UTF-16 or UTF-32
#: body, which json.loads also reads, has NUL bytes).
_MAY_HOLD_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]|\x00")


def may_hold_unstorable(body: bytes) -> bool:
    """False when no string parsed from ``body`` can hold what PostgreSQL refuses: a scan
    of the bytes (about a microsecond) spares the walk of every string (tens)."""
    return _MAY_HOLD_UNSTORABLE.search(body) is not None


def unstorable(value: Any, path: str) -> str | None:
    """Where ``value`` holds a string PostgreSQL cannot store, and why, in words; None when
    it holds none. Walks without recursion: a body may nest deeply."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and (why := _bad_text(key)):
                    return f"{where}: a key {why}"
                stack.append((inner, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((inner, f"{where}[{i}]") for i, inner in enumerate(item))
        elif isinstance(item, str) and (why := _bad_text(item)):
            return f"{where} {why}"
    return None


def _bad_text(text: str) -> str | None:
    if "\x00" in text:
        return "contains the NUL character (\\u0000), which PostgreSQL cannot store; remove it"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains half of a UTF-16 surrogate pair (\\ud800 to \\udfff), not valid Unicode"
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
