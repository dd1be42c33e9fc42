"""Mapping rules: which devices and VMs get which templates, groups, proxy, interfaces."""

from __future__ import annotations

from typing import Any

from consumer.api.operations import MAX_ID, Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.gateways import mappings
from handlers.jobs.operator import Exists, Refused, add_mapping
from schemas.admin import MappingAddedSchema, MappingsSchema, NewMappingSchema

operations = Operations("mappings")


@operations.route("GET", "/mappings", answers={200: MappingsSchema()})
def list_mappings() -> dict[str, Any]:
    """Every mapping rule, in id order."""
    with app_state().runtime.store.connection() as conn:
        return {"mappings": mappings.load_mappings(conn)}


@operations.route(
    "POST",
    "/mappings",
    body=NewMappingSchema(),
    answers={201: MappingAddedSchema()},
    errors=(400, 409),
)
def create(body: dict[str, Any]) -> tuple[int, Any]:
    """Add a mapping rule. It is checked as `nzc mappings add` checks it and refused with
    its sentences: templates, host groups, proxy and proxy group known to the mirrors, and
    interface types that give what the templates' items need. 409: the name is taken. The
    most specific matching rule wins, from the next change of each object."""
    create_host_groups = body.pop("create_host_groups")
    try:
        with app_state().runtime.store.connection() as conn:
            added = add_mapping(conn, body, create_host_groups=create_host_groups)
            (row,) = [m for m in mappings.load_mappings(conn) if m["id"] == added.mapping_id]
    except Exists as exc:
        raise ApiError(409, "mapping exists", exc.problems) from None
    except Refused as exc:
        raise ApiError(400, "mapping refused", exc.problems) from None
    return 201, {"mapping": row, "created_host_groups": added.created_host_groups}


@operations.route("DELETE", f"/mappings/<int(max={MAX_ID}):mapping_id>", answers={204: None})
def remove(mapping_id: int) -> tuple[int, None]:
    """Remove a mapping rule by id; its host configs keep their hosts."""
    with app_state().runtime.store.connection() as conn:
        removed = mappings.remove_mapping(conn, mapping_id)
    if not removed:
        raise ApiError(
            404, "not found", f"no mapping {mapping_id}; GET /api/v1/mappings lists them"
        )
    return 204, None
