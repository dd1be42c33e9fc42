"""Host-group name templates, as pure functions: ``Sites/{region_path}/{site}`` and the
facts of a device or VM become ``Sites/Europe/Netherlands/DC1 Amsterdam``.

A field gives the NetBox object's name (Zabbix group names are for people); ``.slug``
after a field gives its slug. ``region_path`` and ``site_group_path`` give the whole tree,
parent first, joined by ``/`` (Zabbix nests groups by that character). ``cf.NAME`` is a
custom field, ``cc.KEY`` a config-context key (``cc.a.b`` reads nested keys). A field
without a value drops the whole group, never a segment of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: Fields naming a nested NetBox object of the device or VM (or of its site, tenant,
#: cluster or device type: the NetBox gateway adds those the templates use).
OBJECT_FIELDS = (
    "site",
    "site_group",
    "region",
    "location",
    "tenant",
    "tenant_group",
    "role",
    "platform",
    "manufacturer",
    "device_type",
    "cluster",
    "cluster_type",
)
#: Fields giving a tree, parent first: path field -> the field of its leaf.
PATH_FIELDS = {"region_path": "region", "site_group_path": "site_group"}
#: Prefixes of custom fields and config-context keys.
CUSTOM, CONTEXT = "cf.", "cc."
#: Fields the gateway reads beyond the device or VM itself: field -> (the object it is
#: read from, the key there).
RELATED = {
    "region": ("site", "region"),
    "site_group": ("site", "group"),
    "tenant_group": ("tenant", "group"),
    "cluster_type": ("cluster", "type"),
}

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def fields_of(templates: Iterable[str]) -> list[str]:
    """The fields ``templates`` name, in order and once each (``{site.slug}`` -> ``site.slug``)."""
    return list(dict.fromkeys(f.strip() for t in templates for f in _PLACEHOLDER.findall(t)))


def _base(field: str) -> str:
    return field.removesuffix(".slug")


def field_problem(field: str) -> str | None:
    """Why ``field`` is not one a template may name, or None."""
    if field.startswith((CUSTOM, CONTEXT)):
        return None if len(field) > len(CUSTOM) else f"{{{field}}} names no key after the dot"
    if _base(field) in OBJECT_FIELDS or _base(field) in PATH_FIELDS:
        return None
    known = ", ".join([*OBJECT_FIELDS, *PATH_FIELDS, "cf.NAME", "cc.KEY"])
    return (
        f"{{{field}}} is not a field a host-group template may use; known: {known} "
        "(add .slug for the slug, e.g. {site.slug})"
    )


def template_problems(option: str, templates: Iterable[str]) -> list[str]:
    """One sentence per template of ``option`` that names an unknown field or whose braces
    do not pair up."""
    problems = []
    for template in templates:
        if _PLACEHOLDER.sub("", template).count("{") or _PLACEHOLDER.sub("", template).count("}"):
            problems.append(
                f"{option}: {template!r} has a brace that does not pair up: write fields as "
                "{site}, {region_path}, {cf.NAME}"
            )
            continue
        problems += [
            f"{option}: {template!r}: {problem}"
            for field in fields_of([template])
            if (problem := field_problem(field))
        ]
    return problems


def is_template(name: str) -> bool:
    """Whether a host-group name has fields to fill in (a literal one is a group's name)."""
    return bool(_PLACEHOLDER.search(name))


def needs(templates: Iterable[str]) -> frozenset[str]:
    """What the NetBox gateway must read for ``templates``: the related fields
    (``region``, ``tenant_group`` ...), ``region_path``/``site_group_path`` for trees, and
    the custom fields and config-context keys, with their prefixes."""
    wanted = set()
    for field in fields_of(templates):
        base = _base(field)
        if base in PATH_FIELDS:
            wanted |= {base, PATH_FIELDS[base]}
        elif base in RELATED:
            wanted.add(base)
        elif field.startswith(CUSTOM):
            wanted.add(field)
        elif field.startswith(CONTEXT):
            wanted.add(CONTEXT + field[len(CONTEXT) :].split(".")[0])
    return frozenset(wanted)


def mapping_uses(mappings: Iterable[dict[str, Any]]) -> frozenset[str]:
    """What the NetBox gateway must read for the host-group templates of ``mappings``."""
    return needs(g for m in mappings for g in m["host_groups"] or [])


def _text(value: Any, slug: bool) -> str:
    """A nested object's name (or slug), or a scalar as text; '' for none."""
    if isinstance(value, dict):
        key = "slug" if slug else "name"
        return str(
            value.get(key) or ("" if slug else value.get("display") or value.get("model")) or ""
        )
    if value is None or isinstance(value, list | dict):
        return ""
    return str(value)


def value_of(field: str, facts: dict[str, Any]) -> str:
    """What ``field`` gives for an object's facts (:func:`~handlers.decide.desired.host_facts`),
    '' when it has none."""
    slug = field.endswith(".slug") and not field.startswith((CUSTOM, CONTEXT))
    base = _base(field) if slug else field
    if base.startswith(CUSTOM):
        return _text((facts.get("custom_fields") or {}).get(base[len(CUSTOM) :]), False)
    if base.startswith(CONTEXT):
        value: Any = facts.get("config_context") or {}
        for key in base[len(CONTEXT) :].split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return _text(value, False)
    if base in PATH_FIELDS:
        leaf = facts.get(PATH_FIELDS[base])
        path = (leaf or {}).get("slug_path" if slug else "path") if isinstance(leaf, dict) else None
        # A "/" inside one name would nest it: each level is one group.
        return "/".join(_one_level(p) for p in path) if path and all(path) else ""
    if base == "manufacturer":
        device_type = facts.get("device_type")
        return _text(
            device_type.get("manufacturer") if isinstance(device_type, dict) else None, slug
        )
    return _text(facts.get(base), slug)


@dataclass(frozen=True)
class Expanded:
    """Host groups with their fields filled in.

    Parameters:
      groups: the group names, in the order given, once each.
      dropped: one sentence per template dropped, naming the field without a value.
    """

    groups: tuple[str, ...]
    dropped: tuple[str, ...] = ()


def expand(templates: Iterable[str], facts: dict[str, Any]) -> Expanded:
    """Fill in ``templates`` from ``facts``; a template with a field that has no value (or
    that is unknown: an override may name anything) is dropped, and said why."""
    groups, dropped = [], []
    for template in templates:
        missing: list[str] = []

        def fill(match: re.Match[str], missing: list[str] = missing) -> str:
            field = match.group(1).strip()
            value = "" if field_problem(field) else value_of(field, facts)
            if not value.strip():
                missing.append(field)
            # One field is one level, unless it is a path: a "/" in a name must not nest.
            return value.strip() if _base(field) in PATH_FIELDS else _one_level(value.strip())

        name = _PLACEHOLDER.sub(fill, template)
        if not missing and any(not part.strip() for part in name.split("/")):
            dropped.append(
                f"host group {template!r} left out: it gives {name!r}, with an empty level"
            )
            continue
        if missing:
            why = "unknown" if field_problem(missing[0]) else "empty for this object"
            dropped.append(f"host group {template!r} left out: its field {{{missing[0]}}} is {why}")
        else:
            groups.append(name)
    return Expanded(tuple(dict.fromkeys(groups)), tuple(dropped))


def _one_level(value: str) -> str:
    """``value`` as one level of a nested group name ("/" nests in Zabbix)."""
    return value.replace("/", "-")


def with_parents(groups: Iterable[str]) -> list[str]:
    """``groups`` and every parent of a nested one (``A/B/C`` has ``A`` and ``A/B``), parents
    first: Zabbix gives a subgroup the permissions of its parent only when that exists."""
    every = set()
    for group in groups:
        parts = group.split("/")
        every |= {"/".join(parts[:n]) for n in range(1, len(parts) + 1) if all(parts[:n])}
        every.add(group)
    return sorted(every, key=lambda g: (g.count("/"), g))
