"""The mirror tables of Zabbix's templates, host groups, proxies and proxy groups."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from handlers.decide.mirror import KINDS, MirrorChanges

#: Mirror -> (table, columns written besides ``id``).
TABLES = {
    "templates": ("zabbix_templates", ("name", "visible_name", "parent_ids", "interface_kinds")),
    "host_groups": ("zabbix_host_groups", ("name",)),
    "proxies": ("zabbix_proxies", ("name",)),
    "proxy_groups": ("zabbix_proxy_groups", ("name",)),
}


def load(conn: psycopg.Connection, kind: str) -> dict[str, dict[str, Any]]:
    """id -> row of one mirror (``id`` and the written columns)."""
    table, columns = TABLES[kind]
    query = sql.SQL("SELECT {} FROM {} ORDER BY name, id").format(
        sql.SQL(", ").join(map(sql.Identifier, ("id", *columns))), sql.Identifier(table)
    )
    return {row["id"]: row for row in conn.execute(query).fetchall()}


def load_all(conn: psycopg.Connection) -> dict[str, dict[str, dict[str, Any]]]:
    return {kind: load(conn, kind) for kind in KINDS}


def apply(conn: psycopg.Connection, changes: MirrorChanges) -> None:
    """Write the new and changed rows and remove the gone ones, in the caller's transaction."""
    for kind, (table, columns) in TABLES.items():
        names = ("id", *columns)
        upsert = sql.SQL(
            "INSERT INTO {t} ({c}) VALUES ({v}) ON CONFLICT (id) DO UPDATE SET {s},"
            " imported_at = now()"
        ).format(
            t=sql.Identifier(table),
            c=sql.SQL(", ").join(map(sql.Identifier, names)),
            v=sql.SQL(", ").join(sql.Placeholder(n) for n in names),
            s=sql.SQL(", ").join(
                sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns
            ),
        )
        rows = changes.upserts.get(kind, [])
        if rows:
            with conn.cursor() as cur:
                cur.executemany(upsert, rows)
        if changes.removals.get(kind):
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)),
                [changes.removals[kind]],
            )
