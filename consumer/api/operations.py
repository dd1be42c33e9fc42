"""Admin API operations, each declared once: from one declaration come the loading of its
query string and JSON body, the dump of its answer, and its entry in the OpenAPI document.

A view is a plain function; it gets the parts of its path, and ``query`` and ``body`` as
loaded by their schemas, and returns its answer (dumped with the schema of its first
status) or ``(status, answer)``. Example::

    jobs = Operations("jobs")

    @jobs.route("GET", "/jobs/<job_id>", answers={200: JobDetailSchema()}, errors=(404,))
    def get_job(job_id: str) -> dict: ...
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from consumer.errors import ApiError

#: Where the admin API lives.
PREFIX = "/api/v1"
#: The largest id a path may name (Postgres ``integer`` ids).
MAX_ID = 2**31 - 1


@dataclass(frozen=True)
class Operation:
    """One method on one path of the admin API.

    Parameters:
      method: GET, POST, PATCH or DELETE.
      rule: the Flask rule under :data:`PREFIX` (``/jobs/<job_id>``).
      view: the function that answers.
      tag: the group it is listed under in the OpenAPI document.
      answers: status -> the schema its answer is dumped with (None: no content).
      query, body: the schemas the query string and the JSON body are loaded with.
      errors: the error statuses it may answer besides those every operation may.
    """

    method: str
    rule: str
    view: Callable[..., Any]
    tag: str
    answers: dict[int, Schema | None]
    query: Schema | None = None
    body: Schema | None = None
    errors: tuple[int, ...] = ()

    @property
    def endpoint(self) -> str:
        return f"{self.tag}_{self.view.__name__}"


class Operations:
    """The operations of one part of the API, declared with :meth:`route`.

    Parameters:
      tag: the group they are listed under in the OpenAPI document.
    """

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.declared: list[Operation] = []

    def route(
        self,
        method: str,
        rule: str,
        *,
        answers: dict[int, Schema | None],
        query: Schema | None = None,
        body: Schema | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Declare ``view`` as the answer to ``method`` on ``rule``."""

        def declare(view: Callable[..., Any]) -> Callable[..., Any]:
            self.declared.append(
                Operation(method, rule, view, self.tag, answers, query, body, errors)
            )
            return view

        return declare


def _load(schema: Schema, data: Any, what: str) -> dict[str, Any]:
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ApiError(400, f"invalid {what}", exc.messages) from None


def _json_body() -> Any:
    """The request's JSON body; an empty body is an empty object (every field left out)."""
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413 from Flask
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise ApiError(
            415,
            "unsupported content type",
            f"expected application/json, got {request.mimetype or 'none'}",
        )
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid JSON", f"the body is not JSON: {exc}") from None


def _dispatcher(operation: Operation) -> Callable[..., Any]:
    def dispatch(**parts: Any) -> Any:
        kwargs = dict(parts)
        if operation.query is not None:
            kwargs["query"] = _load(operation.query, request.args.to_dict(), "query")
        if operation.body is not None:
            kwargs["body"] = _load(operation.body, _json_body(), "body")
        answer = operation.view(**kwargs)
        status, value = (
            answer if isinstance(answer, tuple) else (next(iter(operation.answers)), answer)
        )
        schema = operation.answers[status]
        if schema is None:
            return Response(status=status)
        return jsonify(schema.dump(value)), status

    dispatch.__name__ = operation.endpoint
    dispatch.__doc__ = operation.view.__doc__
    return dispatch


def register(bp: Blueprint, operations: Iterable[Operation]) -> None:
    """Add every operation's rule to ``bp``."""
    for operation in operations:
        bp.add_url_rule(
            operation.rule,
            endpoint=operation.endpoint,
            view_func=_dispatcher(operation),
            methods=[operation.method],
            # "/jobs//replay" is a 404, not a redirect to another operation (/jobs/replay).
            merge_slashes=False,
        )
