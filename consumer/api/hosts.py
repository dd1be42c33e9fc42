"""Host configs: each NetBox object the service manages, with its sync state."""

from __future__ import annotations

from typing import Any

from consumer.api.operations import Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.decide.sync import config_state
from handlers.gateways import host_configs, target_failures
from schemas.admin import HostConfigDetailSchema, HostConfigsSchema, HostsQuerySchema
from schemas.netbox import parse_target

operations = Operations("hosts")


@operations.route(
    "GET", "/hosts", query=HostsQuerySchema(), answers={200: HostConfigsSchema()}, errors=(400,)
)
def list_hosts(query: dict[str, Any]) -> dict[str, Any]:
    """Every host config, with its sync state. In target order, each with its state (in
    sync, differs, missing), when it was last checked and the differences found then;
    out_of_sync keeps those that are not in sync."""
    with app_state().runtime.store.connection() as conn:
        rows = host_configs.load_all(conn)
    hosts = [{**row, "state": config_state(row)} for row in rows.values()]
    if query["out_of_sync"]:
        hosts = [host for host in hosts if host["state"] != "in sync"]
    return {"hosts": hosts}


@operations.route("GET", "/hosts/<target>", answers={200: HostConfigDetailSchema()}, errors=(400,))
def get_host(target: str) -> dict[str, Any]:
    """One host config in full, with its sync state and its last failed run. The target
    is written like dcim.device:42 (or device:42)."""
    try:
        canonical = parse_target(target)
    except ValueError as exc:
        raise ApiError(400, "invalid target", str(exc)) from None
    with app_state().runtime.store.connection() as conn:
        config = host_configs.load_host_configs(conn, [canonical]).get(canonical)
        failure = target_failures.load(conn, [canonical]).get(canonical)
    if config is None:
        raise ApiError(
            404, "not found", f"{canonical} has no host config; GET /api/v1/hosts lists them"
        )
    return {**config, "state": config_state(config), "last_failure": failure}
