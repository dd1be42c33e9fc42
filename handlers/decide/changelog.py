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
#: ``/dcim/devices/42/edit/``).
_ONE_OBJECT = re.compile(r"/\d+(/|$)")


def looks_bulk(path: str | None) -> bool:
    """Whether a request's path is not about one object: a list endpoint (an API bulk edit,
    create or delete) or a bulk view of the UI (``/dcim/devices/edit/``). Unknown (NetBox
    before 4.6 sends no path): False."""
    return bool(path) and _ONE_OBJECT.search(path) is None


def wants_read(event: dict[str, Any], setting: str) -> bool:
    """Whether the change log of ``event``'s request should be read, per the
    ``changelog_reads`` setting (``bulk``, ``always``, ``off``)."""
    if setting == OFF or not event.get("request_id"):
        return False
    return setting == ALWAYS or looks_bulk(event.get("request_path"))


def _snapshot(change: dict[str, Any]) -> dict[str, Any]:
    data = change.get("postchange_data") or change.get("prechange_data")
    return data if isinstance(data, dict) else {}


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
            data = _snapshot(change)
            owner_kind = data.get("assigned_object_type")
            if owner_kind in wanted and (iid := _id(data.get("assigned_object_id"))) is not None:
                wanted[owner_kind].add(iid)
    return {kind: ids - shown[kind] for kind, ids in wanted.items() if ids - shown[kind]}


def targets_of_changes(
    changes: list[dict[str, Any]], owners: dict[str, dict[int, int]] | None = None
) -> dict[str, str]:
    """target -> why, for every device and VM the change records name: directly, through
    an interface (its snapshot names its host), or through an IP address assigned to an
    interface (shown in ``changes``, or found in ``owners``: interface kind -> id -> host
    id). Records of other objects, or that name no host, are left out."""
    interface_host: dict[str, dict[int, int]] = {
        kind: dict((owners or {}).get(kind, {})) for kind in OWNER_OF_INTERFACE
    }
    for change in changes:
        kind = change.get("changed_object_type")
        if kind in OWNER_FIELD and (oid := _id(change.get("changed_object_id"))) is not None:
            host = _id(_snapshot(change).get(OWNER_FIELD[kind]))
            if host is not None:
                interface_host[kind][oid] = host
    found: dict[str, str] = {}
    for change in changes:
        kind = change.get("changed_object_type")
        action = (change.get("action") or {}).get("value", "change")
        oid = _id(change.get("changed_object_id"))
        if oid is None:
            continue
        if kind in (DEVICE, VM):
            found.setdefault(target_of(kind, oid), f"{kind} {oid} {action}d in the request")
        elif kind in OWNER_FIELD and oid in interface_host[kind]:
            host = target_of(OWNER_OF_INTERFACE[kind], interface_host[kind][oid])
            found.setdefault(host, f"its interface {oid} {action}d in the request")
        elif kind == IP_ADDRESS:
            data = _snapshot(change)
            owner_kind = data.get("assigned_object_type")
            iid = _id(data.get("assigned_object_id"))
            if owner_kind in interface_host and iid in interface_host[owner_kind]:
                host = target_of(OWNER_OF_INTERFACE[owner_kind], interface_host[owner_kind][iid])
                found.setdefault(host, f"its IP address {oid} {action}d in the request")
    return found
