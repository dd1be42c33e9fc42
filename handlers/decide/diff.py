"""``diff``: the fewest changes that bring a Zabbix host in line with what NetBox wants,
and the same changes as sentences an operator can act on. Pure functions.

Tags under the service's prefix and macros in its namespace are replaced; anything else
on the host is kept. Host groups and templates are compared as they are: the planner first
adds those a host keeps because the service did not put them there
(:func:`handlers.decide.ownership.with_foreign`), so they are neither removed nor reported.
"""

from __future__ import annotations

from typing import Any

from handlers.decide.host_state import (
    MACRO_PREFIX,
    ActualHost,
    DesiredHost,
    interface_address,
    interface_key,
    interface_kind,
    owned_tag,
)


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
    foreign_tags = tuple(t for t in actual.tags if not owned_tag(t[0], settings))
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


def _show_interface(iface: dict[str, Any]) -> str:
    return f"{interface_kind(iface)} {interface_address(iface)}:{iface.get('port')}"


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
        owned = {t for t in actual.tags if owned_tag(t[0], settings)}
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
