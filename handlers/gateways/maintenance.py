"""The ``maintenance_windows`` and ``maintenance_members`` tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from handlers.decide.maintenance import EXPIRED, NETBOX, Window

#: Columns an operator writes (the body of a window, less its members).
WRITTEN = (
    "name",
    "description",
    "starts_at",
    "ends_at",
    "periods",
    "collect_data",
    "scope",
    "groupids",
)


def live_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every window not expired, in id order, each with the database's ``now``."""
    return conn.execute(
        "SELECT *, now() AS now FROM maintenance_windows WHERE status <> %s ORDER BY id",
        [EXPIRED],
    ).fetchall()


def lock_live(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Lock every window not expired, in id order (the order reconcile runs lock in)."""
    return conn.execute(
        "SELECT * FROM maintenance_windows WHERE status <> %s ORDER BY id FOR UPDATE", [EXPIRED]
    ).fetchall()


def all_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every window with its member count, newest first."""
    return conn.execute(
        "SELECT w.*, (SELECT count(*) FROM maintenance_members m WHERE m.window_id = w.id)"
        " AS host_count FROM maintenance_windows w ORDER BY w.starts_at DESC, w.id DESC"
    ).fetchall()


def find(conn: psycopg.Connection, key: str | int, *, lock: bool = False) -> dict[str, Any] | None:
    """The window named ``key``, else the one whose id it is (names are never all digits);
    locked for the transaction with ``lock``."""
    lock_clause = " FOR UPDATE" if lock else ""
    if isinstance(key, str):
        row = conn.execute(
            "SELECT * FROM maintenance_windows WHERE name = %s" + lock_clause, [key]
        ).fetchone()
        if row is not None or not (key.isascii() and key.isdigit()):
            return row
    window_id = int(key)
    if not 0 < window_id < 2**31:
        return None
    return conn.execute(
        "SELECT * FROM maintenance_windows WHERE id = %s" + lock_clause, [window_id]
    ).fetchone()


def members(
    conn: psycopg.Connection, window_ids: Iterable[int]
) -> dict[int, dict[str, str | None]]:
    """window id -> its members (hostid -> target, None for a host of no host config)."""
    found: dict[int, dict[str, str | None]] = {i: {} for i in window_ids}
    for row in conn.execute(
        "SELECT window_id, hostid, target FROM maintenance_members WHERE window_id = ANY(%s)",
        [list(found)],
    ):
        found[row["window_id"]][row["hostid"]] = row["target"]
    return found


def window_members(conn: psycopg.Connection, window_id: int) -> dict[str, str | None]:
    """The members of one window (hostid -> target)."""
    return members(conn, [window_id])[window_id]


def memberships_of(conn: psycopg.Connection, targets: list[str]) -> list[dict[str, Any]]:
    """The windows each target's host is in: target, window id, name, owner and span."""
    return conn.execute(
        "SELECT m.target, w.id, w.name, w.owner, w.starts_at, w.ends_at"
        " FROM maintenance_members m JOIN maintenance_windows w ON w.id = m.window_id"
        " WHERE m.target = ANY(%s) AND w.status <> %s ORDER BY w.id",
        [targets, EXPIRED],
    ).fetchall()


def add_netbox_windows(conn: psycopg.Connection, windows: Iterable[Window]) -> None:
    """Rows for the service's NetBox windows, open-ended from now: a new row, or an
    expired one (its tag or status came back to the settings) made live again. The
    Zabbix type follows ``maintenance_collect_data``; a change marks the row for the next
    write (``updated_at`` after ``applied_at``)."""
    for window in windows:
        conn.execute(
            "INSERT INTO maintenance_windows AS w (name, owner, starts_at, scope, collect_data,"
            " description, created_by)"
            " SELECT %(name)s, %(owner)s, now(), %(scope)s, s.maintenance_collect_data,"
            " %(description)s, 'netbox-zabbix-consumer' FROM settings s WHERE s.id"
            " ON CONFLICT (name) DO UPDATE SET collect_data = EXCLUDED.collect_data,"
            " updated_at = now(), status = CASE WHEN w.status = 'expired' THEN 'pending'"
            " ELSE w.status END, starts_at = CASE WHEN w.status = 'expired' THEN now()"
            " ELSE w.starts_at END, expired_at = NULL"
            " WHERE w.owner = %(owner)s AND (w.status = 'expired'"
            " OR w.collect_data <> EXCLUDED.collect_data)",
            {
                "name": window.name,
                "owner": NETBOX,
                "scope": Jsonb(window.scope),
                "description": "NetBox objects with "
                + ", ".join(f"{k} {', '.join(v)}" for k, v in window.scope.items()),
            },
        )


def lock(
    conn: psycopg.Connection, names: Iterable[str], targets: list[str], *, lock: bool = True
) -> list[dict[str, Any]]:
    """The live windows named or holding one of ``targets``; with ``lock``, locked in id
    order (no deadlock): the member sets of locked windows change one transaction at a
    time."""
    return conn.execute(
        "SELECT * FROM maintenance_windows WHERE status <> %s AND (name = ANY(%s) OR id IN"
        " (SELECT window_id FROM maintenance_members WHERE target = ANY(%s)))"
        " ORDER BY id" + (" FOR UPDATE" if lock else ""),
        [EXPIRED, sorted(names), targets],
    ).fetchall()


def replace_members(conn: psycopg.Connection, window_id: int, new: dict[str, str | None]) -> None:
    """Set the members of a window (hostid -> target) in two statements."""
    conn.execute("DELETE FROM maintenance_members WHERE window_id = %s", [window_id])
    if new:
        hostids = sorted(new)
        conn.execute(
            "INSERT INTO maintenance_members (window_id, hostid, target)"
            " SELECT %s, h, t FROM unnest(%s::text[], %s::text[]) AS m(h, t)",
            [window_id, hostids, [new[h] for h in hostids]],
        )


def record(
    conn: psycopg.Connection,
    window_id: int,
    *,
    status: str,
    maintenanceid: str | None,
    error: str | None = None,
) -> None:
    """What Zabbix made of a window: its maintenance (None: none there), status and error."""
    conn.execute(
        "UPDATE maintenance_windows SET status = %s, maintenanceid = %s, error = %s,"
        " applied_at = now(), updated_at = now(),"
        " expired_at = CASE WHEN %s = 'expired' THEN now() ELSE expired_at END WHERE id = %s",
        [status, maintenanceid, error, status, window_id],
    )


def insert(conn: psycopg.Connection, values: dict[str, Any], created_by: str) -> dict[str, Any]:
    """A new operator window (status pending until Zabbix has it)."""
    return conn.execute(
        "INSERT INTO maintenance_windows (name, description, starts_at, ends_at, periods,"
        " collect_data, scope, groupids, created_by) VALUES (%(name)s, %(description)s,"
        " %(starts_at)s, %(ends_at)s, %(periods)s, %(collect_data)s, %(scope)s, %(groupids)s,"
        " %(created_by)s) RETURNING *",
        {**_json(values), "created_by": created_by},
    ).fetchone()


def update(conn: psycopg.Connection, window_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Rewrite an operator window; its status goes back to pending until Zabbix has it."""
    return conn.execute(
        "UPDATE maintenance_windows SET name = %(name)s, description = %(description)s,"
        " starts_at = %(starts_at)s, ends_at = %(ends_at)s, periods = %(periods)s,"
        " collect_data = %(collect_data)s, scope = %(scope)s, groupids = %(groupids)s,"
        " status = CASE WHEN status = 'failed' THEN status ELSE 'pending' END,"
        " updated_at = now() WHERE id = %(id)s RETURNING *",
        {**_json(values), "id": window_id},
    ).fetchone()


def end_now(conn: psycopg.Connection, window_id: int) -> None:
    """The window ends now; a pending one is cancelled (its start moves to a minute ago).
    An expired one stays as it is."""
    conn.execute(
        "UPDATE maintenance_windows SET ends_at = now(),"
        " starts_at = LEAST(starts_at, now() - interval '1 minute'), updated_at = now()"
        " WHERE id = %s AND status <> 'expired'",
        [window_id],
    )


def delete(conn: psycopg.Connection, window_id: int) -> None:
    conn.execute("DELETE FROM maintenance_windows WHERE id = %s", [window_id])


def purge_expired(conn: psycopg.Connection, retention_days: int) -> int:
    """Delete windows expired more than ``retention_days`` ago; returns how many."""
    cur = conn.execute(
        "DELETE FROM maintenance_windows WHERE status = %s"
        " AND expired_at < now() - make_interval(days => %s)",
        [EXPIRED, retention_days],
    )
    return cur.rowcount


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: values[k] for k in WRITTEN},
        "periods": Jsonb(values["periods"]),
        "scope": Jsonb(values["scope"]),
    }
