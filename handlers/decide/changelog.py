"""What NetBox's change log tells about a request, pure functions: whether a webhook's
request is worth reading (a bulk edit), and which host targets its change records name.

A bulk edit in NetBox commits every change before the first of its webhooks leaves, and
its webhooks then arrive one at a time; the change log has them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from handlers.decide.targets import target_of
from schemas.netbox import DEVICE, INTERFACE, IP_ADDRESS, VM, VM_INTERFACE

#: Values of the ``changelog_reads`` setting.
BULK, ALWAYS, OFF = "bulk", "always", "off"
#: The interface kinds an IP address may be assigned to, and the host kind owning each.
OWNER_OF_INTERFACE = {INTERFACE: DEVICE, VM_INTERFACE: VM}
#: The field of an interface's change-log snapshot naming its host.
OWNER_FIELD = {INTERFACE: "device", VM_INTERFACE: "virtual_machine"}

#: A path naming one object: a numeric segment (``/api/dcim/devices/42/``,
#: ``/dcim/devices/42/edit/``), or the UI's form for a new one (``/dcim/devices/add/``).
_ONE_OBJECT = re.compile(r"/\d+(/|$)|/add/?$")


def looks_bulk(path: str | None) -> bool:
    """Whether a request's path is not about one object: a list endpoint (an API bulk edit,
    create or delete; a single API create posts there too, and costs one read) or a bulk
    view of the UI (``/dcim/devices/edit/``, ``/import/``). Unknown (NetBox before 4.6
    sends no path): False."""
    return bool(path) and _ONE_OBJECT.search(path) is None


def wants_read(event: dict[str, Any], setting: str) -> bool:
    """Whether the change log of ``event``'s request should be read, per the
    ``changelog_reads`` setting (``bulk``, ``always``, ``off``)."""
    if setting == OFF or not event.get("request_id"):
        return False
    return setting == ALWAYS or looks_bulk(event.get("request_path"))


def _snapshots(change: dict[str, Any]) -> list[dict[str, Any]]:
    """The object after and before the change: an interface or IP address that moved names
    both its hosts."""
    found = [change.get("postchange_data"), change.get("prechange_data")]
    return [data for data in found if isinstance(data, dict)]


def _id(value: Any) -> int | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unresolved_interfaces(changes: Iterable[dict[str, Any]]) -> dict[str, set[int]]:
    """Interfaces (kind -> ids) that IP addresses of ``changes`` are assigned to and that
    ``changes`` do not show: their hosts must be looked up in NetBox."""
    shown: dict[str, set[int]] = {kind: set() for kind in OWNER_OF_INTERFACE}
    wanted: dict[str, set[int]] = {kind: set() for kind in OWNER_OF_INTERFACE}
    for change in changes:
        kind = change.get("changed_object_type")
        if kind in shown and (oid := _id(change.get("changed_object_id"))) is not None:
            shown[kind].add(oid)
        elif kind == IP_ADDRESS:
            for data in _snapshots(change):
                owner_kind = data.get("assigned_object_type")
                iid = _id(data.get("assigned_object_id"))
                if owner_kind in wanted and iid is not None:
                    wanted[owner_kind].add(iid)
    return {kind: ids - shown[kind] for kind, ids in wanted.items() if ids - shown[kind]}


def targets_of_changes(
    changes: list[dict[str, Any]], owners: dict[str, dict[int, int]] | None = None
) -> dict[str, str]:
    """target -> why, for every device and VM the change records name: directly, through
    an interface (its snapshots name its host), or through an IP address assigned to an
    interface (shown in ``changes``, or found in ``owners``: interface kind -> id -> host
    id); an object that moved names its host before and after. Records of other objects,
    or that name no host, are left out."""
    interface_host: dict[str, dict[int, set[int]]] = {
        kind: {i: {host} for i, host in (owners or {}).get(kind, {}).items()}
        for kind in OWNER_OF_INTERFACE
    }
    for change in changes:
        kind = change.get("changed_object_type")
        if kind in OWNER_FIELD and (oid := _id(change.get("changed_object_id"))) is not None:
            for data in _snapshots(change):
                if (host := _id(data.get(OWNER_FIELD[kind]))) is not None:
                    interface_host[kind].setdefault(oid, set()).add(host)
    found: dict[str, str] = {}
    for change in changes:
        kind = change.get("changed_object_type")
        action = (change.get("action") or {}).get("value", "change")
        oid = _id(change.get("changed_object_id"))
        if oid is None:
            continue
        if kind in (DEVICE, VM):
            found.setdefault(target_of(kind, oid), f"{kind} {oid} {action}d in the request")
        elif kind in OWNER_FIELD:
            for host in sorted(interface_host[kind].get(oid, ())):
                target = target_of(OWNER_OF_INTERFACE[kind], host)
                found.setdefault(target, f"its interface {oid} {action}d in the request")
        elif kind == IP_ADDRESS:
            for data in _snapshots(change):
                owner_kind = data.get("assigned_object_type")
                iid = _id(data.get("assigned_object_id"))
                if owner_kind not in interface_host or iid is None:
                    continue
                for host in sorted(interface_host[owner_kind].get(iid, ())):
                    target = target_of(OWNER_OF_INTERFACE[owner_kind], host)
                    found.setdefault(target, f"its IP address {oid} {action}d in the request")
    return found
