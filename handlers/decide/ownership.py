"""What the service owns on a host, as pure functions: the host groups and templates it put
there (from the mapping or an override), recorded in the host config after each write,
apart from those it found there (adopted, or added by hand later).

An update adds and removes only owned ones: a foreign group or template stays, unless
``keep_foreign_groups`` / ``keep_foreign_templates`` is off (the host then gets exactly the
mapping's). Without a record (a host config written before ownership was recorded, NULL
sets; or a host of ours without one) the service presumes its own what some mapping (or
the object's override) names: anything else on the host was added by hand, and is kept
(never destroyed on weak evidence); the sets are recorded at its next write. An empty set
owns nothing (an adopted host).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from handlers.decide.host_state import ActualHost, DesiredHost


@dataclass(frozen=True)
class Owned:
    """The host groups and templates the service puts on a host, to record in its host
    config once the write succeeded.

    Parameters:
      groups, templates: names, sorted.
    """

    groups: tuple[str, ...]
    templates: tuple[str, ...]


def _found(present: tuple[str, ...], recorded: list[str] | None, named: set[str]) -> set[str]:
    """What of ``present`` the service did not put there; without a record, what no
    mapping names."""
    return set(present) - (named if recorded is None else set(recorded))


def with_foreign(
    desired: DesiredHost,
    actual: ActualHost | None,
    config: dict[str, Any] | None,
    settings: dict[str, Any],
    named: tuple[set[str], set[str]] = (set(), set()),
) -> tuple[DesiredHost, Owned]:
    """(``desired`` plus the foreign groups and templates of ``actual`` that stay, what the
    service owns once it is written). ``desired`` carries the mapping's (or the override's)
    groups and templates. A foreign one the mapping also names stays foreign, so that
    dropping it from the mapping later leaves it where a person put it. The recorded sets
    of ``config`` apply only to the host it names (a host adopted under another id has no
    record). ``named``: the host groups and templates the mappings name, presumed the
    service's on a host without a record."""
    if actual is None:
        return desired, Owned(desired.groups, desired.templates)
    config = config if config and config["hostid"] == actual.hostid else {}
    groups = _found(actual.groups, config.get("owned_groups"), named[0] | set(desired.groups))
    templates = _found(
        actual.templates, config.get("owned_templates"), named[1] | set(desired.templates)
    )
    if not settings["keep_foreign_groups"]:
        groups = set()
    if not settings["keep_foreign_templates"]:
        templates = set()
    owned = Owned(
        tuple(sorted(set(desired.groups) - groups)),
        tuple(sorted(set(desired.templates) - templates)),
    )
    return (
        replace(
            desired,
            groups=tuple(sorted(set(desired.groups) | groups)),
            templates=tuple(sorted(set(desired.templates) | templates)),
        ),
        owned,
    )


def link_refused(error: str, desired: DesiredHost, actual: ActualHost, owned: Owned) -> str:
    """Zabbix's refusal of a host update, saying which templates the service was linking
    next to which templates it keeps because a person linked them (the usual cause: the
    same item key, or one template inheriting the other); ``error`` as it is otherwise."""
    linking = sorted(set(owned.templates) - set(actual.templates))
    kept = sorted(set(desired.templates) - set(owned.templates))
    if not linking or not kept:
        return error
    return (
        f"Zabbix refused to link template(s) {', '.join(map(repr, linking))} next to "
        f"template(s) {', '.join(map(repr, kept))} linked by hand (kept because "
        "keep_foreign_templates is on); they conflict: unlink the hand-linked one in "
        "Zabbix, change the mapping, or set keep_foreign_templates to false. "
        f"Zabbix said: {error}"
    )


def mapping_names(mappings: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(host groups, templates) the mappings name literally (a templated group names none)."""
    groups = {g for m in mappings for g in m.get("host_groups") or [] if "{" not in g}
    return groups, {t for m in mappings for t in m.get("templates") or []}
