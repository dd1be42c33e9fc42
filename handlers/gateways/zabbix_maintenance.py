"""Zabbix maintenances: one per window, written whole (``maintenance.create``/``update``),
removed when the window has no hosts left (Zabbix refuses a maintenance without hosts or
groups) or ends; and the hosts that proxies and proxy groups monitor."""

from __future__ import annotations

from typing import Any

from handlers.gateways.zabbix import ZabbixAPIException, ZabbixGateway

#: Words of Zabbix's answer for an id that names nothing (deleted by hand, or a write undone).
_GONE = "No permissions to referred object or it does not exist"


def _gone(exc: ZabbixAPIException) -> bool:
    return _GONE in str(exc)


def write(zbx: ZabbixGateway, maintenanceid: str | None, params: dict[str, Any], mark: str) -> str:
    """Create or update the maintenance; returns its id. One that vanished is created again;
    one of the same name is taken over only when its description carries ``mark`` (a create
    of ours whose record was rolled back): a maintenance made by hand is never overwritten."""
    if maintenanceid:
        try:
            zbx.call("maintenance.update", {"maintenanceid": maintenanceid, **params})
            return maintenanceid
        except ZabbixAPIException as exc:
            # The same words name a host that is gone: only a vanished maintenance is made anew.
            if not _gone(exc) or _exists(zbx, maintenanceid):
                raise
    found = zbx.call(
        "maintenance.get",
        {"output": ["maintenanceid", "description"], "filter": {"name": params["name"]}},
    )
    if found and mark not in (found[0].get("description") or ""):
        raise ZabbixAPIException(
            f"a Zabbix maintenance named {params['name']!r} exists and is not this window's "
            "(made by hand?): rename the window, or rename or delete that maintenance"
        )
    if found:
        maintenanceid = found[0]["maintenanceid"]
        zbx.call("maintenance.update", {"maintenanceid": maintenanceid, **params})
        return maintenanceid
    return zbx.call("maintenance.create", params)["maintenanceids"][0]


def _exists(zbx: ZabbixGateway, maintenanceid: str) -> bool:
    found = zbx.call(
        "maintenance.get", {"output": ["maintenanceid"], "maintenanceids": [maintenanceid]}
    )
    return bool(found)


def existing_hosts(zbx: ZabbixGateway, hostids: list[str]) -> set[str]:
    """Which of these hosts Zabbix still has (one deleted by hand would make Zabbix refuse
    the whole maintenance)."""
    if not hostids:
        return set()
    found = zbx.call("host.get", {"output": ["hostid"], "hostids": hostids})
    return {h["hostid"] for h in found}


def delete(zbx: ZabbixGateway, maintenanceid: str | None) -> None:
    """Delete the maintenance; one already gone counts as deleted."""
    if not maintenanceid:
        return
    try:
        zbx.call("maintenance.delete", [maintenanceid])
    except ZabbixAPIException as exc:
        if not _gone(exc):
            raise


def monitored_by(zbx: ZabbixGateway, proxyids: list[str], proxy_groupids: list[str]) -> list[str]:
    """Ids of the hosts these proxies and proxy groups monitor: a call each kind."""
    hostids: set[str] = set()
    if proxyids:
        found = zbx.call("host.get", {"output": ["hostid"], "proxyids": proxyids})
        hostids |= {h["hostid"] for h in found}
    if proxy_groupids and zbx.dialect.has_proxy_groups:
        found = zbx.call("host.get", {"output": ["hostid"], "proxy_groupids": proxy_groupids})
        hostids |= {h["hostid"] for h in found}
    return sorted(hostids)
