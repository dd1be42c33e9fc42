"""Maintenance windows, decided without I/O: which windows a host belongs to, how a
window's member set changes when a reconcile run moves hosts, its status, and the Zabbix
``maintenance.create``/``update`` parameters.

A window covers a NetBox object when the object matches any part of its scope (its target,
site, region or a parent region, tenant, cluster, a tag, a status) or when the host NetBox
wants is monitored by a proxy or proxy group it names. Host groups are not resolved to
hosts: Zabbix puts the groups themselves into the maintenance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from handlers.decide.host_state import DesiredHost
from handlers.decide.targets import status_of
from schemas.maintenance import LAST_DATE

if TYPE_CHECKING:
    from handlers.gateways.zabbix_dialect import Dialect

#: Who made a window: an operator, or the service for a NetBox tag or status.
OPERATOR, NETBOX = "operator", "netbox"
#: What a window row can say.
PENDING, ACTIVE, EXPIRED, FAILED = "pending", "active", "expired", "failed"
#: Zabbix's last date (its frontend's ZBX_MAX_DATE): the end of an open-ended window.
ZABBIX_MAX_DATE = int(LAST_DATE.timestamp())
#: Zabbix maintenance types.
WITH_DATA, NO_DATA = 0, 1
#: Zabbix timeperiod_type of each period kind.
PERIOD_TYPES = {"once": 0, "daily": 2, "weekly": 3, "monthly": 4}
#: Every month (Zabbix's month bit mask, January is bit 0).
EVERY_MONTH = 0b111111111111
WEEKDAY_BITS = {d: 1 << n for n, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}


@dataclass(frozen=True, kw_only=True)
class Window:
    """A maintenance window as the planner reads it.

    Parameters:
      name: unique; also the Zabbix maintenance's name.
      owner: OPERATOR or NETBOX (a NetBox tag or status from the settings).
      scope: what it covers (``sites``, ``tags`` ... see :data:`schemas.maintenance.SCOPE_KEYS`,
        plus ``statuses`` for NETBOX windows).
      starts_at, ends_at: its span; ``ends_at`` None is open-ended.
      id: its row id; None for a NetBox window the settings name that has no row yet.
    """

    name: str
    owner: str
    scope: dict[str, list[Any]]
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    id: int | None = None


def netbox_window_name(kind: str, value: str) -> str:
    """The name of the service's window for a NetBox tag or status."""
    return f"NetBox {kind} {value}"


def netbox_windows(settings: dict[str, Any]) -> list[Window]:
    """The open-ended windows the settings ask for: one per maintenance tag and status."""
    return [
        Window(name=netbox_window_name("tag", t), owner=NETBOX, scope={"tags": [t]})
        for t in settings.get("maintenance_tags") or []
    ] + [
        Window(name=netbox_window_name("status", s), owner=NETBOX, scope={"statuses": [s]})
        for s in settings.get("maintenance_statuses") or []
    ]


def live_windows(rows: Iterable[dict[str, Any]], settings: dict[str, Any]) -> tuple[Window, ...]:
    """The windows hosts can join: operator windows not ended (rows read with the
    database's ``now``), and the NetBox windows the settings name now (with their rows' ids
    when they have rows). A NetBox window whose tag or status left the settings takes no
    new hosts; the clean-up removes it."""
    wanted = {w.name: w for w in netbox_windows(settings)}
    found: list[Window] = []
    for row in rows:
        if ended(row, wanted, row["now"]):
            continue  # the clean-up ends it; it takes no new hosts meanwhile
        if row["owner"] == NETBOX:
            if row["name"] in wanted:
                wanted[row["name"]] = Window(
                    name=row["name"], owner=NETBOX, scope=wanted[row["name"]].scope, id=row["id"]
                )
            continue
        found.append(
            Window(
                name=row["name"],
                owner=OPERATOR,
                scope=row["scope"],
                starts_at=row["starts_at"],
                ends_at=row["ends_at"],
                id=row["id"],
            )
        )
    return (*found, *wanted.values())


def ended(row: dict[str, Any], netbox_names: Iterable[str], now: datetime) -> bool:
    """Whether the clean-up ends a window: an operator's past its end, or a NetBox window
    whose tag or status the settings no longer name."""
    if row["owner"] == NETBOX:
        return row["name"] not in netbox_names
    return row["ends_at"] is not None and row["ends_at"] <= now


def reserved_name(name: str) -> bool:
    """Names of the service's NetBox windows, which an operator's window may not take."""
    return name.startswith(("NetBox tag ", "NetBox status "))


def window_mark(window_id: int) -> str:
    """What the description of a window's Zabbix maintenance ends with: how the service
    knows its own maintenance again (and never takes over one made by hand)."""
    return f"[netbox-zabbix-consumer window {window_id}]"


def uses(windows: Iterable[Window]) -> frozenset[str]:
    """What the NetBox gateway must read beyond the object for these windows (a site's
    region tree, for region scopes), in :func:`~handlers.decide.group_names.needs` terms."""
    return (
        frozenset({"region", "region_path"})
        if any(w.scope.get("regions") for w in windows)
        else frozenset()
    )


def _slug(ref: Any) -> str | None:
    return ref.get("slug") if isinstance(ref, dict) else None


def covers(window: Window, target: str, obj: dict[str, Any], desired: DesiredHost | None) -> bool:
    """Whether ``window`` covers the NetBox object ``obj`` (``target``), whose host is
    ``desired``."""
    scope = window.scope
    region = obj.get("region")
    tests = (
        target in scope.get("hosts", ()),
        _slug(obj.get("site")) in scope.get("sites", ()),
        isinstance(region, dict)
        and any(s in scope.get("regions", ()) for s in region.get("slug_path") or ()),
        _slug(obj.get("tenant")) in scope.get("tenants", ()),
        isinstance(obj.get("cluster"), dict)
        and obj["cluster"].get("name") in scope.get("clusters", ()),
        any(_slug(t) in scope.get("tags", ()) for t in obj.get("tags") or ()),
        status_of(obj) in scope.get("statuses", ()),
        desired is not None and desired.proxy in scope.get("proxies", ()),
        desired is not None and desired.proxy_group in scope.get("proxy_groups", ()),
    )
    return any(tests)


def memberships(
    windows: Iterable[Window], target: str, obj: dict[str, Any], desired: DesiredHost | None
) -> frozenset[str]:
    """The names of the windows that cover a host."""
    return frozenset(w.name for w in windows if covers(w, target, obj, desired))


def member_changes(
    current: dict[str, dict[str, str | None]],
    wanted: dict[str, frozenset[str]],
    hostids: dict[str, str | None],
) -> dict[str, dict[str, str | None]]:
    """The new member sets (hostid -> target) of the windows a run changes.

    Parameters:
      current: window name -> its members now (hostid -> target, None for a host no host
        config names); every window a decided target is in, and every window it may join.
      wanted: target -> the windows it belongs in now (the run decided it).
      hostids: target -> its host after the run's writes (None: it has none any more).
    """
    changed: dict[str, dict[str, str | None]] = {}
    for name in sorted(set(current) | {n for names in wanted.values() for n in names}):
        before = current.get(name, {})
        after = {h: t for h, t in before.items() if t not in wanted}
        for target, names in wanted.items():
            hostid = hostids.get(target)
            if name in names and hostid:
                after[hostid] = target
        if after != before:
            changed[name] = after
    return changed


def protecting(rows: Iterable[dict[str, Any]], now: datetime) -> dict[str, str]:
    """target -> the active operator window that holds back its host's deletion, in words,
    from member rows joined with their windows (``target``, ``name``, ``owner``,
    ``starts_at``, ``ends_at``)."""
    found: dict[str, str] = {}
    for row in rows:
        if row["owner"] != OPERATOR or row["target"] is None or row["target"] in found:
            continue
        if row["starts_at"] <= now and (row["ends_at"] is None or now < row["ends_at"]):
            until = row["ends_at"].isoformat() if row["ends_at"] else "it is ended"
            found[row["target"]] = f"maintenance window {row['name']!r} (until {until})"
    return found


def status_now(row: dict[str, Any], now: datetime) -> str:
    """What a window is now: ``expired`` or ``failed`` as recorded; otherwise ``pending``
    before its start and ``active`` from it (until the clean-up expires it)."""
    if row["status"] in (EXPIRED, FAILED):
        return row["status"]
    return PENDING if now < row["starts_at"] else ACTIVE


def _seconds(at: str) -> int:
    hours, minutes = (int(p) for p in at.split(":"))
    return hours * 3600 + minutes * 60


def timeperiods(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Zabbix time periods of a window: its periods, or one from its start to its end."""
    start = int(row["starts_at"].timestamp())
    end = int(row["ends_at"].timestamp()) if row["ends_at"] else ZABBIX_MAX_DATE
    if not row["periods"]:
        return [{"timeperiod_type": 0, "start_date": start, "period": max(end - start, 300)}]
    found = []
    for p in row["periods"]:
        common = {"start_time": _seconds(p["start_time"]), "period": p["duration"] * 60}
        if p["kind"] == "daily":
            found.append({"timeperiod_type": 2, "every": 1, **common})
        elif p["kind"] == "weekly":
            days = sum(WEEKDAY_BITS[d] for d in p["days"])
            found.append({"timeperiod_type": 3, "every": 1, "dayofweek": days, **common})
        else:  # monthly: one period per day of the month
            found += [
                {"timeperiod_type": 4, "month": EVERY_MONTH, "day": day, **common}
                for day in p["days"]
            ]
    return found


def maintenance_params(
    dialect: Dialect, row: dict[str, Any], hostids: Iterable[str], groupids: Iterable[str]
) -> dict[str, Any]:
    """``maintenance.create`` parameters of a window (add ``maintenanceid`` to update)."""
    start = int(row["starts_at"].timestamp())
    return {
        "name": row["name"],
        "description": "\n\n".join(filter(None, (row["description"], window_mark(row["id"])))),
        "active_since": start,
        "active_till": int(row["ends_at"].timestamp()) if row["ends_at"] else ZABBIX_MAX_DATE,
        "maintenance_type": WITH_DATA if row["collect_data"] else NO_DATA,
        "timeperiods": timeperiods(row),
        **dialect.maintenance_members(sorted(hostids), sorted(groupids)),
    }
