"""Host reads and writes on the Zabbix gateway, in arrays: one call carries a whole batch.

Reads turn names into ids (one call per kind) and hosts into
:class:`~handlers.decide.host_state.ActualHost` for the planner; writes take payloads built
by :mod:`handlers.decide.payloads` and return what happened, per target. Nothing here
decides.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from handlers.decide.host_state import ActualHost, Ids
from handlers.decide.payloads import MOVABLE_ITEM_TYPES
from handlers.decide.plan import InterfaceSwitch, Lookups, ZabbixView
from handlers.gateways.zabbix import ZabbixAPIException, ZabbixGateway
from handlers.gateways.zabbix_dialect import Dialect

log = logging.getLogger(__name__)

HOST_SELECT = {
    "selectInterfaces": ["interfaceid", "type", "main", "useip", "ip", "dns", "port", "details"],
    "selectParentTemplates": ["templateid", "host"],
    "selectTags": ["tag", "value"],
    "selectMacros": ["hostmacroid", "macro", "value"],
    "selectInventory": "extend",
}


def read_ids(zbx: ZabbixGateway, groups: tuple[str, ...], templates: tuple[str, ...]) -> Ids:
    """Ids of the named host groups and templates (those that exist), and of every proxy
    and proxy group: one call per kind."""
    found_groups, found_templates = {}, {}
    if groups:
        found = zbx.call(
            "hostgroup.get", {"output": ["groupid", "name"], "filter": {"name": list(groups)}}
        )
        found_groups = {g["name"]: g["groupid"] for g in found}
    if templates:
        found = zbx.call(
            "template.get",
            {"output": ["templateid", "host"], "filter": {"host": list(templates)}},
        )
        found_templates = {t["host"]: t["templateid"] for t in found}
    name_field = zbx.dialect.proxy_name_field
    proxies = zbx.call("proxy.get", {"output": ["proxyid", name_field]})
    proxy_groups = {}
    if zbx.dialect.has_proxy_groups:
        found = zbx.call("proxygroup.get", {"output": ["proxy_groupid", "name"]})
        proxy_groups = {g["name"]: g["proxy_groupid"] for g in found}
    return Ids(
        groups=found_groups,
        templates=found_templates,
        proxies={p[name_field]: p["proxyid"] for p in proxies},
        proxy_groups=proxy_groups,
    )


def get_hosts(
    zbx: ZabbixGateway, *, hostids: tuple[str, ...] = (), names: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Raw hosts by id and by technical name, in at most one call each."""
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


def actual_host(dialect: Dialect, raw: dict[str, Any], ids: Ids) -> ActualHost:
    """``raw`` (from :func:`get_hosts`) normalised for the diff."""
    proxyid, groupid = dialect.monitoring_of(raw)
    inventory = raw.get("inventory") or {}
    groups = raw.get(dialect.group_key, [])
    templates = raw.get("parentTemplates", [])
    return ActualHost(
        hostid=raw["hostid"],
        host=raw["host"],
        name=raw["name"],
        status=int(raw["status"]),
        groups=tuple(sorted(g["name"] for g in groups)),
        templates=tuple(sorted(t["host"] for t in templates)),
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
        group_ids={g["name"]: g["groupid"] for g in groups},
        template_ids={t["host"]: t["templateid"] for t in templates},
    )


def read(zbx: ZabbixGateway, lookups: Lookups) -> ZabbixView:
    """Everything the planner needs from Zabbix for one batch."""
    ids = read_ids(zbx, lookups.groups, lookups.templates)
    hosts = [
        actual_host(zbx.dialect, raw, ids)
        for raw in get_hosts(zbx, hostids=lookups.hostids, names=lookups.host_names)
    ]
    names = set(lookups.host_names)
    return ZabbixView(
        ids=ids,
        by_id={h.hostid: h for h in hosts},
        by_name={h.host: h for h in hosts if h.host in names},
        has_proxy_groups=zbx.dialect.has_proxy_groups,
        version=zbx.dialect.version_text,
    )


def create_groups(zbx: ZabbixGateway, names: tuple[str, ...]) -> dict[str, str]:
    """Create host groups (one call); name -> new groupid."""
    if not names:
        return {}
    created = zbx.call("hostgroup.create", [{"name": g} for g in names])
    return dict(zip(names, created["groupids"], strict=True))


def batched(
    zbx: ZabbixGateway, method: str, payloads: list[dict[str, Any]], targets: list[str]
) -> tuple[list[str | None], dict[str, str]]:
    """Call ``method`` with every payload at once; if Zabbix refuses the batch, one by one.
    Returns the hostid per payload (None where it failed) and the error per failed target."""
    if not payloads:
        return [], {}
    try:
        return list(zbx.call(method, payloads)["hostids"]), {}
    except ZabbixAPIException as exc:
        if len(payloads) == 1:
            return [None], {targets[0]: f"Zabbix refused {method}: {exc}"}
        log.warning("%s of %d hosts refused; retrying one by one", method, len(payloads))
    out: list[str | None] = []
    failed: dict[str, str] = {}
    for payload, target in zip(payloads, targets, strict=True):
        ids, errors = batched(zbx, method, [payload], [target])
        out.extend(ids)
        failed.update(errors)
    return out, failed


@dataclass(frozen=True)
class SwitchDone:
    """What :func:`switch_interfaces` wrote: the interfaces it created (in the order of the
    switch's ``new``) and the items it moved, with the interface each came from."""

    hostid: str
    created: tuple[str, ...]
    moved: tuple[tuple[str, str], ...]


def switch_interfaces(zbx: ZabbixGateway, switch: InterfaceSwitch) -> SwitchDone:
    """Create the switch's new interfaces and move the items that work through any interface
    off the interfaces about to be dropped, onto the new main one."""
    created = zbx.call(
        "hostinterface.create", [{"hostid": switch.hostid, **i} for i in switch.new]
    )["interfaceids"]
    main = next(
        (iid for i, iid in zip(switch.new, created, strict=True) if int(i.get("main", 0)) == 1),
        created[0],
    )
    linked = zbx.call(
        "item.get",
        {
            "output": ["itemid", "type", "interfaceid"],
            "hostids": [switch.hostid],
            "interfaceids": list(switch.dropped),
        },
    )
    moved = [(i["itemid"], i["interfaceid"]) for i in linked if i["type"] in MOVABLE_ITEM_TYPES]
    if moved:
        zbx.call("item.update", [{"itemid": itemid, "interfaceid": main} for itemid, _ in moved])
    return SwitchDone(switch.hostid, tuple(created), tuple(moved))


def undo_switch(zbx: ZabbixGateway, done: SwitchDone) -> None:
    """Put the moved items back on their interfaces and remove the created interfaces."""
    if done.moved:
        zbx.call(
            "item.update", [{"itemid": itemid, "interfaceid": iid} for itemid, iid in done.moved]
        )
    zbx.call("hostinterface.delete", list(done.created))


def taken_names(
    zbx: ZabbixGateway, hosts: list[str], names: list[str]
) -> tuple[set[str], set[str]]:
    """Which of these technical and visible names Zabbix hosts already have (two light
    host.get calls)."""
    taken_hosts = {
        h["host"] for h in zbx.call("host.get", {"output": ["host"], "filter": {"host": hosts}})
    }
    taken = {
        h["name"] for h in zbx.call("host.get", {"output": ["name"], "filter": {"name": names}})
    }
    return taken_hosts, taken
