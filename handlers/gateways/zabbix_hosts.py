"""Host reads and writes on the Zabbix gateway, in arrays: one call carries a whole batch.

Reads turn names into ids (one call per kind) and hosts into
:class:`~handlers.decide.host_state.ActualHost` for the planner; writes take payloads built
by :mod:`handlers.decide.payloads` and return what happened, per target. Nothing here
decides.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from handlers.decide.desired import INVENTORY_FIELDS
from handlers.decide.host_state import ActualHost, Ids
from handlers.decide.plan import Lookups, ZabbixView
from handlers.decide.targets import is_target
from handlers.gateways.zabbix import ZabbixAPIException, ZabbixGateway
from handlers.gateways.zabbix_dialect import Dialect

log = logging.getLogger(__name__)

HOST_SELECT = {
    "selectInterfaces": ["interfaceid", "type", "main", "useip", "ip", "dns", "port", "details"],
    "selectParentTemplates": ["templateid", "host"],
    "selectTags": ["tag", "value"],
    "selectMacros": ["hostmacroid", "macro", "value"],
}
#: Hosts per ``host.get`` of a full read: large pages, few calls, bounded memory per answer.
HOSTS_PER_CALL = 1000
#: Zabbix's tag operators (``host.get`` ``tags``): the value equals / the tag exists.
TAG_EQUALS, TAG_EXISTS = 1, 4


def read_proxies(zbx: ZabbixGateway, *, cached: bool = False) -> Ids:
    """Ids of every proxy and proxy group (what :func:`actual_host` needs): a call each, or
    none with ``cached`` while the process's cache holds them."""
    if cached:
        proxies, groups = zbx.ids.whole("proxies"), zbx.ids.whole("proxy_groups")
        if proxies is not None and groups is not None:
            return Ids(proxies=proxies, proxy_groups=groups)
    name_field = zbx.dialect.proxy_name_field
    found = zbx.call("proxy.get", {"output": ["proxyid", name_field]})
    proxies = {p[name_field]: p["proxyid"] for p in found}
    groups = {}
    if zbx.dialect.has_proxy_groups:
        found = zbx.call("proxygroup.get", {"output": ["proxy_groupid", "name"]})
        groups = {g["name"]: g["proxy_groupid"] for g in found}
    zbx.ids.put_whole("proxies", proxies)
    zbx.ids.put_whole("proxy_groups", groups)
    return Ids(proxies=proxies, proxy_groups=groups)


def read_ids(
    zbx: ZabbixGateway,
    groups: tuple[str, ...],
    templates: tuple[str, ...],
    proxies: Ids | None = None,
    *,
    cached: bool = False,
) -> Ids:
    """Ids of the named host groups and templates (those that exist), and of every proxy
    and proxy group (unless ``proxies`` already has them): one call per kind; with
    ``cached``, only for the names the process's cache does not hold (reconcile runs)."""
    found_groups = _named(zbx, "hostgroup.get", ("groupid", "name"), groups, cached, True)
    found_templates = _named(zbx, "template.get", ("templateid", "host"), templates, cached)
    monitors = proxies or read_proxies(zbx, cached=cached)
    return Ids(found_groups, found_templates, monitors.proxies, monitors.proxy_groups)


def _named(
    zbx: ZabbixGateway,
    method: str,
    keys: tuple[str, str],
    names: tuple[str, ...],
    cached: bool,
    remember_absent: bool = False,
) -> dict[str, str]:
    """name -> id of those of ``names`` that exist, read with ``method`` (one call, for the
    names the cache does not hold when ``cached``)."""
    id_key, name_key = keys
    known, missing = zbx.ids.get(method, names) if cached else ({}, list(names))
    if missing:
        found = zbx.call(method, {"output": [id_key, name_key], "filter": {name_key: missing}})
        fresh = {r[name_key]: r[id_key] for r in found}
        absent = dict.fromkeys(set(missing) - fresh.keys()) if remember_absent else {}
        zbx.ids.put(method, {**absent, **fresh})
        known |= fresh
    return known


def get_hosts(
    zbx: ZabbixGateway,
    *,
    hostids: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
    visible_names: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Raw hosts by id, and by technical or visible name: at most one call each."""
    base = _host_query(zbx.dialect)
    found: dict[str, dict[str, Any]] = {}
    if hostids:
        for h in zbx.call("host.get", {**base, "hostids": list(hostids)}):
            found[h["hostid"]] = h
    if names or visible_names:
        # searchByAny: hosts whose technical name OR visible name is listed.
        by_name = {"host": list(names), "name": list(visible_names)}
        query = {**base, "filter": {k: v for k, v in by_name.items() if v}, "searchByAny": True}
        for h in zbx.call("host.get", query):
            found[h["hostid"]] = h
    return list(found.values())


def _host_query(dialect: Dialect, *, inventory: Any = "extend") -> dict[str, Any]:
    """The ``host.get`` fields :func:`actual_host` reads."""
    return {
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
        "selectInventory": inventory,
        dialect.group_select: ["groupid", "name"],
    }


def owned_hosts(
    zbx: ZabbixGateway, owner_tag: str, targets: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Raw hosts whose ownership tag ``owner_tag`` names one of ``targets``: one call."""
    if not targets:
        return []
    tags = [{"tag": owner_tag, "value": t, "operator": TAG_EQUALS} for t in targets]
    return zbx.call("host.get", {**_host_query(zbx.dialect), "tags": tags})


def every_owned_host(zbx: ZabbixGateway, owner_tag: str, proxies: Ids) -> list[ActualHost]:
    """Every host carrying our ownership tag: one light call for their ids, then one per
    :data:`HOSTS_PER_CALL` hosts with only the fields (and inventory fields) the diff
    compares, each answer turned into :class:`ActualHost` before the next is read."""
    found = zbx.call(
        "host.get", {"output": ["hostid"], "tags": [{"tag": owner_tag, "operator": TAG_EXISTS}]}
    )
    return hosts_by_id(zbx, [h["hostid"] for h in found], proxies)


def hosts_by_id(zbx: ZabbixGateway, hostids: list[str], proxies: Ids) -> list[ActualHost]:
    """The hosts of ``hostids``, a call per :data:`HOSTS_PER_CALL`, as :class:`ActualHost`."""
    query = _host_query(zbx.dialect, inventory=sorted(set(INVENTORY_FIELDS.values())))
    hosts: list[ActualHost] = []
    for start in range(0, len(hostids), HOSTS_PER_CALL):
        page = zbx.call("host.get", {**query, "hostids": hostids[start : start + HOSTS_PER_CALL]})
        hosts += [actual_host(zbx.dialect, raw, proxies) for raw in page]
    return hosts


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
        # Names shared by thousands of hosts are one string each (a full read holds them all).
        groups=tuple(sorted(sys.intern(g["name"]) for g in groups)),
        templates=tuple(sorted(sys.intern(t["host"]) for t in templates)),
        proxy=ids.names("proxies").get(proxyid) if proxyid else None,
        proxy_group=ids.names("proxy_groups").get(groupid) if groupid else None,
        interfaces=tuple(raw.get("interfaces", [])),
        tags=tuple(
            sorted((sys.intern(t["tag"]), sys.intern(t["value"])) for t in raw.get("tags", []))
        ),
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
    """Everything the planner needs from Zabbix for one batch (ids from the process's cache
    where it has them)."""
    ids = read_ids(zbx, lookups.groups, lookups.templates, cached=True)
    if (
        set(lookups.proxies) - ids.proxies.keys()
        or set(lookups.proxy_groups) - ids.proxy_groups.keys()
    ):
        # A proxy (group) the reused ids lack may be new: read them all again.
        fresh = read_proxies(zbx)
        ids = Ids(ids.groups, ids.templates, fresh.proxies, fresh.proxy_groups)
    raw = get_hosts(
        zbx,
        hostids=lookups.hostids,
        names=lookups.host_names,
        visible_names=lookups.visible_names,
    )
    owned = [
        actual_host(zbx.dialect, h, ids)
        for h in owned_hosts(zbx, lookups.owner_tag, lookups.owners)
    ]
    hosts = [actual_host(zbx.dialect, h, ids) for h in raw]
    return view_of(
        zbx,
        ids,
        [*hosts, *owned],
        names=lookups.host_names,
        visible_names=lookups.visible_names,
        owner_tag=lookups.owner_tag,
        owned=owned,
    )


def view_of(
    zbx: ZabbixGateway,
    ids: Ids,
    hosts: list[ActualHost],
    *,
    names: tuple[str, ...] | None,
    visible_names: tuple[str, ...] | None,
    owner_tag: str,
    owned: list[ActualHost],
) -> ZabbixView:
    """The planner's view of ``hosts``: by id, and by the names looked up (every name when
    None); ``owned``, by the target their ownership tag names (a tag value that is not a
    target, typed by hand, names nothing)."""
    tag = owner_tag.lower()
    names_set = None if names is None else set(names)
    visible_set = None if visible_names is None else set(visible_names)
    by_owner: dict[str, list[ActualHost]] = {}
    for host in owned:
        for name, value in host.tags:
            if name.lower() == tag and is_target(value):
                by_owner.setdefault(value, []).append(host)
    return ZabbixView(
        ids=ids,
        by_id={h.hostid: h for h in hosts},
        by_name={h.host: h for h in hosts if names_set is None or h.host in names_set},
        by_visible={h.name: h for h in hosts if visible_set is None or h.name in visible_set},
        owned={target: tuple(found) for target, found in by_owner.items()},
        has_proxy_groups=zbx.dialect.has_proxy_groups,
        version=zbx.dialect.version_text,
    )


def create_groups(zbx: ZabbixGateway, names: tuple[str, ...]) -> dict[str, str]:
    """Create host groups, one call per nesting level, parents first: Zabbix gives a new
    subgroup (``A/B``) the permissions of its parent only when the parent exists. Returns
    name -> groupid."""
    ids: dict[str, str] = {}
    for depth in sorted({name.count("/") for name in names}):
        ids |= _create_level(zbx, tuple(n for n in names if n.count("/") == depth))
    zbx.ids.put("hostgroup.get", ids)  # no longer absent
    return ids


def _create_level(zbx: ZabbixGateway, names: tuple[str, ...]) -> dict[str, str]:
    """Create host groups (one call); name -> groupid. Concurrent runs that want the same
    new group race to create it: the loser reads the winner's id (and creates the rest)
    rather than failing its run."""
    if not names:
        return {}
    try:
        created = zbx.call("hostgroup.create", [{"name": g} for g in names])
    except ZabbixAPIException:
        found = zbx.call(
            "hostgroup.get", {"output": ["groupid", "name"], "filter": {"name": list(names)}}
        )
        existing = {g["name"]: g["groupid"] for g in found}
        if not existing:
            raise
        return {**existing, **_create_level(zbx, tuple(n for n in names if n not in existing))}
    return dict(zip(names, created["groupids"], strict=True))


def _sql_failure(exc: ZabbixAPIException) -> bool:
    """Zabbix's own database refused the request (e.g. concurrent id reservations on a new
    Zabbix); the request changed nothing, as each API request is one transaction."""
    text = str(exc)
    return "DBEXECUTE_ERROR" in text or "SQL statement execution has failed" in text


def batched(
    zbx: ZabbixGateway,
    method: str,
    payloads: list[dict[str, Any]],
    targets: list[str],
    on_success: Callable[[int, str], Any] = lambda _index, _hostid: None,
) -> tuple[list[str | None], dict[str, str]]:
    """Call ``method`` with every payload at once; if Zabbix refuses the batch, one by one.
    Returns the hostid per payload (None where it failed) and the error per failed target;
    ``on_success(index, hostid)`` is called as each write is known to have happened, so a
    caller can record it even if a later call fails."""
    if not payloads:
        return [], {}
    try:
        try:
            hostids = list(zbx.call(method, payloads)["hostids"])
        except ZabbixAPIException as exc:
            if not _sql_failure(exc):
                raise
            log.warning(
                "%s of %d hosts failed in Zabbix's database; trying again", method, len(payloads)
            )
            hostids = list(zbx.call(method, payloads)["hostids"])
    except ZabbixAPIException as exc:
        if len(payloads) == 1:
            return [None], {targets[0]: f"Zabbix refused {method}: {exc}"}
        log.warning("%s of %d hosts refused; retrying one by one", method, len(payloads))
    else:
        for index, hostid in enumerate(hostids):
            on_success(index, hostid)
        return hostids, {}
    out: list[str | None] = []
    failed: dict[str, str] = {}
    for index, (payload, target) in enumerate(zip(payloads, targets, strict=True)):
        try:
            hostid = zbx.call(method, [payload])["hostids"][0]
        except ZabbixAPIException as exc:
            out.append(None)
            failed[target] = f"Zabbix refused {method}: {exc}"
            continue
        on_success(index, hostid)
        out.append(hostid)
    return out, failed


def create_interfaces(
    zbx: ZabbixGateway, hostid: str, interfaces: tuple[dict[str, Any], ...]
) -> list[str]:
    """Create ``interfaces`` on host ``hostid`` (one call); their new ids, in order."""
    created = zbx.call("hostinterface.create", [{"hostid": hostid, **i} for i in interfaces])
    return list(created["interfaceids"])


def delete_interfaces(zbx: ZabbixGateway, interfaceids: list[str]) -> None:
    zbx.call("hostinterface.delete", list(interfaceids))


def items_on(
    zbx: ZabbixGateway, hostid: str, interfaceids: tuple[str, ...]
) -> list[dict[str, Any]]:
    """The items of host ``hostid`` that use these interfaces (id, type, interface)."""
    return zbx.call(
        "item.get",
        {
            "output": ["itemid", "type", "interfaceid"],
            "hostids": [hostid],
            "interfaceids": list(interfaceids),
        },
    )


def update_items(zbx: ZabbixGateway, items: list[dict[str, str]]) -> None:
    if items:
        zbx.call("item.update", items)


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


def hosts_to_adopt(
    zbx: ZabbixGateway,
    host_names: tuple[str, ...],
    visible_names: tuple[str, ...],
    ips: tuple[str, ...],
    proxies: Ids,
) -> list[ActualHost]:
    """The hosts with one of these technical or visible names, or an interface on one of
    these IPs (ImportHost): a ``host.get`` per :data:`HOSTS_PER_CALL` names, a
    ``hostinterface.get`` per as many IPs, then one ``host.get`` per as many hosts found
    by IP only."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, max(len(host_names), len(visible_names)), HOSTS_PER_CALL):
        page = slice(start, start + HOSTS_PER_CALL)
        for raw in get_hosts(zbx, names=host_names[page], visible_names=visible_names[page]):
            found[raw["hostid"]] = raw
    by_ip: set[str] = set()
    for start in range(0, len(ips), HOSTS_PER_CALL):
        interfaces = zbx.call(
            "hostinterface.get",
            {"output": ["hostid"], "filter": {"ip": list(ips[start : start + HOSTS_PER_CALL])}},
        )
        by_ip |= {i["hostid"] for i in interfaces} - set(found)
    wanted = sorted(by_ip)
    for start in range(0, len(wanted), HOSTS_PER_CALL):
        for raw in get_hosts(zbx, hostids=tuple(wanted[start : start + HOSTS_PER_CALL])):
            found[raw["hostid"]] = raw
    return [actual_host(zbx.dialect, raw, proxies) for raw in found.values()]
