"""Soft delete as a pure function: the names, group and status of an archived host.

An archived host keeps its history: it is renamed with the ``archived_suffix`` setting
(the technical name gets it without the characters Zabbix refuses there), moved to the
graveyard group and disabled, and its ownership tag becomes ``<prefix>archived`` with the
same value, so it is no longer taken for a host of ours (never archived or adopted again).
Names stay unique among the hosts Zabbix already has.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.decide.desired import archived_tag_name, owner_tag_name
from handlers.decide.host_state import ActualHost


def archived_names(host: str, name: str, suffix: str) -> tuple[str, str]:
    """(technical name, visible name) an archived host would get, before de-duplication."""
    tech_suffix = "-" + (re.sub(r"[^0-9A-Za-z._-]+", "-", suffix).strip("-") or "archived")
    return host + tech_suffix, name + suffix


def archive_payloads(
    configs: list[dict[str, Any]],
    hosts: list[ActualHost],
    settings: dict[str, Any],
    graveyard_groupid: str,
    taken_hosts: set[str],
    taken_names: set[str],
) -> list[dict[str, Any]]:
    """One host.update per host config (and its host in Zabbix, for its tags): renamed
    (numbered where the name is taken), moved to the graveyard, disabled, and tagged as
    archived instead of owned."""
    taken_hosts, taken_names = set(taken_hosts), set(taken_names)
    owner, archived = owner_tag_name(settings).lower(), archived_tag_name(settings)
    payloads = []
    for config, actual in zip(configs, hosts, strict=True):
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
                "tags": [
                    {"tag": archived if tag.lower() == owner else tag, "value": value}
                    for tag, value in actual.tags
                ],
            }
        )
    return payloads


def unarchive_payload(actual: ActualHost) -> dict[str, Any]:
    """The host.update that undoes an archive: the host's names, status, groups and tags
    before."""
    return {
        "hostid": actual.hostid,
        "host": actual.host,
        "name": actual.name,
        "status": actual.status,
        "groups": [{"groupid": actual.group_ids[g]} for g in actual.groups],
        "tags": [{"tag": tag, "value": value} for tag, value in actual.tags],
    }
