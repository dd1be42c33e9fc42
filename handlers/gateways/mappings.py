"""The ``mappings`` table: which devices and VMs get which templates, groups, proxy and
interface types."""

from __future__ import annotations

from typing import Any

import psycopg


def load_mappings(conn: psycopg.Connection) -> list[dict[str, Any]]:
    return conn.execute("SELECT * FROM mappings ORDER BY id").fetchall()


MAPPING_FIELDS = (
    "name",
    "object_type",
    "is_default",
    "sites",
    "roles",
    "platforms",
    "tags",
    "templates",
    "host_groups",
    "proxy",
    "proxy_group",
    "interface_types",
)


def add_mapping(conn: psycopg.Connection, mapping: dict[str, Any]) -> int:
    keys = [k for k in MAPPING_FIELDS if k in mapping]
    row = conn.execute(
        f"INSERT INTO mappings ({', '.join(keys)}) VALUES ({', '.join(['%s'] * len(keys))})"
        " RETURNING id",
        [mapping[k] for k in keys],
    ).fetchone()
    return row["id"]


def remove_mapping(conn: psycopg.Connection, mapping_id: int) -> bool:
    return conn.execute("DELETE FROM mappings WHERE id = %s", [mapping_id]).rowcount == 1
