"""Zabbix API payloads from decisions, as pure functions: ``host.create`` and ``host.update``
objects, interface pairing, and the payloads that undo a run's writes (compensation).

Names are turned into ids with the :class:`~handlers.decide.host_state.Ids` of the batch;
the version differences come from the gateway's dialect, passed in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers.decide.host_state import (
    INTERFACE_FIELDS,
    ActualHost,
    DesiredHost,
    Ids,
    interface_key,
)

if TYPE_CHECKING:
    from handlers.gateways.zabbix_dialect import Dialect

#: Item types that work through any interface (simple, external, SSH, telnet checks, HTTP
#: agent), so they can move to a new interface when the host switches interface type.
MOVABLE_ITEM_TYPES = frozenset({"3", "10", "13", "14", "19"})


def item_moves(
    linked: list[dict[str, Any]], to: str
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(``item.update`` objects moving the items in ``linked`` that work through any
    interface onto interface ``to``, the ``item.update`` objects that put them back)."""
    movable = [i for i in linked if i["type"] in MOVABLE_ITEM_TYPES]
    return (
        [{"itemid": i["itemid"], "interfaceid": to} for i in movable],
        [{"itemid": i["itemid"], "interfaceid": i["interfaceid"]} for i in movable],
    )


def _interface_fields(iface: dict[str, Any]) -> dict[str, Any]:
    """The fields of an interface the service writes (an empty ``details`` left out)."""
    item = {k: v for k, v in iface.items() if k in INTERFACE_FIELDS}
    if not item.get("details"):
        item.pop("details", None)
    return item


def interfaces_with_ids(
    desired: tuple[dict[str, Any], ...], existing: tuple[dict[str, Any], ...]
) -> list[dict[str, Any]]:
    """Desired interfaces, each keeping the id of an existing one of its type, in order.
    Updating in place keeps the items that use the interface; Zabbix refuses to delete an
    interface items are linked to."""
    free: dict[int, list[str]] = {}
    for iface in existing:
        free.setdefault(int(iface["type"]), []).append(iface["interfaceid"])
    out = []
    for iface in desired:
        item = _interface_fields(iface)
        if free.get(int(iface["type"])):
            item["interfaceid"] = free[int(iface["type"])].pop(0)
        out.append(item)
    return out


def interface_changes(
    d: DesiredHost, actual: ActualHost
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``hostinterface.create`` objects for desired interfaces the host lacks,
    ``hostinterface.update`` objects for existing ones that differ). Each desired interface
    pairs with an existing one of its type, in order; unpaired existing ones are left."""
    existing = {i["interfaceid"]: i for i in actual.interfaces}
    create, update = [], []
    for item in interfaces_with_ids(d.interfaces, actual.interfaces):
        if "interfaceid" not in item:
            create.append({"hostid": actual.hostid, **item})
        elif interface_key(item) != interface_key(existing[item["interfaceid"]]):
            update.append(item)
    return create, update


def _groups(names: tuple[str, ...], ids: dict[str, str]) -> list[dict[str, str]]:
    return [{"groupid": ids[g]} for g in names]


def create_payload(dialect: Dialect, d: DesiredHost, ids: Ids) -> dict[str, Any]:
    """One host.create object with groups, templates, interfaces, tags, macros, inventory."""
    payload = {
        "host": d.host,
        "name": d.name,
        "status": d.status,
        "description": d.description,
        "groups": _groups(d.groups, ids.groups),
        "templates": [{"templateid": ids.templates[t]} for t in d.templates],
        "interfaces": interfaces_with_ids(d.interfaces, ()),
        "tags": [{"tag": k, "value": v} for k, v in d.tags],
        "macros": [{"macro": k, "value": v} for k, v in d.macros],
        "inventory_mode": d.inventory_mode,
        **dialect.monitoring_params(ids.proxies.get(d.proxy), ids.proxy_groups.get(d.proxy_group)),
    }
    if d.inventory_mode != -1:
        payload["inventory"] = d.inventory
    return payload


#: Host fields written as they are, in update and undo payloads.
SCALAR_FIELDS = ("host", "name", "status", "description", "inventory_mode")


def update_payload(
    dialect: Dialect,
    actual: ActualHost,
    changes: dict[str, Any],
    d: DesiredHost,
    ids: Ids,
    interfaces: list[dict[str, Any]],
) -> dict[str, Any]:
    """One host.update object carrying only what changed. ``interfaces`` are the desired
    interfaces with the ids they ended up with (see :func:`interfaces_with_ids` and the
    interface switch of a run)."""
    payload: dict[str, Any] = {"hostid": actual.hostid}
    payload.update({k: changes[k] for k in (*SCALAR_FIELDS, "inventory") if k in changes})
    # Groups and templates kept on the host (not the service's) have the ids it carries.
    # What the host itself carries wins over ids read earlier (a run may reuse those).
    if "groups" in changes:
        payload["groups"] = _groups(d.groups, {**ids.groups, **actual.group_ids})
    if "templates" in changes:
        template_ids = {**ids.templates, **actual.template_ids}
        payload["templates"] = [{"templateid": template_ids[t]} for t in d.templates]
        if changes["templates_clear"]:
            payload["templates_clear"] = [
                {"templateid": actual.template_ids[t]} for t in changes["templates_clear"]
            ]
    if "interfaces" in changes:
        payload["interfaces"] = interfaces
    if "tags" in changes:
        payload["tags"] = [{"tag": k, "value": v} for k, v in changes["tags"]]
    if "macros" in changes:
        payload["macros"] = [{"macro": k, "value": v} for k, v in changes["macros"]]
    if "proxy" in changes or "proxy_group" in changes:
        payload.update(
            dialect.monitoring_params(ids.proxies.get(d.proxy), ids.proxy_groups.get(d.proxy_group))
        )
    return payload


def undo_update_payload(
    dialect: Dialect,
    actual: ActualHost,
    changes: dict[str, Any],
    ids: Ids,
    interfaces: list[dict[str, Any]] | None,
) -> dict[str, Any]:
    """The host.update that puts back what :func:`update_payload` changed. ``interfaces``:
    the interfaces the update sends (those it keeps carry their ids); None when they cannot
    be put back because a type switch deleted the old ones (the retry converges instead)."""
    payload: dict[str, Any] = {"hostid": actual.hostid}
    payload.update({k: getattr(actual, k) for k in SCALAR_FIELDS if k in changes})
    if "inventory" in changes:
        # Fields the update filled in were empty before (ActualHost leaves empty ones out).
        payload["inventory"] = {k: actual.inventory.get(k, "") for k in changes["inventory"]}
    if "groups" in changes:
        payload["groups"] = _groups(actual.groups, actual.group_ids)
    if "templates" in changes:
        payload["templates"] = [{"templateid": actual.template_ids[t]} for t in actual.templates]
        added = set(changes["templates"]) - set(actual.templates)
        if added:
            payload["templates_clear"] = [{"templateid": ids.templates[t]} for t in sorted(added)]
    if "interfaces" in changes and interfaces is not None:
        kept = {i["interfaceid"] for i in interfaces if "interfaceid" in i}
        payload["interfaces"] = [
            {**_interface_fields(i), "interfaceid": i["interfaceid"]}
            if i["interfaceid"] in kept
            else _interface_fields(i)
            for i in actual.interfaces
        ]
    if "tags" in changes:
        payload["tags"] = [{"tag": k, "value": v} for k, v in actual.tags]
    if "macros" in changes:
        payload["macros"] = [{"macro": k, "value": v} for k, v in actual.macros]
    if "proxy" in changes or "proxy_group" in changes:
        payload.update(
            dialect.monitoring_params(
                ids.proxies.get(actual.proxy), ids.proxy_groups.get(actual.proxy_group)
            )
        )
    return payload
