"""Desired state, as pure functions: a NetBox device or VM (with its interfaces and IP
addresses), a mapping and the settings become the Zabbix host it should be.

Names (groups, templates, proxies) stay names here; the gateway resolves them to ids.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

from handlers.decide.group_names import CONTEXT, CUSTOM, expand, needs
from handlers.decide.host_state import ARCHIVED_TAG, MACRO_PREFIX, OWNER_TAG, DesiredHost
from handlers.decide.targets import split_target, status_of

#: Characters Zabbix accepts in a technical host name.
_HOST_OK = re.compile(r"[^0-9A-Za-z._ -]")
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


def interface_types_problem(kinds: list[str]) -> str | None:
    """Why ``kinds`` is not a list of interface types a host can have, or None."""
    if not kinds:
        return f"no interface type given: choose from {', '.join(INTERFACE_TYPES)}"
    unknown = [k for k in kinds if k not in INTERFACE_TYPES]
    if unknown:
        return f"interface type {unknown[0]!r} is not one of {', '.join(INTERFACE_TYPES)}"
    return None


class NotMonitorable(ValueError):
    """The object cannot become a host (no address, no mapping); the message says why."""


class NoHostGroup(NotMonitorable):
    """Every host group of the object's mapping was left out (their fields are empty for
    it): Zabbix wants at least one, and the host keeps the ones it has."""


class NoPrimaryIP(NotMonitorable):
    """The object has no primary IP address: what its existing host becomes is the
    ``no_primary_ip`` setting's choice."""


#: Keys of a nested NetBox object (site, role, platform, tenant, tag, device type,
#: manufacturer, status) that naming, mapping and status read.
_REF_KEYS = ("name", "slug", "display", "model", "value")
#: Keys of a device or VM the planner reads as they are.
_PLAIN_KEYS = ("id", "name", "serial", "asset_tag", "description")


def _ref(value: Any, shared: dict[Any, Any]) -> Any:
    """The keys naming and mapping read of a nested object; equal ones are one object in
    ``shared`` (thousands of devices name a handful of sites, roles and tags)."""
    if not isinstance(value, dict):
        return value
    ref = {k: value[k] for k in _REF_KEYS if k in value}
    if isinstance(value.get("manufacturer"), dict):
        ref["manufacturer"] = _ref(value["manufacturer"], shared)
    key = tuple((k, id(v) if isinstance(v, dict) else v) for k, v in ref.items())
    return shared.setdefault(key, ref)


def host_facts(
    obj: dict[str, Any], shared: dict[Any, Any] | None = None, uses: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """What :func:`build_desired`, :func:`select_mapping`, :func:`overrides` and
    :func:`name_candidates` read of a device or VM, and nothing else: a full sync holds
    every object at once, and NetBox's representation is some ten times larger. Nested
    objects equal to one in ``shared`` (kept across the objects of one read) are that one:
    the planner only reads them. ``uses`` (from
    :func:`~handlers.decide.group_names.needs`) names the custom fields and config-context
    keys the mappings' host-group templates read; those of the object's own override are
    kept too."""
    shared = {} if shared is None else shared
    uses = uses | needs(group_templates(obj, None))
    facts = {k: obj[k] for k in _PLAIN_KEYS if k in obj}
    for key in (
        "status",
        "site",
        "role",
        "platform",
        "tenant",
        "device_type",
        "location",
        "cluster",
    ):
        if key in obj:
            facts[key] = _ref(obj[key], shared)
    primaries: dict[Any, dict[str, Any]] = {}
    for key in ("primary_ip", "primary_ip4", "primary_ip6"):
        if key in obj:
            ip = obj[key]
            # primary_ip is primary_ip4 or primary_ip6 again: one dict for both.
            facts[key] = (
                primaries.setdefault(ip.get("id"), {k: ip[k] for k in ("id", "address") if k in ip})
                if ip
                else ip
            )
    facts["tags"] = [_ref(t, shared) for t in obj.get("tags") or []]
    custom = {
        k: v
        for k, v in (obj.get("custom_fields") or {}).items()
        if k.startswith("zabbix_") or CUSTOM + k in uses
    }
    context = {
        k: v
        for k, v in (obj.get("config_context") or {}).items()
        if (k == "zabbix" or CONTEXT + k in uses) and v
    }
    # Most objects have neither: they share one empty dict of each.
    facts["custom_fields"] = custom or shared.setdefault("no custom fields", {})
    facts["config_context"] = context or shared.setdefault("no config context", {})
    return facts


def ip_facts(ip: dict[str, Any]) -> dict[str, Any]:
    """What the planner reads of an IP address: its id, DNS name and address (adoption
    checks a host's interfaces against the object's addresses)."""
    return {"id": ip.get("id"), "dns_name": ip.get("dns_name"), "address": ip.get("address")}


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


def name_candidates(desired: DesiredHost, obj: dict[str, Any]) -> list[tuple[str, str]]:
    """The (technical, visible) names the host of ``obj`` may take, in order: its NetBox
    name; then the name and the site slug (``sw-01-ams``, ``sw-01 (ams)``); then the name,
    the site slug and the object id (``sw-01-ams-42``, ``sw-01 (ams, 42)``), or the name and
    the id for an object without a site. NetBox allows one name in two sites, and a device
    and a VM of one name; Zabbix wants both names unique."""
    site = _slug(obj.get("site"))
    _, object_id = split_target(desired.target)
    suffixes = [(f"-{site}", f" ({site})"), (f"-{site}-{object_id}", f" ({site}, {object_id})")]
    if not site:
        suffixes = [(f"-{object_id}", f" ({object_id})")]
    return [(desired.host, desired.name)] + [
        (desired.host[: 128 - len(tech)] + tech, desired.name[: 128 - len(visible)] + visible)
        for tech, visible in suffixes
    ]


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


def group_templates(obj: dict[str, Any], mapping: dict[str, Any] | None) -> list[str]:
    """The host groups (names, or templates such as ``Sites/{region}/{site}``) ``obj``
    asks for: its override, else the mapping's (none without a mapping)."""
    groups = overrides(obj).get("host_groups") or (mapping or {}).get("host_groups") or []
    return [groups] if isinstance(groups, str) else list(groups)


def _address(obj: dict[str, Any], ips: list[dict[str, Any]]) -> tuple[str, str]:
    """(ip, dns) of the primary IP; the DNS name comes from that IP address object."""
    primary = obj.get("primary_ip4") or obj.get("primary_ip") or obj.get("primary_ip6")
    if not primary:
        raise NoPrimaryIP("it has no primary IP address (set one in NetBox)")
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


def owner_tag_name(settings: dict[str, Any]) -> str:
    """The name of the tag whose value names a host's NetBox object, as hosts carry it."""
    return _format_tag(f"{settings['tag_prefix']}{OWNER_TAG}", settings["tag_name_format"])


def archived_tag_name(settings: dict[str, Any]) -> str:
    """The tag an archived host carries instead of the ownership tag, with the same value:
    it names the object the host was for, and the host is no longer ours to manage."""
    return _format_tag(f"{settings['tag_prefix']}{ARCHIVED_TAG}", settings["tag_name_format"])


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
    if problem := interface_types_problem(kinds):
        raise NotMonitorable(problem)
    prefix, how = settings["tag_prefix"], settings["tag_name_format"]
    tags = {(owner_tag_name(settings), target)}
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
    object_type, object_id = split_target(target)
    expanded = expand(group_templates(obj, mapping), obj)
    if expanded.dropped and not expanded.groups:
        raise NoHostGroup(
            "every host group of its mapping was left out ("
            + "; ".join(expanded.dropped)
            + "); give the mapping a group without fields, or fill the fields in NetBox"
        )
    groups = tuple(sorted(set(expanded.groups)))
    return DesiredHost(
        target=target,
        host=technical_name(name, target),
        name=name,
        status=zabbix_status,
        groups=groups,
        templates=tuple(sorted(set(over.get("templates") or mapping["templates"] or []))),
        proxy=over.get("proxy") or mapping.get("proxy"),
        proxy_group=over.get("proxy_group") or mapping.get("proxy_group"),
        interfaces=_defaults_first(tuple(_interface(k, ip, dns, settings) for k in kinds)),
        tags=tuple(sorted(tags)),
        macros=(
            (f"{MACRO_PREFIX}ID}}", str(object_id)),
            (f"{MACRO_PREFIX}OBJECT_TYPE}}", object_type),
        ),
        inventory_mode=inventory_mode,
        inventory=inventory,
        description=str(obj.get("description") or ""),
    )
