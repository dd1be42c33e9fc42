"""The admin API under ``/api/v1``: job records and replays, host configs, full syncs,
settings, mapping rules, schedules and maintenance windows, for operators and their tools.

Each part declares its operations in its own module; this one gathers them into one
blueprint with the bearer-token check (:mod:`consumer.api.auth`) and serves the OpenAPI
document generated from them (:mod:`consumer.api.openapi`). Errors answer JSON in the one
shape of :mod:`consumer.errors`.
"""

from __future__ import annotations

import functools
from importlib import metadata
from typing import Any

from flask import Blueprint

from consumer.api import (
    hosts,
    imports,
    jobs,
    maintenance,
    mappings,
    schedules,
    settings,
    sync,
)
from consumer.api.auth import require_token
from consumer.api.openapi import document
from consumer.api.operations import PREFIX, Operations, register
from schemas.admin import OpenApiDocumentSchema

meta = Operations("meta")


@meta.route("GET", "/openapi.json", answers={200: OpenApiDocumentSchema()})
def openapi_document() -> dict[str, Any]:
    """This API's OpenAPI 3.1 document. Generated from its schemas; it needs the token
    too, as every path under /api/v1 does."""
    return _document()


#: Every operation of the admin API.
OPERATIONS = tuple(
    operation
    for part in (jobs, hosts, sync, imports, settings, mappings, schedules, maintenance)
    for operation in part.operations.declared
) + tuple(meta.declared)


@functools.cache
def _document() -> dict[str, Any]:
    try:
        version = metadata.version("netbox-zabbix-consumer")
    except metadata.PackageNotFoundError:
        version = "0"
    return document(OPERATIONS, version)


def blueprint() -> Blueprint:
    """The admin API as a blueprint, with the token check before every request under
    its prefix (known paths or not)."""
    bp = Blueprint("api", __name__, url_prefix=PREFIX)
    bp.before_app_request(require_token)
    register(bp, OPERATIONS)
    return bp
