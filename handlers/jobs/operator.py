"""Changes an operator makes by hand: a setting, a mapping rule.

The CLI (``nzc settings set``, ``nzc mappings add``) and the admin API (``PATCH
/api/v1/settings``, ``POST /api/v1/mappings``) both call these, so a change is checked
once, the same way, and refused with the same sentences whichever way it came.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from marshmallow import ValidationError

from handlers.decide.desired import interface_types_problem
from handlers.decide.group_names import is_template, template_problems
from handlers.decide.mirror import SETTING_MIRRORS, interface_problem, missing, unknown_names
from handlers.gateways import mappings, mirrors
from handlers.gateways.settings import SettingsError, read_settings, update_settings
from schemas.settings import (
    MASK,
    SECRET_FIELDS,
    format_errors,
    parse_setting_value,
    status_warnings,
)


class Refused(ValueError):
    """A change was refused and nothing was written.

    Parameters:
      what: what was refused (``setting``, ``mapping``).
      problems: one sentence per problem: which input was wrong, and what to do.
    """

    def __init__(self, what: str, problems: list[str]) -> None:
        super().__init__(f"{what} refused:\n" + "\n".join(problems))
        self.what = what
        self.problems = problems


class Exists(Refused):
    """The change would make a second object of the same name (its one problem says so)."""

    def __str__(self) -> str:
        return self.problems[0]


@dataclass(frozen=True)
class SettingsChange:
    """A settings change that was written.

    Parameters:
      changes: the typed values written, by setting.
      settings: every setting after the change.
      created_host_groups: host groups named that the mirror does not know; the service
        creates them on first use.
      warnings: what is allowed but may be a typo (a status NetBox does not ship).
    """

    changes: dict[str, Any]
    settings: dict[str, Any]
    created_host_groups: list[str]
    warnings: list[str]


def change_settings(
    conn: psycopg.Connection, values: dict[str, Any], *, create_host_groups: bool = False
) -> SettingsChange:
    """Check and write ``values`` (setting -> value) in the caller's transaction.

    A text value is read as typed on the command line (a list comma-separated, a number
    in digits); other values (from JSON) are taken as typed. A setting naming a Zabbix
    object (graveyard_group) must name one the mirror knows, unless it is a host group and
    ``create_host_groups``. Raises :class:`Refused` with every problem, writing nothing.
    """
    errors: dict[str, Any] = {}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_FIELDS and value == MASK:
            # A GET shows a set secret as the mask: sent back, it would replace the secret.
            errors[key] = [
                f"{MASK} is how a set secret is shown; send the value itself, or leave "
                f"{key} out to keep it"
            ]
            continue
        try:
            changes[key] = parse_setting_value(key, value)
        except ValidationError as exc:
            errors.update(exc.messages_dict)
    if errors:
        raise Refused("setting", format_errors(errors).splitlines())
    created: list[str] = []
    problems: list[str] = []
    for key, value in changes.items():
        kind = SETTING_MIRRORS.get(key)
        if kind is None or not isinstance(value, str):
            continue  # a value of the wrong type is the schema's to refuse
        rows = mirrors.load(conn, kind)
        new = missing([value], rows)
        if new and not (kind == "host_groups" and create_host_groups):
            problems += unknown_names(key, kind, [value], rows)
        created += new
    if problems:
        raise Refused("setting", problems)
    if not changes:
        return SettingsChange({}, read_settings(conn), [], [])
    try:
        settings = update_settings(conn, changes)
    except SettingsError as exc:
        raise Refused("setting", str(exc).splitlines()) from None
    return SettingsChange(changes, settings, created, status_warnings(changes))


@dataclass(frozen=True)
class MappingAdded:
    """A mapping rule that was written.

    Parameters:
      mapping_id: its id.
      created_host_groups: host groups it names that the mirror does not know; the
        service creates them on first use.
    """

    mapping_id: int
    created_host_groups: list[str]


def add_mapping(
    conn: psycopg.Connection, mapping: dict[str, Any], *, create_host_groups: bool = False
) -> MappingAdded:
    """Check and write the mapping rule ``mapping`` (the columns of
    :data:`~handlers.gateways.mappings.MAPPING_FIELDS`) in the caller's transaction.

    Its templates, host groups, proxy and proxy group must be known to the mirrors (host
    groups need not be with ``create_host_groups``), and its interface types must give
    what the templates' items need. Raises :class:`Refused` with every problem, or
    :class:`Exists` when a mapping of that name exists; then nothing is written.
    """
    kinds = mapping["interface_types"]
    if problem := interface_types_problem(kinds):
        raise Refused("mapping", [f"--interface-types: {problem}"])
    if problems := template_problems("--host-groups", mapping["host_groups"]):
        raise Refused("mapping", problems)
    # A templated group is named per object when it is used: no mirror can know it yet.
    literal_groups = [g for g in mapping["host_groups"] if not is_template(g)]
    named = {
        "templates": ("--templates", mapping["templates"]),
        "host_groups": ("--host-groups", literal_groups),
        "proxies": ("--proxy", [mapping["proxy"]] if mapping["proxy"] else []),
        "proxy_groups": (
            "--proxy-group",
            [mapping["proxy_group"]] if mapping["proxy_group"] else [],
        ),
    }
    if create_host_groups:
        del named["host_groups"]
    mirrored = mirrors.load_all(conn)
    problems = [
        sentence
        for kind, (option, names) in named.items()
        for sentence in unknown_names(option, kind, names, mirrored[kind])
    ] + interface_problem(mapping["templates"], kinds, mirrored["templates"])
    if problems:
        raise Refused("mapping", problems)
    try:
        mapping_id = mappings.add_mapping(conn, mapping)
    except psycopg.errors.UniqueViolation:
        exists = f"a mapping named {mapping['name']!r} exists; `nzc mappings list` shows them"
        raise Exists("mapping", [exists]) from None
    return MappingAdded(mapping_id, missing(literal_groups, mirrored["host_groups"]))
