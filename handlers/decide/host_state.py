"""A Zabbix host as the service reasons about it: names, not ids, so that what NetBox wants
and what Zabbix has compare field by field; plus the name -> id maps a write needs.

Pure data, no I/O: :mod:`handlers.gateways.zabbix_hosts` fills these from ``host.get``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Tag whose value names the NetBox object: how the service recognises hosts it owns.
OWNER_TAG = "object"
#: What the ownership tag becomes when a host is archived (soft delete).
ARCHIVED_TAG = "archived"
#: The macro namespace the service owns.
MACRO_PREFIX = "{$NETBOX."


@dataclass(frozen=True, kw_only=True)
class HostState:
    """A Zabbix host as :func:`handlers.decide.diff.diff` compares it: names, not ids."""

    host: str
    name: str
    status: int
    groups: tuple[str, ...]
    templates: tuple[str, ...]
    proxy: str | None
    proxy_group: str | None
    interfaces: tuple[dict[str, Any], ...]
    tags: tuple[tuple[str, str], ...]
    macros: tuple[tuple[str, str], ...]
    inventory_mode: int
    inventory: dict[str, str] = field(default_factory=dict)
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class DesiredHost(HostState):
    """The Zabbix host a NetBox object should be."""

    target: str


@dataclass(frozen=True, kw_only=True)
class ActualHost(HostState):
    """What Zabbix has for a host, normalised like :class:`DesiredHost`.

    ``group_ids`` and ``template_ids`` map the names it carries to their ids, so that
    unlinking a template or restoring a group needs no lookup.
    """

    hostid: str
    group_ids: dict[str, str] = field(default_factory=dict)
    template_ids: dict[str, str] = field(default_factory=dict)


def kept_host(actual: ActualHost, target: str, **changes: Any) -> DesiredHost:
    """What NetBox wants when it says nothing new about a host: the host as it is in Zabbix
    (its last interface, templates, tags), with ``changes`` (e.g. ``status=1``)."""
    fields = {f: getattr(actual, f) for f in HostState.__dataclass_fields__}
    return DesiredHost(target=target, **{**fields, **changes})


@dataclass(frozen=True)
class Ids:
    """Name -> id maps of the host groups, templates, proxies and proxy groups a batch uses."""

    groups: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)
    proxies: dict[str, str] = field(default_factory=dict)
    proxy_groups: dict[str, str] = field(default_factory=dict)

    def names(self, kind: str) -> dict[str, str]:
        """The id -> name map of ``kind`` (``proxies``, ``proxy_groups``, ...)."""
        return {v: k for k, v in getattr(self, kind).items()}

    def with_groups(self, created: dict[str, str]) -> Ids:
        """These ids, plus host groups created since they were read."""
        return Ids({**self.groups, **created}, self.templates, self.proxies, self.proxy_groups)


def owner_of(host: HostState, tag_prefix: str) -> str | None:
    """The target a Zabbix host says it belongs to (our ownership tag), if any."""
    owner_tag = f"{tag_prefix}{OWNER_TAG}".lower()
    return next((value for tag, value in host.tags if tag.lower() == owner_tag), None)


def owned_tag(tag: str, settings: dict[str, Any]) -> bool:
    """Whether ``tag`` is under the service's prefix (replaced, not merged, on update)."""
    return tag.lower().startswith(settings["tag_prefix"].lower())


#: Zabbix interface fields the service writes (ids aside).
INTERFACE_FIELDS = ("type", "main", "useip", "ip", "dns", "port", "details")


def interface_key(iface: dict[str, Any]) -> tuple:
    """What makes two interfaces the same for us (ids and the ``main`` flag aside)."""
    details = {k: str(v) for k, v in (iface.get("details") or {}).items() if k != "max_repetitions"}
    return (
        int(iface["type"]),
        str(iface.get("ip", "")),
        str(iface.get("dns", "")),
        int(iface.get("useip", 1)),
        str(iface.get("port", "")),
        tuple(sorted(details.items())),
    )


def interface_address(iface: dict[str, Any]) -> Any:
    """Where Zabbix polls an interface: its IP, or its DNS name when ``useip`` is 0."""
    return iface.get("ip") if int(iface.get("useip", 1)) else iface.get("dns")


def interface_kind(iface: dict[str, Any]) -> str:
    """``agent``, ``snmpv1``, ``snmpv2c``, ``snmpv3`` (or ``type N``) of a Zabbix interface."""
    if int(iface["type"]) == 1:
        return "agent"
    if int(iface["type"]) == 2:
        version = str((iface.get("details") or {}).get("version", ""))
        return {"1": "snmpv1", "2": "snmpv2c", "3": "snmpv3"}.get(version, "snmp")
    return f"type {iface['type']}"
