"""Zabbix's templates, host groups, proxies and proxy groups, read whole in a handful of
calls (one per kind, plus one ``item.get`` for what the templates' items need)."""

from __future__ import annotations

from typing import Any

from handlers.decide.mirror import interface_kinds
from handlers.gateways.zabbix import ZabbixGateway


def read_catalog(zbx: ZabbixGateway) -> dict[str, list[dict[str, Any]]]:
    """mirror -> rows shaped like the mirror tables (see :mod:`handlers.gateways.mirrors`).
    Zabbix 6.0 has no proxy groups: that list is empty, not an error."""
    templates = zbx.call(
        "template.get",
        {"output": ["templateid", "host", "name"], "selectParentTemplates": ["templateid"]},
    )
    needs = interface_kinds(
        zbx.call("item.get", {"output": ["hostid", "type"], "templated": True}) if templates else []
    )
    name_field = zbx.dialect.proxy_name_field
    return {
        "templates": [
            {
                "id": t["templateid"],
                "name": t["host"],
                "visible_name": t["name"],
                "parent_ids": sorted(p["templateid"] for p in t.get("parentTemplates", [])),
                "interface_kinds": needs.get(t["templateid"], []),
            }
            for t in templates
        ],
        "host_groups": [
            {"id": g["groupid"], "name": g["name"]}
            for g in zbx.call("hostgroup.get", {"output": ["groupid", "name"]})
        ],
        "proxies": [
            {"id": p["proxyid"], "name": p[name_field]}
            for p in zbx.call("proxy.get", {"output": ["proxyid", name_field]})
        ],
        "proxy_groups": [
            {"id": g["proxy_groupid"], "name": g["name"]}
            for g in zbx.call("proxygroup.get", {"output": ["proxy_groupid", "name"]})
        ]
        if zbx.dialect.has_proxy_groups
        else [],
    }
