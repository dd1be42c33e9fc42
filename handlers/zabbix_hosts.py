"""Host operations on the Zabbix gateway, in arrays: one call carries every host of a batch.

Resolves names (groups, templates, proxies) to ids with one call per kind, reads hosts back
normalised for :func:`handlers.desired.diff`, and turns desired state into API payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.desired import ActualHost, DesiredHost, interface_key
from handlers.zabbix import ZabbixGateway


@dataclass
class Ids:
    """Name -> id maps for one batch."""

    groups: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, str] = field(default_factory=dict)
    proxy_groups: dict[str, str] = field(default_factory=dict)

    def names(self, kind: str) -> dict[str, str]:
        return {v: k for k, v in getattr(self, kind).items()}


def resolve(
    zbx: ZabbixGateway,
    wanted: list[DesiredHost],
    extra_groups: tuple[str, ...] = (),
    *,
    create_groups: bool = True,
) -> tuple[Ids, dict[str, str]]:
    """Ids of every name the desired hosts use, and the problems per target: a missing
    template, proxy or proxy group is named. Missing host groups are created (one call)
    unless ``create_groups`` is false."""
    dialect = zbx.dialect
    groups = sorted({g for d in wanted for g in d.groups} | set(extra_groups))
    templates = sorted({t for d in wanted for t in d.templates})
    ids = Ids()
    if groups:
        found = zbx.call(
            "hostgroup.get", {"output": ["groupid", "name"], "filter": {"name": groups}}
        )
        ids.groups = {g["name"]: g["groupid"] for g in found}
        missing = [g for g in groups if g not in ids.groups]
        if missing and create_groups:
            created = zbx.call("hostgroup.create", [{"name": g} for g in missing])
            ids.groups.update(zip(missing, created["groupids"], strict=True))
    if templates:
        found = zbx.call(
            "template.get", {"output": ["templateid", "host"], "filter": {"host": templates}}
        )
        ids.templates = {t["host"]: t["templateid"] for t in found}
    name_field = dialect.proxy_name_field
    proxies = zbx.call("proxy.get", {"output": ["proxyid", name_field]})
    ids.proxies = {p[name_field]: p["proxyid"] for p in proxies}
    if dialect.has_proxy_groups:
        found = zbx.call("proxygroup.get", {"output": ["proxy_groupid", "name"]})
        ids.proxy_groups = {g["name"]: g["proxy_groupid"] for g in found}
    problems: dict[str, str] = {}
    for d in wanted:
        missing = [t for t in d.templates if t not in ids.templates]
        if missing:
            problems[d.target] = (
                f"template {missing[0]!r} does not exist in Zabbix: import it, or change the "
                "mapping or the object's zabbix_templates override"
            )
        elif d.proxy and d.proxy not in ids.proxies:
            problems[d.target] = f"proxy {d.proxy!r} does not exist in Zabbix"
        elif d.proxy_group and d.proxy_group not in ids.proxy_groups:
            problems[d.target] = f"proxy group {d.proxy_group!r} does not exist in Zabbix" + (
                "" if dialect.has_proxy_groups else f" ({dialect.version_text} has no proxy groups)"
            )
    return ids, problems


HOST_SELECT = {
    "selectInterfaces": ["interfaceid", "type", "main", "useip", "ip", "dns", "port", "details"],
    "selectParentTemplates": ["templateid", "host"],
    "selectTags": ["tag", "value"],
    "selectMacros": ["hostmacroid", "macro", "value"],
    "selectInventory": "extend",
}


def get_hosts(
    zbx: ZabbixGateway, *, hostids: list[str] = (), names: list[str] = ()
) -> list[dict[str, Any]]:
    """Hosts by id and by technical name, in at most one call each."""
    dialect = zbx.dialect
    base = {
        "output": [
            "hostid",
            "host",
            "name",
            "status",
            "description",
            "inventory_mode",
            *dialect.host_proxy_output,
        ],
        **HOST_SELECT,
        dialect.group_select: ["groupid", "name"],
    }
    found: dict[str, dict[str, Any]] = {}
    if hostids:
        for h in zbx.call("host.get", {**base, "hostids": list(hostids)}):
            found[h["hostid"]] = h
    if names:
        for h in zbx.call("host.get", {**base, "filter": {"host": list(names)}}):
            found[h["hostid"]] = h
    return list(found.values())


def actual_host(zbx: ZabbixGateway, raw: dict[str, Any], ids: Ids) -> ActualHost:
    """``raw`` (from :func:`get_hosts`) normalised for the diff. The ids of its linked
    templates go into ``ids``, so unlinking them later needs no lookup."""
    proxyid, groupid = zbx.dialect.monitoring_of(raw)
    ids.templates.update({t["host"]: t["templateid"] for t in raw.get("parentTemplates", [])})
    inventory = raw.get("inventory") or {}
    return ActualHost(
        hostid=raw["hostid"],
        host=raw["host"],
        name=raw["name"],
        status=int(raw["status"]),
        groups=tuple(sorted(g["name"] for g in raw.get(zbx.dialect.group_key, []))),
        templates=tuple(sorted(t["host"] for t in raw.get("parentTemplates", []))),
        proxy=ids.names("proxies").get(proxyid) if proxyid else None,
        proxy_group=ids.names("proxy_groups").get(groupid) if groupid else None,
        interfaces=tuple(raw.get("interfaces", [])),
        tags=tuple(sorted((t["tag"], t["value"]) for t in raw.get("tags", []))),
        macros=tuple(sorted((m["macro"], m["value"]) for m in raw.get("macros", []))),
        inventory_mode=int(raw.get("inventory_mode", -1)),
        inventory={
            k: v for k, v in (inventory if isinstance(inventory, dict) else {}).items() if v
        },
        description=raw.get("description", ""),
    )


def owner_of(raw: dict[str, Any], owner_tag: str) -> str | None:
    """The NetBox object a Zabbix host says it belongs to (our ownership tag), if any."""
    return next(
        (t["value"] for t in raw.get("tags", []) if t["tag"].lower() == owner_tag.lower()), None
    )


def _interfaces(
    desired: tuple[dict[str, Any], ...], existing: tuple[dict[str, Any], ...]
) -> list[dict[str, Any]]:
    """Desired interfaces, each keeping the id of an existing one: of its type first, then
    any left over. Updating in place keeps the items that use the interface; Zabbix refuses
    to delete an interface items are linked to (e.g. ICMP checks on an agent interface when
    the host switches to SNMP)."""
    free: dict[int, list[str]] = {}
    for iface in existing:
        free.setdefault(int(iface["type"]), []).append(iface["interfaceid"])
    out = []
    for iface in desired:
        item = {k: v for k, v in iface.items() if not (k == "details" and not v)}
        if free.get(iface["type"]):
            item["interfaceid"] = free[iface["type"]].pop(0)
        out.append(item)
    return out


#: Item types that work through any interface (simple, external, SSH, telnet checks, HTTP
#: agent), so they can move to a new interface when the host switches interface type.
MOVABLE_ITEM_TYPES = {"3", "10", "13", "14", "19"}


def _switch_interfaces(
    zbx: ZabbixGateway, actual: ActualHost, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Zabbix refuses to drop an interface that items use (ICMP checks on the agent
    interface of a host switching to SNMP). So, when a type goes: create the new interfaces,
    move the items that can use any interface onto the new main one, and return ``items``
    all with ids, so the host.update that follows drops only interfaces no item uses."""
    kept = {i["interfaceid"] for i in items if "interfaceid" in i}
    dropped = [i["interfaceid"] for i in actual.interfaces if i["interfaceid"] not in kept]
    new = [i for i in items if "interfaceid" not in i]
    if not dropped or not new:
        return items
    created = zbx.call("hostinterface.create", [{"hostid": actual.hostid, **i} for i in new])
    for item, interfaceid in zip(new, created["interfaceids"], strict=True):
        item["interfaceid"] = interfaceid
    target = next((i for i in new if int(i.get("main", 0)) == 1), new[0])["interfaceid"]
    linked = zbx.call(
        "item.get",
        {"output": ["itemid", "type"], "hostids": [actual.hostid], "interfaceids": dropped},
    )
    movable = [
        {"itemid": i["itemid"], "interfaceid": target}
        for i in linked
        if i["type"] in MOVABLE_ITEM_TYPES
    ]
    if movable:
        zbx.call("item.update", movable)
    return items


def create_payload(zbx: ZabbixGateway, d: DesiredHost, ids: Ids) -> dict[str, Any]:
    """One host.create object with groups, templates, interfaces, tags, macros, inventory."""
    payload = {
        "host": d.host,
        "name": d.name,
        "status": d.status,
        "description": d.description,
        zbx.dialect.group_param: [{"groupid": ids.groups[g]} for g in d.groups],
        "templates": [{"templateid": ids.templates[t]} for t in d.templates],
        "interfaces": _interfaces(d.interfaces, ()),
        "tags": [{"tag": k, "value": v} for k, v in d.tags],
        "macros": [{"macro": k, "value": v} for k, v in d.macros],
        "inventory_mode": d.inventory_mode,
        **zbx.dialect.monitoring_params(
            ids.proxies.get(d.proxy), ids.proxy_groups.get(d.proxy_group)
        ),
    }
    if d.inventory_mode != -1:
        payload["inventory"] = d.inventory
    return payload


def update_payload(
    zbx: ZabbixGateway, actual: ActualHost, changes: dict[str, Any], d: DesiredHost, ids: Ids
) -> dict[str, Any]:
    """One host.update object carrying only what changed."""
    payload: dict[str, Any] = {"hostid": actual.hostid}
    for key in ("host", "name", "status", "description", "inventory_mode", "inventory"):
        if key in changes:
            payload[key] = changes[key]
    if "groups" in changes:
        payload[zbx.dialect.group_param] = [{"groupid": ids.groups[g]} for g in d.groups]
    if "templates" in changes:
        payload["templates"] = [{"templateid": ids.templates[t]} for t in d.templates]
        if changes["templates_clear"]:
            payload["templates_clear"] = [
                {"templateid": ids.templates[t]} for t in changes["templates_clear"]
            ]
    if "interfaces" in changes:
        payload["interfaces"] = _switch_interfaces(
            zbx, actual, _interfaces(d.interfaces, actual.interfaces)
        )
    if "tags" in changes:
        payload["tags"] = [{"tag": k, "value": v} for k, v in changes["tags"]]
    if "macros" in changes:
        payload["macros"] = [{"macro": k, "value": v} for k, v in changes["macros"]]
    if "proxy" in changes or "proxy_group" in changes:
        payload.update(
            zbx.dialect.monitoring_params(
                ids.proxies.get(d.proxy), ids.proxy_groups.get(d.proxy_group)
            )
        )
    return payload


def interface_changes(
    d: DesiredHost, actual: ActualHost
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(``hostinterface.create`` objects for desired interfaces the host lacks,
    ``hostinterface.update`` objects for existing ones that differ). Each desired interface
    pairs with an existing one of its type, in order; unpaired existing ones are left."""
    existing = {i["interfaceid"]: i for i in actual.interfaces}
    create, update = [], []
    for item in _interfaces(d.interfaces, actual.interfaces):
        if "interfaceid" not in item:
            create.append({"hostid": actual.hostid, **item})
        elif interface_key(item) != interface_key(existing[item["interfaceid"]]):
            update.append(item)
    return create, update
