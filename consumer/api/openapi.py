"""The OpenAPI 3.1 document of the admin API, generated with apispec from the operations'
declarations and their marshmallow schemas (schemas/admin.py), never written by hand."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from consumer.api.operations import MAX_ID, PREFIX, Operation
from schemas.admin import ErrorSchema

#: A Flask rule's variable part: ``<name>`` or ``<converter(args):name>``.
_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
#: What every operation may answer: the API is off (404), the token is missing or wrong (401).
ALWAYS = (401, 404)
#: The security scheme's name.
BEARER = "bearer"

_DESCRIPTION = (
    "Operate netbox-zabbix-consumer: job records and replays, host configs and their sync "
    "state, full syncs, settings, mapping rules and the recurring system jobs. Every path "
    "needs `Authorization: Bearer $NZC_ADMIN_TOKEN` (401 without it); without "
    "NZC_ADMIN_TOKEN set, the API is off and every path answers 404. Every error answers "
    "JSON of one shape, `{error, detail}`."
)


def openapi_path(rule: str) -> str:
    """The OpenAPI path of a Flask rule under the prefix (``/api/v1/jobs/{job_id}``)."""
    return PREFIX + _VARIABLE.sub(r"{\g<name>}", rule)


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """The OpenAPI path of a Flask rule, and its path parameters."""
    parameters = []
    for match in _VARIABLE.finditer(rule):
        if match["converter"] == "int":
            schema = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
        else:
            schema = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}
        parameters.append({"in": "path", "name": match["name"], "required": True, "schema": schema})
    return openapi_path(rule), parameters


def _docstring(operation: Operation) -> tuple[str, str]:
    """The summary (first sentence) and description (all of it) of a view's docstring."""
    text = " ".join((operation.view.__doc__ or "").split())
    summary = re.split(r"(?<=\.)\s", text, maxsplit=1)[0].rstrip(".")
    return summary, text


def _error_statuses(operation: Operation, has_path_parameters: bool) -> list[int]:
    statuses = set(ALWAYS) | set(operation.errors)
    if operation.query is not None or operation.body is not None or has_path_parameters:
        statuses.add(400)
    if operation.body is not None:
        statuses |= {413, 415}
    return sorted(statuses)


def _responses(operation: Operation, has_path_parameters: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, schema in operation.answers.items():
        responses[str(status)] = {"description": HTTPStatus(status).phrase}
        if schema is not None:
            responses[str(status)]["content"] = {"application/json": {"schema": schema}}
    for status in _error_statuses(operation, has_path_parameters):
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/json": {"schema": ErrorSchema}},
        }
        if status == 401:
            responses["401"]["headers"] = {
                "WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}
            }
    return responses


def document(operations: Iterable[Operation], version: str) -> dict[str, Any]:
    """The OpenAPI document of ``operations``."""
    spec = APISpec(
        title="netbox-zabbix-consumer admin API",
        version=version,
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={"description": _DESCRIPTION},
        security=[{BEARER: []}],
    )
    spec.components.security_scheme(
        BEARER, {"type": "http", "scheme": "bearer", "description": "NZC_ADMIN_TOKEN"}
    )
    spec.components.schema("Error", schema=ErrorSchema)
    for operation in operations:
        path, parameters = _path(operation.rule)
        summary, description = _docstring(operation)
        if operation.query is not None:
            parameters.append({"in": "query", "schema": operation.query})
        entry: dict[str, Any] = {
            "operationId": operation.endpoint,
            "tags": [operation.tag],
            "summary": summary,
            "parameters": parameters,
            "responses": _responses(operation, any(p["in"] == "path" for p in parameters)),
        }
        if description:
            entry["description"] = description
        if operation.body is not None:
            required = any(field.required for field in operation.body.fields.values())
            entry["requestBody"] = {
                "required": required,
                "content": {"application/json": {"schema": operation.body}},
            }
        spec.path(path=path, operations={operation.method.lower(): entry})
    return spec.to_dict()
