"""What an import of Zabbix's settings changes in the mirrors, as pure functions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from handlers.decide.host_state import interface_address, interface_kind

#: Item type -> the interface an item of that type needs (others need none, or any).
ITEM_INTERFACES = {"0": "agent", "20": "snmp", "12": "ipmi", "16": "jmx"}
#: The mirrors, each a table of rows with an ``id`` and a ``name``.
KINDS = ("templates", "host_groups", "proxies", "proxy_groups")


def interface_kinds(items: list[dict[str, Any]]) -> dict[str, list[str]]:
    """templateid -> the interfaces its items need, sorted, from ``item.get`` rows."""
    kinds: dict[str, set[str]] = {}
    for item in items:
        if need := ITEM_INTERFACES.get(str(item["type"])):
            kinds.setdefault(item["hostid"], set()).add(need)
    return {templateid: sorted(needs) for templateid, needs in kinds.items()}


@dataclass(frozen=True)
class MirrorChanges:
    """Rows to write (new or changed) and ids to remove, per mirror."""

    upserts: dict[str, list[dict[str, Any]]]
    removals: dict[str, list[str]]

    @property
    def removed(self) -> int:
        return sum(len(ids) for ids in self.removals.values())


def mirror_changes(
    current: dict[str, dict[str, dict[str, Any]]], found: dict[str, list[dict[str, Any]]]
) -> MirrorChanges:
    """``current``: mirror -> id -> row (from Postgres); ``found``: mirror -> rows read
    from Zabbix. Rows equal to the mirrored ones are not written again."""
    upserts, removals = {}, {}
    for kind in KINDS:
        have, rows = current.get(kind, {}), found.get(kind, [])
        upserts[kind] = [
            row for row in rows if {k: have.get(row["id"], {}).get(k) for k in row} != row
        ]
        seen = {row["id"] for row in rows}
        removals[kind] = sorted(i for i in have if i not in seen)
    return MirrorChanges(upserts, removals)


def refusal(changes: MirrorChanges, max_deletions: int) -> str | None:
    """Why an import must change nothing: it would remove more rows than the limit."""
    if changes.removed <= max_deletions:
        return None
    counts = ", ".join(f"{len(ids)} {kind}" for kind, ids in changes.removals.items() if ids)
    return (
        f"the import would remove {changes.removed} mirrored objects ({counts}), more than "
        f"the max_deletions setting ({max_deletions}); nothing was changed. If Zabbix really "
        "lost them, raise the limit (`nzc settings set max_deletions N`) and import again"
    )


#: Mirror -> what one of its rows is called in a sentence.
NOUNS = {
    "templates": "Zabbix template",
    "host_groups": "Zabbix host group",
    "proxies": "Zabbix proxy",
    "proxy_groups": "Zabbix proxy group",
}
#: How many mirrored names a refusal offers instead of an unknown one.
CLOSEST = 3
#: Settings that name a Zabbix object -> the mirror that must know it.
SETTING_MIRRORS = {"graveyard_group": "host_groups"}


def missing(names: Iterable[str], rows: dict[str, dict[str, Any]]) -> list[str]:
    """The names, in order and once each, that no row of a mirror (id -> row) has."""
    known = {row["name"] for row in rows.values()}
    return [name for name in dict.fromkeys(names) if name not in known]


def unknown_names(
    option: str, kind: str, names: Iterable[str], rows: dict[str, dict[str, Any]]
) -> list[str]:
    """One sentence per name the mirror ``kind`` (id -> row) does not know, naming the
    closest mirrored names; ``option`` is the input that gave the names."""
    unknown = missing(names, rows)
    # The service creates host groups on demand: a new one is not a typo if the user says so.
    create = " (or give --create-host-groups to create it)" if kind == "host_groups" else ""
    if unknown and not rows:
        none = " (Zabbix 6.0 has none)" if kind == "proxy_groups" else ""
        return [
            f"{option}: {', '.join(map(repr, unknown))} cannot be checked: no "
            f"{kind.replace('_', ' ')} are mirrored{none}; run `nzc zabbix import` first{create}"
        ]
    known = sorted({row["name"] for row in rows.values()})
    sentences = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=CLOSEST)
        hint = (
            f"closest: {', '.join(map(repr, close))}"
            if close
            else f"none is close (`nzc zabbix {kind.replace('_', '-')}` lists them)"
        )
        sentences.append(
            f"{option}: {name!r} is not a {NOUNS[kind]} known to the mirror; {hint}. Run "
            f"`nzc zabbix import` if it was added in Zabbix since the last import{create}"
        )
    return sentences


def _needs(row: dict[str, Any], rows: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Interface kind -> the template (``row`` or one linked to it, however deep) whose
    items need it; the nearest wins. Cycles and parents missing from the mirror are
    skipped."""
    needs: dict[str, str] = {}
    seen, queue = {row["id"]}, [row]
    while queue:
        current = queue.pop(0)
        for kind in current["interface_kinds"]:
            needs.setdefault(kind, current["name"])
        for parent_id in current["parent_ids"]:
            if parent_id in rows and parent_id not in seen:
                seen.add(parent_id)
                queue.append(rows[parent_id])
    return needs


def interface_problem(
    templates: Iterable[str], interface_types: list[str], rows: dict[str, dict[str, Any]]
) -> list[str]:
    """One sentence per template (by name, from the templates mirror ``rows``) whose items,
    or those of the templates linked to it, need an agent or SNMP interface that
    ``interface_types`` (a mapping's: agent, snmpv1, snmpv2c, snmpv3) has none of. Names
    the mirror does not know are left to :func:`unknown_names`; IPMI and JMX needs are not
    checked, as a mapping cannot give those interfaces."""
    by_name = {row["name"]: row for row in rows.values()}
    have = {"snmp" if t.startswith("snmp") else t for t in interface_types}
    given = ",".join(interface_types)
    wanted = {
        "agent": ("a Zabbix agent interface", "no agent; add agent"),
        "snmp": ("an SNMP interface", "no SNMP type; add one of snmpv1, snmpv2c, snmpv3"),
    }
    sentences = []
    for name in dict.fromkeys(templates):
        if name not in by_name:
            continue
        for kind, source in sorted(_needs(by_name[name], rows).items()):
            if kind in wanted and kind not in have:
                via = "" if source == name else f" (through its linked template {source!r})"
                interface, fix = wanted[kind]
                sentences.append(
                    f"--templates: {name!r} needs {interface}{via}, but --interface-types "
                    f"{given} has {fix}"
                )
    return sentences


def _links(row: dict[str, Any], rows: dict[str, dict[str, Any]]) -> set[str]:
    """The names of every template ``row`` links, however deep (cycles skipped)."""
    names: set[str] = set()
    seen, queue = {row["id"]}, list(row["parent_ids"])
    while queue:
        parent_id = queue.pop(0)
        if parent_id in seen or parent_id not in rows:
            continue
        seen.add(parent_id)
        names.add(rows[parent_id]["name"])
        queue.extend(rows[parent_id]["parent_ids"])
    return names


def _address(iface: dict[str, Any]) -> str:
    where = interface_address(iface) or iface.get("ip") or iface.get("dns")
    return f"{where}:{iface.get('port')}"


def misconfigurations(
    templates: Iterable[str],
    interfaces: Iterable[dict[str, Any]],
    rows: dict[str, dict[str, Any]],
    *,
    where: str = "NetBox wants",
) -> list[str]:
    """What Zabbix would refuse or run badly in a host's templates and interfaces, in words:
    a template whose items (or a linked template's) need an agent or SNMP interface the
    host has none of; two interfaces on one IP (or DNS name) and port; a template that
    another of the host's templates already links (Zabbix refuses to link it twice).
    ``rows``: the templates mirror (id -> row); names it does not know are not checked."""
    templates, interfaces = list(dict.fromkeys(templates)), list(interfaces)
    by_name = {row["name"]: row for row in rows.values()}
    kinds = sorted({interface_kind(i) for i in interfaces})
    have = {"snmp" if k.startswith("snmp") else k for k in kinds}
    found = []
    for name in templates:
        if name not in by_name:
            continue
        for kind, source in sorted(_needs(by_name[name], rows).items()):
            if kind in ("agent", "snmp") and kind not in have:
                via = "" if source == name else f" (through its linked template {source!r})"
                found.append(
                    f"template {name!r} needs {'an agent' if kind == 'agent' else 'an SNMP'} "
                    f"interface{via}, but {where} {', '.join(kinds) or 'no'} interfaces only; "
                    "change the mapping's interface types or its templates"
                )
        for other in templates:
            if other != name and other in _links(by_name[name], rows):
                found.append(
                    f"templates {name!r} and {other!r} conflict: {name!r} already links "
                    f"{other!r}, and Zabbix refuses to link a template twice; drop {other!r}"
                )
    seen: dict[str, str] = {}
    for iface in interfaces:
        address = _address(iface)
        if address in seen:
            found.append(
                f"two interfaces on {address} ({seen[address]} and {interface_kind(iface)}); "
                "Zabbix polls one address and port once: give one of them another port"
            )
        seen.setdefault(address, interface_kind(iface))
    return found
