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
from marshmallow import ValidationError

from handlers.decide.maintenance import (
    ACTIVE,
    EXPIRED,
    FAILED,
    NETBOX,
    PENDING,
    Window,
    live_windows,
    maintenance_params,
    member_changes,
    netbox_windows,
    status_now,
)
from handlers.decide.targets import target_of
from handlers.gateways import dirty_targets, host_configs, mirrors
from handlers.gateways import maintenance as windows
from handlers.gateways import zabbix_maintenance as zabbix
from handlers.gateways.postgres import database_now
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixAPIException, ZabbixGateway, ZabbixUnavailable
from handlers.jobs.operator import Exists, Refused
from handlers.runner import Job
from schemas.maintenance import SCOPE_KEYS, WindowSchema, window_end
from schemas.netbox import DEVICE, VM
from schemas.settings import format_errors

#: Scope key -> the NetBox list filter that finds its devices and VMs.
NETBOX_FILTERS = {
    "sites": "site",
    "regions": "region",
    "tenants": "tenant",
    "tags": "tag",
    "statuses": "status",
}
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
    taken = windows.find(conn, data["name"])
    if taken is not None and taken["id"] != same:
        raise Exists(
            "maintenance window",
            [f"a maintenance window named {data['name']!r} exists already (id {taken['id']})"],
        )
    problems = []
    for key in NETBOX_NAMES:
        if data[key]:
            known = netbox.find_named(key, data[key])
            problems += [
                f"{key}: NetBox has no {key[:-1]} {n!r} (or the token may not see it)"
                for n in data[key]
                if n not in known
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
        "periods": [{**p, "duration": p["duration"]} for p in row["periods"]],
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
    return windows.insert(conn, check_window(conn, netbox, body), created_by)


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
    return windows.update(conn, row["id"], check_window(conn, netbox, merged, same=row["id"]))


# -- resolved and written to Zabbix ------------------------------------------------------


def resolve(
    conn: psycopg.Connection, zbx: ZabbixGateway, netbox: Any, row: dict[str, Any]
) -> dict[str, str | None]:
    """The hosts a window covers now (hostid -> target): its host configs, those of the
    NetBox objects its scope finds (a list request per kind of object and of scope), and
    the hosts its proxies and proxy groups monitor."""
    scope = row["scope"]
    targets = set(scope.get("hosts") or ())
    for key, name in NETBOX_FILTERS.items():
        if not scope.get(key):
            continue
        # A name NetBox no longer has would fail the whole request (400): asked first.
        values = (
            sorted(netbox.find_named(key, scope[key])) if key in NETBOX_NAMES else list(scope[key])
        )
        # NetBox's tag filter wants every tag given: one request per tag finds any.
        for chunk in [[v] for v in values] if key == "tags" else [values] if values else []:
            for kind in (DEVICE, VM):
                targets |= {target_of(kind, i) for i in netbox.ids_where(kind, **{name: chunk})}
    if scope.get("clusters"):
        cluster_ids = sorted(netbox.find_named("clusters", scope["clusters"]).values())
        for kind in (DEVICE, VM) if cluster_ids else ():
            targets |= {target_of(kind, i) for i in netbox.ids_where(kind, cluster_id=cluster_ids)}
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
        known = host_configs.targets_of_hostids(conn, monitored)
        found |= {h: known.get(h) for h in monitored if h not in found}
    return found


def write_window(
    job: Job,
    zbx: ZabbixGateway | None,
    row: dict[str, Any],
    hosts: dict[str, str | None],
    *,
    undo: Callable[[str, Callable[[], Any]], None] | None = None,
    unreachable: Exception | None = None,
) -> bool:
    """Make the window's Zabbix maintenance hold ``hosts`` (and its host groups): created,
    updated, or deleted when it holds nothing (the row stays, and the maintenance comes back
    when a host joins); then record the members and the status. A refusal (or Zabbix
    unreachable, given as ``unreachable`` when the client could not even log in) makes the
    row ``failed`` with the reason, for the clean-up to try again; returns whether Zabbix
    took it. With ``undo`` (a reconcile run), Zabbix unreachable fails the run instead, and
    the write's undo goes to the run's journal."""
    before = windows.members(job.conn, [row["id"]])[row["id"]]
    windows.replace_members(job.conn, row["id"], hosts)
    try:
        if zbx is None:
            raise unreachable or ZabbixUnavailable("Zabbix API did not answer")
        maintenanceid = _write(zbx, row, hosts)
    except (ZabbixAPIException, ZabbixUnavailable) as exc:
        if undo is not None and isinstance(exc, ZabbixUnavailable):
            raise
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
    return zabbix.write(zbx, row["maintenanceid"], params)


def apply_window(job: Job, zbx: ZabbixGateway, netbox: Any, window_id: int) -> dict[str, Any]:
    """Resolve a window and write it to Zabbix (the ``maintenance_window`` job); one past
    its end is ended instead."""
    row = windows.find(job.conn, window_id, lock=True)
    if row is None or row["status"] == EXPIRED:
        return {"window": window_id, "skipped": "gone or expired"}
    if row["ends_at"] is not None and row["ends_at"] <= database_now(job.conn):
        return {"window": window_id, "expired": end_window(job, zbx, row)}
    hosts = resolve(job.conn, zbx, netbox, row)
    written = write_window(job, zbx, row, hosts)
    return {"window": window_id, "hosts": len(hosts), "written": written}


def end_window(
    job: Job, zbx: ZabbixGateway | None, row: dict[str, Any], unreachable: Exception | None = None
) -> bool:
    """Delete an ended window's maintenance from Zabbix and mark the window expired; the
    targets of its hosts are marked dirty (a delete held back during the window happens
    now). Refused or unreachable: the row says ``failed``, and the next clean-up retries."""
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
        return False
    _release(job, row, "ended")
    windows.record(job.conn, row["id"], status=EXPIRED, maintenanceid=None)
    job.log(
        "info",
        f"maintenance window {row['name']!r} ended and left Zabbix",
        data={"window": row["id"]},
    )
    return True


def _failed(job: Job, row: dict[str, Any], why: str) -> None:
    """The window's Zabbix write failed: its row says so with why (it keeps the maintenance
    id it had), and the job is partial."""
    windows.record(
        job.conn, row["id"], status=FAILED, maintenanceid=row["maintenanceid"], error=why
    )
    job.partial = True
    job.log("error", f"maintenance window {row['name']!r}: {why}", data={"window": row["id"]})


def _release(job: Job, row: dict[str, Any], how: str) -> None:
    """The window lets its hosts go: their targets are marked dirty (a delete held back
    during the window happens in the next run)."""
    held = windows.members(job.conn, [row["id"]])[row["id"]]
    dirty_targets.mark_many(
        job.conn, {t: f"maintenance window {row['name']!r} {how}" for t in held.values() if t}
    )
    windows.replace_members(job.conn, row["id"], {})


def remove_window(job: Job, zbx: ZabbixGateway, window_id: int) -> dict[str, Any]:
    """Delete a window: its Zabbix maintenance first, then the row (the ``delete`` of
    ``maintenance_window``). Zabbix refusing fails the job, and the row stays."""
    row = windows.find(job.conn, window_id, lock=True)
    if row is None:
        return {"window": window_id, "skipped": "gone"}
    zabbix.delete(zbx, row["maintenanceid"])
    _release(job, row, "deleted")
    windows.delete(job.conn, row["id"])
    job.log("info", f"maintenance window {row['name']!r} deleted", data={"window": row["id"]})
    return {"window": window_id, "deleted": True}


def cleanup(
    job: Job, zbx: ZabbixGateway | None, netbox: Any, unreachable: Exception | None = None
) -> dict[str, Any]:
    """SystemJobMaintenanceCleanup: end the windows past their end (and the NetBox windows
    the settings no longer name), resolve the live ones again (rewriting only those whose
    hosts changed, or that failed), and purge expired windows past the retention.
    ``zbx`` None: Zabbix could not be reached (``unreachable`` says how)."""
    settings = read_settings(job.conn)
    wanted = netbox_windows(settings)
    ended = windows.ended(job.conn, [w.name for w in wanted])
    expired = sum(end_window(job, zbx, row, unreachable) for row in ended)
    windows.add_netbox_windows(job.conn, wanted)
    rewritten = 0
    # Zabbix unreachable: the live windows stay as they are until the next run.
    for row in windows.live_rows(job.conn) if zbx is not None else ():
        row = windows.find(job.conn, row["id"], lock=True)
        if row is None or row["status"] == EXPIRED or row["id"] in {r["id"] for r in ended}:
            continue
        try:
            hosts = resolve(job.conn, zbx, netbox, row)
        except Exception as exc:  # noqa: BLE001 -- NetBox down: the window stays as it is
            job.partial = True
            job.log("warning", f"maintenance window {row['name']!r}: not resolved again: {exc}")
            continue
        current = windows.members(job.conn, [row["id"]])[row["id"]]
        in_zabbix = bool(row["maintenanceid"]) == bool(hosts or row["groupids"])
        if hosts != current or row["status"] == FAILED or not in_zabbix:
            rewritten += write_window(job, zbx, row, hosts)
        elif row["status"] == PENDING and status_now(row, database_now(job.conn)) == ACTIVE:
            windows.record(job.conn, row["id"], status=ACTIVE, maintenanceid=row["maintenanceid"])
    purged = windows.purge_expired(job.conn, settings["maintenance_retention_days"])
    return {
        "expired": expired,
        "not_expired": len(ended) - expired,
        "rewritten": rewritten,
        "purged": purged,
    }


# -- followed by reconcile runs ------------------------------------------------------------


def run_windows(
    conn: psycopg.Connection, targets: list[str]
) -> tuple[tuple[Window, ...], list[dict[str, Any]]]:
    """What a reconcile run reads of maintenance: the windows hosts can join, and the
    windows its targets' hosts are in."""
    return live_windows(windows.live_rows(conn), read_settings(conn)), windows.memberships_of(
        conn, targets
    )


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
    writes (None: deleted). The windows concerned are locked (one run at a time changes a
    window), and each changed one is written to Zabbix once. Returns their names."""
    if not wanted:
        return []
    names = set().union(*wanted.values())
    windows.add_netbox_windows(job.conn, [w for w in known if w.id is None and w.name in names])
    rows = {r["name"]: r for r in windows.lock(job.conn, names, sorted(wanted))}
    if not rows:
        return []
    held = windows.members(job.conn, [r["id"] for r in rows.values()])
    current = {name: held[r["id"]] for name, r in rows.items()}
    changed = member_changes(current, {t: w & rows.keys() for t, w in wanted.items()}, hostids)
    for name, hosts in changed.items():
        write_window(job, zbx, rows[name], hosts, undo=undo)
    return sorted(changed)
