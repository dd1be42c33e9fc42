"""Host operations on the Zabbix gateway, in arrays: one call carries every host of a batch.

Resolves names (groups, templates, proxies) to ids with one call per kind, reads hosts back
normalised for :func:`handlers.desired.diff`, and turns desired state into API payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from handlers.desired import ActualHost, DesiredHost
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
    zbx: ZabbixGateway, wanted: list[DesiredHost], extra_groups: tuple[str, ...] = ()
) -> Ids:
    """Ids of every name the desired hosts use; missing host groups are created (one call).
    A missing template, proxy or proxy group is an error that names it."""
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
        if missing:
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
    proxyid, groupid = zbx.dialect.monitoring_of(raw)
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
    """Desired interfaces, each keeping the id of an existing one of its type (an in-place
    update keeps the items that use it)."""
    free = {}
    for iface in existing:
        free.setdefault(int(iface["type"]), []).append(iface["interfaceid"])
    out = []
    for iface in desired:
        item = {k: v for k, v in iface.items() if not (k == "details" and not v)}
        if free.get(iface["type"]):
            item["interfaceid"] = free[iface["type"]].pop(0)
        out.append(item)
    return out


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
            found = zbx.call(
                "template.get",
                {"output": ["templateid"], "filter": {"host": list(changes["templates_clear"])}},
            )
            payload["templates_clear"] = [{"templateid": t["templateid"]} for t in found]
    if "interfaces" in changes:
        payload["interfaces"] = _interfaces(d.interfaces, actual.interfaces)
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
