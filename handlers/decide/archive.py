"""Soft delete as a pure function: the names, group and status of an archived host.

An archived host keeps its history: it is renamed with the ``archived_suffix`` setting
(the technical name gets it without the characters Zabbix refuses there), moved to the
graveyard group and disabled. Names stay unique among the hosts Zabbix already has.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.decide.host_state import ActualHost


def archived_names(host: str, name: str, suffix: str) -> tuple[str, str]:
    """(technical name, visible name) an archived host would get, before de-duplication."""
    tech_suffix = "-" + (re.sub(r"[^0-9A-Za-z._-]+", "-", suffix).strip("-") or "archived")
    return host + tech_suffix, name + suffix


def archive_payloads(
    configs: list[dict[str, Any]],
    settings: dict[str, Any],
    graveyard_groupid: str,
    taken_hosts: set[str],
    taken_names: set[str],
) -> list[dict[str, Any]]:
    """One host.update per host config: renamed (numbered where the name is taken),
    moved to the graveyard, disabled."""
    taken_hosts, taken_names = set(taken_hosts), set(taken_names)
    payloads = []
    for config in configs:
        base_host, base_name = archived_names(
            config["host"], config["name"], settings["archived_suffix"]
        )
        host, name, n = base_host, base_name, 2
        while host in taken_hosts or name in taken_names:
            host, name = f"{base_host}-{n}", f"{base_name} {n}"
            n += 1
        taken_hosts.add(host)
        taken_names.add(name)
        payloads.append(
            {
                "hostid": config["hostid"],
                "host": host,
                "name": name,
                "status": 1,
                "groups": [{"groupid": graveyard_groupid}],
            }
        )
    return payloads


def unarchive_payload(actual: ActualHost) -> dict[str, Any]:
    """The host.update that undoes an archive: the host's names, status and groups before."""
    return {
        "hostid": actual.hostid,
        "host": actual.host,
        "name": actual.name,
        "status": actual.status,
        "groups": [{"groupid": actual.group_ids[g]} for g in actual.groups],
    }
