"""ImportHost, the pure part: which existing Zabbix host a NetBox device or VM adopts, and
why one cannot be adopted, in words.

:func:`lookups` says what to look for in Zabbix (names, and primary IPs with ``--match
ip``); :func:`decide` matches what was found with every NetBox object and checks each
match the way ValidateHost would, so that an adopted host is one the next reconcile run
brings in line in place: same hostid, same interfaces (``interfaceid``), same items.
:mod:`handlers.jobs.imports` reads before it and writes after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from handlers.decide.desired import (
    INTERFACE_TYPES,
    NotMonitorable,
    archived_tag_name,
    build_desired,
    owner_tag_name,
    select_mapping,
    technical_name,
)
from handlers.decide.diff import describe_differences, diff
from handlers.decide.host_state import ActualHost, interface_address, interface_kind, owner_of
from handlers.decide.ownership import with_foreign
from handlers.decide.targets import split_target

#: What ``--match`` may name: the technical or visible name, the primary IP.
MATCH_BY = ("name", "ip")
#: What a plan says about a candidate.
ADOPT, REFUSE, NOT_FOUND = "adopt", "refuse", "not_found"


def parse_match(value: str) -> frozenset[str]:
    """``name``, ``ip`` or ``name,ip`` as a set; raises ValueError naming the choices."""
    chosen = frozenset(v.strip() for v in value.split(",") if v.strip())
    if not chosen or chosen - set(MATCH_BY):
        raise ValueError(f"--match {value!r}: give name, ip or name,ip")
    return chosen


@dataclass(frozen=True, kw_only=True)
class Lookups:
    """What to read from Zabbix: hosts by technical and visible name, and the hosts with an
    interface on one of ``ips``."""

    host_names: tuple[str, ...]
    visible_names: tuple[str, ...]
    ips: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Adoption:
    """A host to adopt.

    Parameters:
      target: the NetBox object.
      actual: the Zabbix host, as read.
      matched_by: how it was found, in words (``technical name``, ``visible name``, ``IP``).
      mapping_id: the mapping that applies to the object.
      tags: every tag the host gets (its own, plus our ownership tag); None when it carries
        our ownership tag for this target already.
      interface_types: the host's interface types, recorded in the host config (as ``nzc
        provision`` does) when they differ from the mapping's, so the next run keeps its
        interfaces; None otherwise.
      changes: the fields the next reconcile run will change on the host.
      differences: the same changes, in words (the host config's sync state).
    """

    target: str
    actual: ActualHost
    matched_by: str
    mapping_id: int | None
    tags: tuple[tuple[str, str], ...] | None
    interface_types: list[str] | None
    changes: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AdoptPlan:
    """What an import will do, per candidate.

    Parameters:
      adopt: target -> the host it adopts.
      refused: target -> why it cannot adopt the host it matched.
      not_found: candidates no Zabbix host matches.
      skipped: targets named that are no candidates (a host config already, not in NetBox).
    """

    adopt: dict[str, Adoption] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    not_found: tuple[str, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)


def _primary_ip(obj: dict[str, Any]) -> str | None:
    primary = obj.get("primary_ip4") or obj.get("primary_ip") or obj.get("primary_ip6")
    if not primary:
        return None
    return str(primary.get("address", "")).split("/")[0] or None


def _names(target: str, obj: dict[str, Any]) -> tuple[str, str]:
    """The (technical, visible) names a host for ``obj`` would have."""
    name = str(obj.get("name") or target)
    return technical_name(name, target), name


def lookups(candidates: dict[str, dict[str, Any]], match: frozenset[str]) -> Lookups:
    """What to read from Zabbix for ``candidates`` (target -> ``{"obj", "ips"}``)."""
    names = [_names(t, e["obj"]) for t, e in candidates.items()] if "name" in match else []
    ips = {_primary_ip(e["obj"]) for e in candidates.values()} if "ip" in match else set()
    return Lookups(
        host_names=tuple(sorted({h for h, _ in names})),
        visible_names=tuple(sorted({n for _, n in names})),
        ips=tuple(sorted(ips - {None})),
    )


def _matches(
    objects: dict[str, dict[str, Any]], hosts: list[ActualHost], match: frozenset[str]
) -> dict[str, dict[str, list[str]]]:
    """target -> hostid -> how the host matches the object, for every NetBox object."""
    by_host: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    by_ip: dict[str, list[str]] = {}
    for target, entry in objects.items():
        host, name = _names(target, entry["obj"])
        by_host.setdefault(host, []).append(target)
        by_name.setdefault(name, []).append(target)
        if ip := _primary_ip(entry["obj"]):
            by_ip.setdefault(ip, []).append(target)
    found: dict[str, dict[str, list[str]]] = {}
    for h in hosts:
        how: list[tuple[str, str]] = []
        if "name" in match:
            how += [(t, "technical name") for t in by_host.get(h.host, [])]
            how += [(t, "visible name") for t in by_name.get(h.name, [])]
        if "ip" in match:
            ips = {str(i.get("ip")) for i in h.interfaces if int(i.get("useip", 1))}
            how += [(t, "IP") for ip in sorted(ips) for t in by_ip.get(ip, [])]
        for target, why in how:
            whys = found.setdefault(target, {}).setdefault(h.hostid, [])
            if why not in whys:
                whys.append(why)
    return found


def _show(iface: dict[str, Any]) -> str:
    return f"{interface_kind(iface)} interface {interface_address(iface)}:{iface.get('port')}"


def _interface_problem(target: str, actual: ActualHost, ips: list[dict[str, Any]]) -> str | None:
    """Why the host's interfaces cannot be kept: a kind the service does not manage, an IP
    NetBox does not have on the object, two interfaces on one address and port."""
    known = {str(ip.get("address") or "").split("/")[0] for ip in ips}
    seen: set[tuple[str, str]] = set()
    for iface in actual.interfaces:
        if interface_kind(iface) not in INTERFACE_TYPES:
            return (
                f"its {_show(iface)} is of a type the service does not manage "
                f"({', '.join(INTERFACE_TYPES)}): remove it in Zabbix first"
            )
        address = str(interface_address(iface))
        if int(iface.get("useip", 1)) and address not in known:
            return (
                f"its {_show(iface)} uses IP {address}, which NetBox does not have on {target}: "
                "add the address to the object in NetBox, or change the interface in Zabbix"
            )
        key = (address, str(iface.get("port")))
        if key in seen:
            return f"it has two interfaces on {address}:{key[1]}: remove one of them in Zabbix"
        seen.add(key)
    return None


def _and(words: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]]))


def _kinds(actual: ActualHost) -> list[str]:
    """The host's interface types, in order, each once."""
    return list(dict.fromkeys(interface_kind(i) for i in actual.interfaces))


def _decide_one(
    target: str,
    entry: dict[str, Any],
    hosts: dict[str, ActualHost],
    whys: dict[str, list[str]],
    matched_by: dict[str, list[str]],
    config_of: dict[str, str],
    known_templates: set[str],
    settings: dict[str, Any],
    mappings: list[dict[str, Any]],
) -> Adoption | str:
    """The adoption of the host ``target`` matched, or why there is none."""
    if len(whys) > 1:
        found = ", ".join(f"{hosts[h].host!r} ({h}, by {_and(w)})" for h, w in sorted(whys.items()))
        return (
            f"it matches {len(whys)} Zabbix hosts: {found}; adopt it with --match name or "
            "--match ip so that only one matches, or rename one of them"
        )
    ((hostid, how),) = whys.items()
    actual = hosts[hostid]
    label = f"Zabbix host {actual.host!r} ({hostid})"
    owner = owner_of(actual, settings["tag_prefix"]) or config_of.get(hostid)
    if owner and owner != target:
        return f"{label} is already owned by {owner}: it is that object's host"
    archived = next((v for k, v in actual.tags if k == archived_tag_name(settings)), None)
    if archived:
        return (
            f"{label} is the archived host of {archived} (soft-deleted, its history kept): "
            "it is not adopted for another object; rename or delete it in Zabbix first"
        )
    others = sorted(set(matched_by[hostid]) - {target})
    if others:
        return (
            f"{label} matches {len(others) + 1} NetBox objects ({', '.join([target, *others])}):"
            " rename one of them in NetBox, or adopt by the other criterion (--match)"
        )
    kind, _ = split_target(target)
    mapping = select_mapping(entry["obj"], kind, mappings)
    kinds = _kinds(actual)
    try:
        wanted = build_desired(target, entry["obj"], entry["ips"], mapping, settings)
        provisioned = (
            kinds if kinds and kinds != [interface_kind(i) for i in wanted.interfaces] else None
        )
        desired = build_desired(
            target, entry["obj"], entry["ips"], mapping, settings, provisioned=provisioned
        )
    except NotMonitorable as exc:
        return f"{label} cannot be adopted: the object is not monitored: {exc}"
    if problem := _interface_problem(target, actual, entry["ips"]):
        return f"{label} cannot be adopted: {problem}"
    unknown = sorted(t for t, i in actual.template_ids.items() if i not in known_templates)
    if unknown:
        return (
            f"{label} cannot be adopted: template {unknown[0]!r} is not in the mirror: "
            "import Zabbix's settings (`nzc zabbix import`) and try again"
        )
    tag = (owner_tag_name(settings), target)
    tagged = replace(actual, tags=tuple(sorted({*actual.tags, tag})))
    # Adopted, the host owns none of its groups and templates: they stay (ownership.py).
    desired, _ = with_foreign(
        desired, tagged, {"hostid": hostid, "owned_groups": [], "owned_templates": []}, settings
    )
    changes = diff(desired, tagged, settings)
    return Adoption(
        target=target,
        actual=actual,
        matched_by=_and(how),
        mapping_id=mapping["id"] if mapping else None,
        tags=None if owner == target else tagged.tags,
        interface_types=provisioned,
        changes=tuple(sorted(set(changes) - {"templates_clear"})),
        differences=tuple(describe_differences(desired, tagged, changes, settings)),
    )


def decide(
    candidates: list[str],
    objects: dict[str, dict[str, Any]],
    hosts: list[ActualHost],
    configs: dict[str, dict[str, Any]],
    known_templates: set[str],
    settings: dict[str, Any],
    mappings: list[dict[str, Any]],
    match: frozenset[str],
) -> AdoptPlan:
    """The adoption of each of ``candidates`` (objects without a host config) among every
    NetBox object (``objects``, so a host two objects match is found), the Zabbix ``hosts``
    found, the host configs (their hostids are owned), the template ids the mirror knows."""
    matches = _matches(objects, hosts, match)
    matched_by: dict[str, list[str]] = {}
    for target, found in matches.items():
        for hostid in found:
            matched_by.setdefault(hostid, []).append(target)
    by_id = {h.hostid: h for h in hosts}
    config_of = {c["hostid"]: t for t, c in configs.items() if c.get("hostid")}
    adopt: dict[str, Adoption] = {}
    refused: dict[str, str] = {}
    for target in sorted(candidates):
        if not (whys := matches.get(target)):
            continue
        found = _decide_one(
            target,
            objects[target],
            by_id,
            whys,
            matched_by,
            config_of,
            known_templates,
            settings,
            mappings,
        )
        if isinstance(found, Adoption):
            adopt[target] = found
        else:
            refused[target] = found
    return AdoptPlan(
        adopt=adopt,
        refused=refused,
        not_found=tuple(t for t in sorted(candidates) if t not in matches),
    )


def describe(plan: AdoptPlan, names: dict[str, str]) -> list[str]:
    """The plan in words, one line per target (``names``: target -> NetBox name), with the
    fields the next reconcile run will change on each adopted host indented below it."""
    lines = []
    for target, adoption in plan.adopt.items():
        host = adoption.actual
        lines.append(
            f"adopt    {target} {names.get(target, '')!r}: Zabbix host {host.host!r} "
            f"({host.hostid}), matched by {adoption.matched_by}"
        )
        if adoption.changes:
            lines.append(f"    the next reconcile run changes: {', '.join(adoption.changes)}")
    lines += [f"refuse   {t} {names.get(t, '')!r}: {why}" for t, why in plan.refused.items()]
    lines += [f"skip     {t}: {why}" for t, why in plan.skipped.items()]
    if plan.not_found:
        lines.append(
            f"{len(plan.not_found)} candidate(s) without a Zabbix host to adopt (the reconcile "
            "runs create theirs): "
            + ", ".join(plan.not_found[:10])
            + (", ..." if len(plan.not_found) > 10 else "")
        )
    return lines
