"""Desired state, as pure functions: a NetBox device or VM (with its interfaces and IP
addresses), a mapping and the settings become the Zabbix host it should be; ``diff``
compares that with what Zabbix has and yields the fewest changes.

Names (groups, templates, proxies) stay names here; the gateway resolves them to ids.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

#: Characters Zabbix accepts in a technical host name.
_HOST_OK = re.compile(r"[^0-9A-Za-z._ -]")
#: The macro namespace the service owns.
MACRO_PREFIX = "{$NETBOX."
#: NetBox field -> Zabbix inventory field.
INVENTORY_FIELDS = {
    "name": "name",
    "serial": "serialno_a",
    "asset_tag": "asset_tag",
    "platform": "os",
    "device_type": "model",
    "manufacturer": "vendor",
    "site": "location",
    "tenant": "contact",
}
SNMP_SECURITY_LEVELS = {"noAuthNoPriv": 0, "authNoPriv": 1, "authPriv": 2}
SNMP_AUTH = {"MD5": 0, "SHA1": 1, "SHA224": 2, "SHA256": 3, "SHA384": 4, "SHA512": 5}
SNMP_PRIV = {"DES": 0, "AES128": 1, "AES192": 2, "AES256": 3, "AES192C": 4, "AES256C": 5}
INVENTORY_MODES = {"disabled": -1, "manual": 0, "automatic": 1}
#: Interface types a mapping may ask for.
INTERFACE_TYPES = ("agent", "snmpv1", "snmpv2c", "snmpv3")
#: Tag whose value names the NetBox object: how the service recognises hosts it owns.
OWNER_TAG = "object"


@dataclass(frozen=True, kw_only=True)
class HostState:
    """A Zabbix host as :func:`diff` compares it: names, not ids."""

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


class NotMonitorable(ValueError):
    """The object cannot become a host (no address, no mapping); the message says why."""


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name") or value.get("display") or value.get("model") or "")
    return "" if value is None else str(value)


def _slug(value: Any) -> str | None:
    return value.get("slug") if isinstance(value, dict) else None


def technical_name(name: str, target: str) -> str:
    """A name Zabbix accepts, stable for the object. Names that had to change (non-ASCII or
    forbidden characters) get a short hash of the original, so two never collide."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = _HOST_OK.sub("_", ascii_name).strip(" ._-") or target.replace(":", "-").replace(
        ".", "-"
    )
    if cleaned == name:
        return name[:128]
    digest = hashlib.sha1(f"{target}:{name}".encode()).hexdigest()[:6]  # noqa: S324 -- a label
    return f"{cleaned[:120]}-{digest}"


def status_of(obj: dict[str, Any]) -> str | None:
    status = obj.get("status")
    return status.get("value") if isinstance(status, dict) else status


def select_mapping(
    obj: dict[str, Any], object_type: str, mappings: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The most specific mapping whose filters all match (an empty filter matches any);
    ties go to the lowest id; the default mapping when none matches."""
    facts = {
        "sites": {_slug(obj.get("site"))},
        "roles": {_slug(obj.get("role"))},
        "platforms": {_slug(obj.get("platform"))},
        "tags": {t.get("slug") for t in obj.get("tags") or []},
    }
    best: tuple[int, int] | None = None
    chosen = None
    for mapping in mappings:
        if mapping["object_type"] != object_type or mapping["is_default"]:
            continue
        filters = {key: set(mapping[key] or []) for key in facts}
        if any(values and not values & facts[key] for key, values in filters.items()):
            continue
        rank = (-sum(1 for v in filters.values() if v), mapping["id"])
        if best is None or rank < best:
            best, chosen = rank, mapping
    if chosen is None:
        defaults = [m for m in mappings if m["object_type"] == object_type and m["is_default"]]
        chosen = min(defaults, key=lambda m: m["id"]) if defaults else None
    return chosen


def overrides(obj: dict[str, Any]) -> dict[str, Any]:
    """Per-object settings from the ``zabbix`` config-context key, then ``zabbix_*`` custom
    fields (custom fields win): templates, host_groups, proxy, proxy_group, interface_type."""
    result: dict[str, Any] = {}
    context = (obj.get("config_context") or {}).get("zabbix") or {}
    custom = obj.get("custom_fields") or {}
    for key in ("templates", "host_groups", "proxy", "proxy_group", "interface_type"):
        value = custom.get(f"zabbix_{key}")
        if value in (None, "", []):
            value = context.get(key)
        if value not in (None, "", []):
            result[key] = value
    return result


def _address(obj: dict[str, Any], ips: list[dict[str, Any]]) -> tuple[str, str]:
    """(ip, dns) of the primary IP; the DNS name comes from that IP address object."""
    primary = obj.get("primary_ip4") or obj.get("primary_ip") or obj.get("primary_ip6")
    if not primary:
        raise NotMonitorable("it has no primary IP address (set one in NetBox)")
    ip = str(primary.get("address", "")).split("/")[0]
    dns = next((x.get("dns_name") or "" for x in ips if x.get("id") == primary.get("id")), "")
    return ip, dns


def _interface(kind: str, ip: str, dns: str, settings: dict[str, Any]) -> dict[str, Any]:
    use_ip = 1 if ip else 0
    base = {"main": 1, "useip": use_ip, "ip": ip, "dns": dns}
    if kind == "agent":
        return {**base, "type": 1, "port": str(settings["agent_port"]), "details": {}}
    details: dict[str, Any] = {"bulk": 1}
    if kind in ("snmpv1", "snmpv2c"):
        details.update(version=1 if kind == "snmpv1" else 2, community=settings["snmp_community"])
    else:
        details.update(
            version=3,
            securityname=settings["snmpv3_securityname"],
            securitylevel=SNMP_SECURITY_LEVELS[settings["snmpv3_securitylevel"]],
            authprotocol=SNMP_AUTH[settings["snmpv3_authprotocol"]],
            authpassphrase=settings["snmpv3_authpassphrase"],
            privprotocol=SNMP_PRIV[settings["snmpv3_privprotocol"]],
            privpassphrase=settings["snmpv3_privpassphrase"],
            contextname="",
        )
    return {**base, "type": 2, "port": str(settings["snmp_port"]), "details": details}


def _defaults_first(interfaces: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], ...]:
    """Zabbix allows one default (``main``) interface per type: the first of each type."""
    seen: set[int] = set()
    out = []
    for iface in interfaces:
        out.append({**iface, "main": 0 if iface["type"] in seen else 1})
        seen.add(iface["type"])
    return tuple(out)


def _format_tag(name: str, how: str) -> str:
    return name.upper() if how == "upper" else name.lower() if how == "lower" else name


def build_desired(
    target: str,
    obj: dict[str, Any],
    ips: list[dict[str, Any]],
    mapping: dict[str, Any] | None,
    settings: dict[str, Any],
    provisioned: list[str] | None = None,
) -> DesiredHost:
    """The host ``obj`` should be. Raises :class:`NotMonitorable` with the reason.

    Interface types come from the object's override, else those chosen by hand
    (``provisioned``, from ``nzc provision``), else the mapping."""
    if mapping is None:
        raise NotMonitorable(
            "no mapping matches it and there is no default mapping (nzc mappings add)"
        )
    status = status_of(obj)
    if status in settings["monitored_statuses"]:
        zabbix_status = 0
    elif status in settings["disabled_statuses"]:
        zabbix_status = 1
    else:
        raise NotMonitorable(f"its status {status!r} is neither monitored nor disabling")
    ip, dns = _address(obj, ips)
    over = overrides(obj)
    kinds = over.get("interface_type") or provisioned or mapping["interface_types"] or ["agent"]
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    unknown = [k for k in kinds if k not in INTERFACE_TYPES]
    if unknown:
        raise NotMonitorable(
            f"interface type {unknown[0]!r} is not one of {', '.join(INTERFACE_TYPES)}"
        )
    prefix, how = settings["tag_prefix"], settings["tag_name_format"]
    tags = {(_format_tag(f"{prefix}{OWNER_TAG}", how), target)}
    for key in ("site", "role", "platform", "tenant"):
        if value := _name(obj.get(key)):
            tags.add((_format_tag(f"{prefix}{key}", how), value))
    for tag in obj.get("tags") or []:
        tags.add((_format_tag(f"{prefix}tag", how), _name(tag)))
    device_type = obj.get("device_type") or {}
    facts = {
        "name": obj.get("name") or "",
        "serial": obj.get("serial") or "",
        "asset_tag": obj.get("asset_tag") or "",
        "platform": _name(obj.get("platform")),
        "device_type": _name(device_type),
        "manufacturer": _name(
            device_type.get("manufacturer") if isinstance(device_type, dict) else None
        ),
        "site": _name(obj.get("site")),
        "tenant": _name(obj.get("tenant")),
    }
    inventory_mode = INVENTORY_MODES[settings["inventory_mode"]]
    inventory = (
        {} if inventory_mode == -1 else {INVENTORY_FIELDS[k]: v for k, v in facts.items() if v}
    )
    name = str(obj.get("name") or target)
    object_type, object_id = target.split(":")
    return DesiredHost(
        target=target,
        host=technical_name(name, target),
        name=name,
        status=zabbix_status,
        groups=tuple(sorted(set(over.get("host_groups") or mapping["host_groups"] or []))),
        templates=tuple(sorted(set(over.get("templates") or mapping["templates"] or []))),
        proxy=over.get("proxy") or mapping.get("proxy"),
        proxy_group=over.get("proxy_group") or mapping.get("proxy_group"),
        interfaces=_defaults_first(tuple(_interface(k, ip, dns, settings) for k in kinds)),
        tags=tuple(sorted(tags)),
        macros=((f"{MACRO_PREFIX}ID}}", object_id), (f"{MACRO_PREFIX}OBJECT_TYPE}}", object_type)),
        inventory_mode=inventory_mode,
        inventory=inventory,
        description=str(obj.get("description") or ""),
    )


@dataclass(frozen=True, kw_only=True)
class ActualHost(HostState):
    """What Zabbix has for a host, normalised like :class:`DesiredHost`."""

    hostid: str


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


def _owned_tag(tag: str, settings: dict[str, Any]) -> bool:
    return tag.lower().startswith(settings["tag_prefix"].lower())


def diff(desired: DesiredHost, actual: ActualHost, settings: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``actual`` that must change, with their new values (names); empty when
    the host is in step. Tags and macros outside the owned prefix and namespace are kept."""
    changes: dict[str, Any] = {}
    for key in ("host", "name", "status", "description", "inventory_mode", "proxy", "proxy_group"):
        if getattr(desired, key) != getattr(actual, key):
            changes[key] = getattr(desired, key)
    if set(desired.groups) != set(actual.groups):
        changes["groups"] = desired.groups
    if set(desired.templates) != set(actual.templates):
        changes["templates"] = desired.templates
        changes["templates_clear"] = tuple(sorted(set(actual.templates) - set(desired.templates)))
    if sorted(map(interface_key, desired.interfaces)) != sorted(
        map(interface_key, actual.interfaces)
    ):
        changes["interfaces"] = desired.interfaces
    foreign_tags = tuple(t for t in actual.tags if not _owned_tag(t[0], settings))
    if set(desired.tags) | set(foreign_tags) != set(actual.tags):
        changes["tags"] = tuple(sorted(set(desired.tags) | set(foreign_tags)))
    foreign_macros = tuple(m for m in actual.macros if not m[0].startswith(MACRO_PREFIX))
    if set(desired.macros) | set(foreign_macros) != set(actual.macros):
        changes["macros"] = tuple(sorted(set(desired.macros) | set(foreign_macros)))
    if desired.inventory_mode != -1 and any(
        actual.inventory.get(k, "") != v for k, v in desired.inventory.items()
    ):
        changes["inventory"] = desired.inventory
    return changes


def interface_kind(iface: dict[str, Any]) -> str:
    """``agent``, ``snmpv1``, ``snmpv2c``, ``snmpv3`` (or ``type N``) of a Zabbix interface."""
    if int(iface["type"]) == 1:
        return "agent"
    if int(iface["type"]) == 2:
        version = str((iface.get("details") or {}).get("version", ""))
        return {"1": "snmpv1", "2": "snmpv2c", "3": "snmpv3"}.get(version, "snmp")
    return f"type {iface['type']}"


def _show_interface(iface: dict[str, Any]) -> str:
    where = iface.get("ip") if int(iface.get("useip", 1)) else iface.get("dns")
    return f"{interface_kind(iface)} {where}:{iface.get('port')}"


def _missing_extra(what: str, wanted: set, present: set) -> list[str]:
    out = []
    if missing := sorted(wanted - present):
        out.append(f"{what} missing in Zabbix: {', '.join(map(str, missing))}")
    if extra := sorted(present - wanted):
        out.append(f"{what} in Zabbix that NetBox does not want: {', '.join(map(str, extra))}")
    return out


def describe_differences(
    desired: DesiredHost, actual: ActualHost, changes: dict[str, Any], settings: dict[str, Any]
) -> list[str]:
    """``changes`` (from :func:`diff`) as sentences an operator can act on."""
    out: list[str] = []
    labels = {
        "host": "technical name",
        "name": "visible name",
        "description": "description",
        "inventory_mode": "inventory mode",
        "proxy": "proxy",
        "proxy_group": "proxy group",
    }
    for key, label in labels.items():
        if key in changes:
            out.append(
                f"{label}: Zabbix has {getattr(actual, key)!r}, NetBox wants "
                f"{getattr(desired, key)!r}"
            )
    if "status" in changes:
        words = {0: "enabled", 1: "disabled"}
        out.append(
            f"status: Zabbix has it {words.get(actual.status, actual.status)}, NetBox wants "
            f"it {words.get(desired.status, desired.status)}"
        )
    if "groups" in changes:
        out += _missing_extra("host groups", set(desired.groups), set(actual.groups))
    if "templates" in changes:
        out += _missing_extra("templates", set(desired.templates), set(actual.templates))
    if "interfaces" in changes:
        out.append(
            "interfaces: Zabbix has "
            + (", ".join(map(_show_interface, actual.interfaces)) or "none")
            + "; NetBox wants "
            + ", ".join(map(_show_interface, desired.interfaces))
        )
    if "tags" in changes:
        owned = {t for t in actual.tags if _owned_tag(t[0], settings)}
        out += _missing_extra(
            "tags", {f"{k}={v}" for k, v in desired.tags}, {f"{k}={v}" for k, v in owned}
        )
    if "macros" in changes:
        owned = {m for m in actual.macros if m[0].startswith(MACRO_PREFIX)}
        out += _missing_extra(
            "macros", {f"{k}={v}" for k, v in desired.macros}, {f"{k}={v}" for k, v in owned}
        )
    if "inventory" in changes:
        for key, value in sorted(desired.inventory.items()):
            if actual.inventory.get(key, "") != value:
                out.append(
                    f"inventory {key}: Zabbix has {actual.inventory.get(key, '')!r}, "
                    f"NetBox wants {value!r}"
                )
    return out
