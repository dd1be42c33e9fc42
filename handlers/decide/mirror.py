"""What an import of Zabbix's settings changes in the mirrors, as pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
