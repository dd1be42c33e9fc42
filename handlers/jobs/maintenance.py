"""Maintenance windows: written by operators, resolved to Zabbix hosts, kept true as hosts
come and go, and cleaned up when they end.

- An operator's window (``nzc maintenance create``, ``POST /api/v1/maintenance``) is checked
  whole (:func:`check_window`: times, periods, and every name it uses, in NetBox, the
  mirrors and the host configs) before anything is written; then the ``maintenance_window``
  job resolves it (:func:`apply_window`) and writes its one Zabbix maintenance.
- Reconcile runs move their hosts in and out of windows (:func:`follow_hosts`), in the
  same run that creates, moves or deletes them, so a device added to a site in maintenance
  joins its window, and one tagged ``maintenance`` joins the service's window for that tag.
- The clean-up (:func:`cleanup`, on ``maintenance_cleanup_interval_min``) deletes ended
  windows from Zabbix and marks them expired, resolves the live ones again (a safety net for
  lost webhooks, and the retry of failed ones) and purges expired rows after
  ``maintenance_retention_days``. Zabbix refusing or unreachable leaves a row ``failed``
  with the reason, and the next run tries again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import psycopg.errors
import pynetbox
from marshmallow import ValidationError

from handlers.decide.maintenance import (
    ACTIVE,
    EXPIRED,
    FAILED,
    NETBOX,
    OPERATOR,
    PENDING,
    Window,
    ended,
    live_windows,
    maintenance_params,
    member_changes,
    netbox_windows,
    protecting,
    reserved_name,
    status_now,
    window_mark,
)
from handlers.decide.targets import split_target, target_of
from handlers.gateways import dirty_targets, host_configs, mirrors
from handlers.gateways import maintenance as windows
from handlers.gateways import zabbix_maintenance as zabbix
from handlers.gateways.postgres import database_now
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixAPIException, ZabbixGateway, ZabbixUnavailable
from handlers.jobs.operator import Exists, Refused
from handlers.runner import Job
from handlers.runner import Refused as JobRefused
from schemas.maintenance import SCOPE_KEYS, WindowSchema, window_end
from schemas.netbox import DEVICE, VM
from schemas.settings import format_errors

#: Scope key -> the NetBox list filter that finds its devices and VMs.
NETBOX_FILTERS = {
    "sites": "site",
    "regions": "region",
    "tenants": "tenant",
    "clusters": "cluster_id",
    "tags": "tag",
    "statuses": "status",
}
#: What the ``maintenance_window`` job does with a window.
WINDOW_ACTIONS = ("apply", "end", "delete")
#: Scope keys named in NetBox, and those named in Zabbix (its mirrors).
NETBOX_NAMES = ("sites", "regions", "tenants", "clusters", "tags")
MIRROR_NAMES = ("host_groups", "proxies", "proxy_groups")


# -- written by an operator ----------------------------------------------------------------


def _mirror_ids(conn: psycopg.Connection, kind: str) -> dict[str, str]:
    return {row["name"]: row["id"] for row in mirrors.load(conn, kind).values()}


def check_window(
    conn: psycopg.Connection, netbox: Any, body: dict[str, Any], *, same: int | None = None
) -> dict[str, Any]:
    """The row values of a window body, once every part of it checked: its fields
    (:class:`~schemas.maintenance.WindowSchema`), its name free (``same``: the window being
    updated), and every name it uses known, to NetBox, the Zabbix mirrors or the host
    configs. Raises :class:`Refused` naming each problem; writes nothing."""
    try:
        data = WindowSchema().load(body)
    except ValidationError as exc:
        raise Refused("maintenance window", format_errors(exc.messages).splitlines()) from None
    if reserved_name(data["name"]):
        raise Refused(
            "maintenance window",
            [
                f"name: {data['name']!r} is kept for the service's NetBox windows (the "
                "settings maintenance_tags and maintenance_statuses): choose another name"
            ],
        )
    taken = windows.find(conn, data["name"])
    if taken is not None and taken["name"] == data["name"] and taken["id"] != same:
        raise Exists(
            "maintenance window",
            [f"a maintenance window named {data['name']!r} exists already (id {taken['id']})"],
        )
    problems = []
    for key in NETBOX_NAMES:
        if data[key]:
            problems += [
                f"{key}: NetBox has no {key[:-1]} {n!r} (or the token may not see it)"
                for n in _named(netbox, key, data[key])[1]
            ]
    groupids = []
    for key in MIRROR_NAMES:
        ids = _mirror_ids(conn, key) if data[key] else {}
        problems += [
            f"{key}: Zabbix has no {key[:-1].replace('_', ' ')} {n!r} "
            "(run `nzc zabbix import` if it is new)"
            for n in data[key]
            if n not in ids
        ]
        if key == "host_groups":
            groupids = sorted(ids[n] for n in data[key] if n in ids)
    configs = host_configs.load_host_configs(conn, data["hosts"])
    problems += [
        f"hosts: {t} has no Zabbix host (no host config): nothing to put in maintenance"
        for t in data["hosts"]
        if not (configs.get(t) or {}).get("hostid")
    ]
    if problems:
        raise Refused("maintenance window", problems)
    # Zabbix keeps whole minutes: rounded down here too, so both say the same.
    end = window_end(data)
    return {
        "name": data["name"],
        "description": data["description"],
        "starts_at": data["start"].replace(second=0, microsecond=0),
        "ends_at": end.replace(second=0, microsecond=0) if end else None,
        "periods": data["periods"],
        "collect_data": data["collect_data"],
        "scope": {k: data[k] for k in SCOPE_KEYS if data[k]},
        "groupids": groupids,
    }


def as_body(row: dict[str, Any]) -> dict[str, Any]:
    """A window row as the body that would write it (to merge an update into)."""
    return {
        "name": row["name"],
        "description": row["description"],
        "start": row["starts_at"].isoformat(),
        "end": row["ends_at"].isoformat() if row["ends_at"] else None,
        "periods": [dict(p) for p in row["periods"]],
        "collect_data": row["collect_data"],
        **{k: list(v) for k, v in row["scope"].items() if k in SCOPE_KEYS},
    }


def find_window(conn: psycopg.Connection, key: str | int, *, lock: bool = False) -> dict[str, Any]:
    """The window named (or numbered) ``key``; LookupError names it."""
    row = windows.find(conn, key, lock=lock)
    if row is None:
        raise LookupError(f"no maintenance window named {key!r}; `nzc maintenance list` shows them")
    return row


def operator_window(conn: psycopg.Connection, key: str | int) -> dict[str, Any]:
    """An operator's window, locked; the service's NetBox windows follow the settings."""
    row = find_window(conn, key, lock=True)
    if row["owner"] == NETBOX:
        raise Refused(
            "maintenance window",
            [
                f"{row['name']!r} follows NetBox (the settings maintenance_tags and "
                "maintenance_statuses): change those instead"
            ],
        )
    return row


def create_window(
    conn: psycopg.Connection, netbox: Any, body: dict[str, Any], created_by: str
) -> dict[str, Any]:
    """Check and record a new window; the ``maintenance_window`` job then writes it to
    Zabbix."""
    values = check_window(conn, netbox, body)
    try:
        with conn.transaction():
            return windows.insert(conn, values, created_by)
    except psycopg.errors.UniqueViolation:  # the same name, written at the same moment
        raise _taken(values["name"]) from None


def update_window(
    conn: psycopg.Connection, netbox: Any, key: str | int, changes: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``changes`` (body fields; a scope list given replaces the old one) into a
    window, check the result whole, and record it."""
    row = operator_window(conn, key)
    if row["status"] == EXPIRED:
        raise Refused("maintenance window", [f"{row['name']!r} has expired; create a new one"])
    merged = {**as_body(row), **changes}
    if "duration" in changes:
        merged.pop("end", None)
    values = check_window(conn, netbox, merged, same=row["id"])
    try:
        with conn.transaction():
            return windows.update(conn, row["id"], values)
    except psycopg.errors.UniqueViolation:
        raise _taken(values["name"]) from None


def _taken(name: str) -> Exists:
    return Exists("maintenance window", [f"a maintenance window named {name!r} exists already"])


# -- resolved and written to Zabbix ------------------------------------------------------


class Unresolved(ValueError):
    """A window's scope names something NetBox no longer shows: its hosts are left as they
    are rather than dropped (the token may have lost sight of it)."""


def resolve(
    conn: psycopg.Connection,
    zbx: ZabbixGateway,
    netbox: Any,
    row: dict[str, Any],
    current: dict[str, str | None],
) -> dict[str, str | None]:
    """The hosts a window covers now (hostid -> target): its host configs, those of the
    NetBox objects its scope finds (a list request per kind of object and of scope value
    set), and the hosts its proxies and proxy groups monitor. Of an operator's window, a
    host of ``current`` whose object NetBox no longer has stays: its deletion is held back
    until the window ends. Raises :class:`Unresolved` for a name NetBox does not know."""
    scope = row["scope"]
    targets = set(scope.get("hosts") or ())
    ids: dict[str, set[int]] = {DEVICE: set(), VM: set()}
    for key, name in NETBOX_FILTERS.items():
        if not scope.get(key):
            continue
        values = list(scope[key])
        if key in NETBOX_NAMES:
            # A name NetBox does not know would fail the whole request (400).
            known, missing = _named(netbox, key, values)
            if missing:
                raise Unresolved(
                    f"NetBox has no {key} {', '.join(map(repr, missing))} (or the token may "
                    "not see them): the window keeps its hosts"
                )
            if key == "clusters":  # filtered by id: devices have no cluster-name filter
                values = sorted(known.values())
        # NetBox's tag filter wants every tag given: one request per tag finds any.
        for chunk in [[v] for v in values] if key == "tags" else [values]:
            for kind in (DEVICE, VM):
                ids[kind] |= _ids_where(netbox, kind, key, **{name: chunk})
    targets |= {target_of(kind, i) for kind, found in ids.items() for i in found}
    found: dict[str, str | None] = {
        c["hostid"]: t
        for t, c in host_configs.load_host_configs(conn, sorted(targets)).items()
        if c["hostid"]
    }
    proxies = [i for n, i in _mirror_ids(conn, "proxies").items() if n in scope.get("proxies", ())]
    groups = [
        i
        for n, i in _mirror_ids(conn, "proxy_groups").items()
        if n in scope.get("proxy_groups", ())
    ]
    if proxies or groups:
        monitored = zabbix.monitored_by(zbx, proxies, groups)
        known_targets = host_configs.targets_of_hostids(conn, monitored)
        found |= {h: known_targets.get(h) for h in monitored if h not in found}
    if row["owner"] == OPERATOR:
        found |= _held(netbox, current, found)
    return found


def _named(netbox: Any, key: str, names: list[str]) -> tuple[dict[str, int], list[str]]:
    """(name -> id of the sites, regions, tenants, clusters or tags NetBox has among
    ``names``, the names it has not)."""
    known = netbox.find_named(key, names)
    return known, [n for n in names if n not in known]


def _ids_where(netbox: Any, kind: str, key: str, **filters: Any) -> set[int]:
    """The objects a filter finds; a status one kind of object does not have (``inventory``
    is a device status only) finds none of that kind, where NetBox answers 400."""
    try:
        return netbox.ids_where(kind, **filters)
    except pynetbox.RequestError as exc:
        if key != "statuses" or exc.req.status_code != 400:
            raise
        return set()


def _held(
    netbox: Any, current: dict[str, str | None], found: dict[str, str | None]
) -> dict[str, str | None]:
    """The members of ``current`` not found again whose object NetBox no longer has: kept
    (a reconcile run holds their deletion back while the window lasts)."""
    left: dict[str, list[int]] = {}
    for hostid, target in current.items():
        if target and hostid not in found:
            kind, object_id = split_target(target)
            left.setdefault(kind, []).append(object_id)
    gone = {
        target_of(kind, i)
        for kind, object_ids in left.items()
        for i in set(object_ids) - netbox.ids_where(kind, id=object_ids)
    }
    return {h: t for h, t in current.items() if t in gone}


def write_window(
    job: Job,
    zbx: ZabbixGateway,
    row: dict[str, Any],
    hosts: dict[str, str | None],
    *,
    undo: Callable[[str, Callable[[], Any]], None] | None = None,
) -> bool:
    """Make the window's Zabbix maintenance hold ``hosts`` (those Zabbix still has) and its
    host groups: created, updated, or deleted when it holds nothing (the row stays, and
    the maintenance comes back when a host joins); then record the members and the status.
    A refusal, or Zabbix unreachable, makes the row ``failed`` with the reason, for the
    clean-up to try again; returns whether Zabbix took it. With ``undo`` (a reconcile run),
    Zabbix unreachable fails the run instead, and the write's undo goes to the run's
    journal."""
    before = windows.window_members(job.conn, row["id"])
    try:
        there = zabbix.existing_hosts(zbx, sorted(hosts))
        hosts = {h: t for h, t in hosts.items() if h in there}
        windows.replace_members(job.conn, row["id"], hosts)
        maintenanceid = _write(zbx, row, hosts)
    except (ZabbixAPIException, ZabbixUnavailable) as exc:
        if undo is not None and isinstance(exc, ZabbixUnavailable):
            raise
        windows.replace_members(job.conn, row["id"], hosts)
        _failed(job, row, f"Zabbix did not take it: {exc}; the maintenance clean-up tries again")
        return False
    if undo is not None:
        undo(
            f"maintenance {row['name']}",
            lambda: _write(zbx, {**row, "maintenanceid": maintenanceid}, before),
        )
    status = status_now({**row, "status": PENDING}, database_now(job.conn))
    windows.record(job.conn, row["id"], status=status, maintenanceid=maintenanceid)
    job.log(
        "info",
        f"maintenance window {row['name']!r}: {len(hosts)} host(s)"
        + (f" and {len(row['groupids'])} host group(s)" if row["groupids"] else "")
        + (" in Zabbix" if maintenanceid else ", so none in Zabbix until a host joins"),
        data={"window": row["id"], "maintenanceid": maintenanceid, "hostids": sorted(hosts)},
    )
    return True


def _write(zbx: ZabbixGateway, row: dict[str, Any], hosts: dict[str, Any]) -> str | None:
    if not hosts and not row["groupids"]:
        zabbix.delete(zbx, row["maintenanceid"])
        return None
    params = maintenance_params(zbx.dialect, row, hosts, row["groupids"])
    return zabbix.write(zbx, row["maintenanceid"], params, window_mark(row["id"]))


def _failed(job: Job, row: dict[str, Any], why: str) -> None:
    """The window's Zabbix write failed: its row says so with why (it keeps the maintenance
    id it had), and the job is partial."""
    windows.record(
        job.conn, row["id"], status=FAILED, maintenanceid=row["maintenanceid"], error=why
    )
    job.partial = True
    job.log("error", f"maintenance window {row['name']!r}: {why}", data={"window": row["id"]})


def _release(job: Job, row: dict[str, Any]) -> list[str]:
    """The window lets its hosts go; returns their targets, for the caller to mark dirty
    (a delete held back during the window happens in the next run) as its last write, so
    that events marking them meanwhile never wait on this job."""
    held = windows.window_members(job.conn, row["id"])
    windows.replace_members(job.conn, row["id"], {})
    return sorted({t for t in held.values() if t})


def _mark(job: Job, targets: list[str], why: str) -> None:
    dirty_targets.mark_many(job.conn, dict.fromkeys(targets, why))


def end_window(
    job: Job, zbx: ZabbixGateway | None, row: dict[str, Any], unreachable: Exception | None = None
) -> list[str] | None:
    """Delete an ended window's maintenance from Zabbix and mark the window expired; returns
    the targets of its hosts, to mark dirty. Refused or unreachable: the row says
    ``failed``, the next clean-up retries, and None is returned."""
    try:
        if zbx is None:
            raise unreachable or ZabbixUnavailable("Zabbix API did not answer")
        zabbix.delete(zbx, row["maintenanceid"])
    except (ZabbixAPIException, ZabbixUnavailable) as exc:
        _failed(
            job,
            row,
            f"ended, but Zabbix did not delete its maintenance: {exc}; the next clean-up "
            "tries again",
        )
        return None
    released = _release(job, row)
    windows.record(job.conn, row["id"], status=EXPIRED, maintenanceid=None)
    job.log(
        "info",
        f"maintenance window {row['name']!r} ended and left Zabbix",
        data={"window": row["id"]},
    )
    return released


def window_job(
    job: Job, zbx: ZabbixGateway, netbox: Any, window_id: int, action: str
) -> dict[str, Any]:
    """The ``maintenance_window`` job: write a window to Zabbix (``apply``: resolved
    afresh; one past its end is ended instead), end it (``end``), or delete it from Zabbix
    and Postgres (``delete``). A window gone meanwhile is skipped."""
    if action not in WINDOW_ACTIONS:
        raise JobRefused(f"maintenance_window: no action {action!r}; one of {WINDOW_ACTIONS}")
    row = windows.find(job.conn, window_id, lock=True)
    if row is None or (row["status"] == EXPIRED and action != "delete"):
        return {"window": window_id, "skipped": "gone or expired"}
    now = database_now(job.conn)
    if action == "delete":
        zabbix.delete(zbx, row["maintenanceid"])
        released = _release(job, row)
        windows.delete(job.conn, row["id"])
        job.log("info", f"maintenance window {row['name']!r} deleted", data={"window": row["id"]})
        _mark(job, released, f"maintenance window {row['name']!r} deleted")
        return {"window": window_id, "deleted": True}
    if action == "end" or ended(
        row, [w.name for w in netbox_windows(read_settings(job.conn))], now
    ):
        released = end_window(job, zbx, row)
        _mark(job, released or [], f"maintenance window {row['name']!r} ended")
        return {"window": window_id, "expired": released is not None}
    current = windows.window_members(job.conn, row["id"])
    try:
        hosts = resolve(job.conn, zbx, netbox, row, current)
    except Unresolved as exc:
        _failed(job, row, str(exc))
        return {"window": window_id, "written": False}
    return {"window": window_id, "hosts": len(hosts), "written": write_window(job, zbx, row, hosts)}


def cleanup(
    job: Job, zbx: ZabbixGateway | None, netbox: Any, unreachable: Exception | None = None
) -> dict[str, Any]:
    """SystemJobMaintenanceCleanup: end the windows past their end (and the NetBox windows
    the settings no longer name), resolve the live ones again (rewriting only those whose
    hosts changed, that changed since written, or that failed), and purge expired windows
    past the retention. Every window is locked at once, in id order, as reconcile runs lock
    them; hosts released are marked dirty last. ``zbx`` None: Zabbix could not be reached
    (``unreachable`` says how)."""
    settings = read_settings(job.conn)
    services = netbox_windows(settings)
    wanted = [w.name for w in services]
    windows.add_netbox_windows(job.conn, services)
    now = database_now(job.conn)
    rows = windows.lock_live(job.conn)
    released: list[str] = []
    expired = rewritten = not_expired = 0
    for row in rows:
        if ended(row, wanted, now):
            done = end_window(job, zbx, row, unreachable)
            expired += done is not None
            not_expired += done is None
            released += done or []
            continue
        if zbx is None:
            continue  # Zabbix unreachable: live windows stay as they are until the next run
        current = windows.window_members(job.conn, row["id"])
        try:
            hosts = resolve(job.conn, zbx, netbox, row, current)
        except Exception as exc:  # noqa: BLE001 -- NetBox down or a name gone: kept as it is
            job.partial = True
            job.log("warning", f"maintenance window {row['name']!r}: not resolved again: {exc}")
            continue
        in_zabbix = bool(row["maintenanceid"]) == bool(hosts or row["groupids"])
        changed = row["applied_at"] is None or row["updated_at"] > row["applied_at"]
        if hosts != current or row["status"] == FAILED or not in_zabbix or changed:
            rewritten += write_window(job, zbx, row, hosts)
        elif row["status"] == PENDING and status_now(row, now) == ACTIVE:
            windows.record(job.conn, row["id"], status=ACTIVE, maintenanceid=row["maintenanceid"])
    purged = windows.purge_expired(job.conn, settings["maintenance_retention_days"])
    _mark(job, released, "its maintenance window ended")
    return {
        "expired": expired,
        "not_expired": not_expired,
        "rewritten": rewritten,
        "purged": purged,
    }


# -- followed by reconcile runs ------------------------------------------------------------


def run_windows(
    conn: psycopg.Connection, targets: list[str], settings: dict[str, Any]
) -> tuple[tuple[Window, ...], dict[str, str]]:
    """What a reconcile run reads of maintenance: the windows hosts can join, and the
    targets whose deletion an active window holds back. One query when there is no window."""
    rows = windows.live_rows(conn)
    if not rows:
        return live_windows((), settings), {}
    held = protecting(windows.memberships_of(conn, targets), rows[0]["now"])
    return live_windows(rows, settings), held


def follow_hosts(
    job: Job,
    zbx: ZabbixGateway,
    wanted: dict[str, frozenset[str]],
    hostids: dict[str, str | None],
    known: tuple[Window, ...],
    undo: Callable[[str, Callable[[], Any]], None],
) -> list[str]:
    """Move the hosts a reconcile run decided on into and out of windows: ``wanted`` maps
    each target to the windows it belongs in, ``hostids`` to its host after the run's
    writes (None: deleted). The changes are worked out first without locks; only the
    windows that change are then locked (one run at a time changes a window, and the
    change is worked out again under the lock) and written to Zabbix, once each. Returns
    their names."""
    if not wanted:
        return []
    names = set().union(*wanted.values())
    current = _members_by_name(job.conn, names, sorted(wanted), lock=False)
    changes = member_changes(
        {n: m for n, (_, m) in current.items()},
        {
            t: w & (current.keys() | {k.name for k in known if k.id is None})
            for t, w in wanted.items()
        },
        hostids,
    )
    if not changes:
        return []
    windows.add_netbox_windows(job.conn, [w for w in known if w.id is None and w.name in changes])
    locked = _members_by_name(job.conn, set(changes), sorted(wanted), lock=True, only=True)
    changed = member_changes(
        {n: m for n, (_, m) in locked.items()},
        {t: w & locked.keys() for t, w in wanted.items()},
        hostids,
    )
    for name, hosts in changed.items():
        write_window(job, zbx, locked[name][0], hosts, undo=undo)
    return sorted(changed)


def _members_by_name(
    conn: psycopg.Connection,
    names: set[str],
    targets: list[str],
    *,
    lock: bool,
    only: bool = False,
) -> dict[str, tuple[dict[str, Any], dict[str, str | None]]]:
    """name -> (row, members) of the live windows named or holding one of ``targets``
    (with ``only``: just those named), locked in id order with ``lock``."""
    rows = windows.lock(conn, names, [] if only else targets, lock=lock)
    held = windows.members(conn, [r["id"] for r in rows])
    return {r["name"]: (r, held[r["id"]]) for r in rows}
