"""The ``host_configs`` table: each NetBox object the service manages, with its Zabbix
hostid, names, mapping and interface-type choice."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from handlers.decide.secrets import mask_secrets


def load_host_configs(conn: psycopg.Connection, targets: list[str]) -> dict[str, dict[str, Any]]:
    rows = conn.execute("SELECT * FROM host_configs WHERE target = ANY(%s)", [targets]).fetchall()
    return {row["target"]: row for row in rows}


def save_host_config(
    conn: psycopg.Connection,
    *,
    target: str,
    hostid: str,
    host: str,
    name: str,
    mapping_id: int | None,
    last_diff: dict[str, Any] | None,
    interface_types: list[str] | None = None,
    owned_groups: list[str] | tuple[str, ...] | None = None,
    owned_templates: list[str] | tuple[str, ...] | None = None,
) -> None:
    """Insert or update a host config; ``interface_types`` (chosen by hand) is kept when None,
    and so are the host groups and templates the service owns on the host (``owned_*``; an
    empty list owns nothing, which is not NULL, the legacy "everything is ours")."""
    conn.execute(
        "INSERT INTO host_configs (target, hostid, host, name, mapping_id, last_diff,"
        " interface_types, owned_groups, owned_templates, checked_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now())"
        " ON CONFLICT (target) DO UPDATE"
        " SET hostid = EXCLUDED.hostid, host = EXCLUDED.host, name = EXCLUDED.name,"
        " mapping_id = EXCLUDED.mapping_id, in_sync = true, last_diff = EXCLUDED.last_diff,"
        " missing_since = NULL, missing_reason = NULL,"
        " interface_types = COALESCE(EXCLUDED.interface_types, host_configs.interface_types),"
        " owned_groups = COALESCE(EXCLUDED.owned_groups, host_configs.owned_groups),"
        " owned_templates = COALESCE(EXCLUDED.owned_templates, host_configs.owned_templates),"
        " last_synced_at = now(), checked_at = now(), differences = '[]'",
        [
            target,
            hostid,
            host,
            name,
            mapping_id,
            Jsonb(mask_secrets(last_diff)) if last_diff else None,
            interface_types,
            None if owned_groups is None else list(owned_groups),
            None if owned_templates is None else list(owned_templates),
        ],
    )


def mark_missing(conn: psycopg.Connection, targets: list[str], reason: str) -> None:
    """NetBox did not return these objects and nothing proves they were deleted: their
    hosts stay, and their host configs say why (``missing_since`` keeps the first time).
    One statement, however many; a state recorded after this transaction began stays."""
    if targets:
        conn.execute(
            "UPDATE host_configs SET missing_since = COALESCE(missing_since, now()),"
            " missing_reason = %s, in_sync = false, checked_at = now(), differences = %s"
            " WHERE target = ANY(%s) AND (checked_at IS NULL OR checked_at < now())",
            [reason, Jsonb([reason]), targets],
        )


def load_all(conn: psycopg.Connection) -> dict[str, dict[str, Any]]:
    """Every host config, by target, in target order."""
    rows = conn.execute("SELECT * FROM host_configs ORDER BY target").fetchall()
    return {row["target"]: row for row in rows}


def stale_targets(conn: psycopg.Connection, cutoff_min: int) -> list[str]:
    """Targets whose sync state was not checked within the last ``cutoff_min`` minutes."""
    rows = conn.execute(
        "SELECT target FROM host_configs WHERE checked_at IS NULL"
        " OR checked_at < now() - make_interval(mins => %s) ORDER BY target",
        [cutoff_min],
    )
    return [r["target"] for r in rows]


def record_sync_state(conn: psycopg.Connection, differences: dict[str, list[str]]) -> None:
    """Record each host config's sync state: checked now, in sync when it has no
    differences (sentences). One statement, however many. A state recorded after this
    transaction began (a reconcile run that committed meanwhile) is fresher and stays."""
    if not differences:
        return
    targets = list(differences)
    conn.execute(
        "UPDATE host_configs h SET checked_at = now(), in_sync = d.found = '[]',"
        " differences = d.found FROM unnest(%s::text[], %s::jsonb[]) AS d(target, found)"
        " WHERE h.target = d.target AND (h.checked_at IS NULL OR h.checked_at < now())",
        [targets, [Jsonb(differences[t]) for t in targets]],
    )


def host_config_targets(conn: psycopg.Connection) -> list[str]:
    """Every target that has a host config, in order."""
    return [r["target"] for r in conn.execute("SELECT target FROM host_configs ORDER BY target")]


def delete_host_config(conn: psycopg.Connection, target: str) -> None:
    conn.execute("DELETE FROM host_configs WHERE target = %s", [target])


def adopt_host_config(
    conn: psycopg.Connection,
    *,
    target: str,
    hostid: str,
    host: str,
    name: str,
    mapping_id: int | None,
    interface_types: list[str] | None,
    differences: list[str],
) -> bool:
    """The host config of an adopted host (ImportHost): it owns none of the host's groups
    and templates yet, and its sync state is what the next reconcile run will change.
    False, writing nothing, when the target has a host config already."""
    inserted = conn.execute(
        "INSERT INTO host_configs (target, hostid, host, name, mapping_id, interface_types,"
        " owned_groups, owned_templates, in_sync, differences, checked_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, '{}', '{}', %s, %s, now())"
        " ON CONFLICT (target) DO NOTHING RETURNING target",
        [
            target,
            hostid,
            host,
            name,
            mapping_id,
            interface_types,
            not differences,
            Jsonb(differences),
        ],
    ).fetchone()
    return inserted is not None


def configured_hostids(conn: psycopg.Connection, hostids: list[str]) -> set[str]:
    """Which of these Zabbix hosts a host config names already."""
    return set(targets_of_hostids(conn, hostids))


def targets_of_hostids(conn: psycopg.Connection, hostids: list[str]) -> dict[str, str]:
    """hostid -> target of the host configs naming these hosts."""
    rows = conn.execute(
        "SELECT hostid, target FROM host_configs WHERE hostid = ANY(%s)", [hostids]
    ).fetchall()
    return {row["hostid"]: row["target"] for row in rows}
