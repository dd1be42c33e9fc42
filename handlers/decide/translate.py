"""Event translation, pure functions: a normalised NetBox event becomes a decision about
one host target (DESIGN.md's table). Jobs read current state from NetBox later, so a
decision needs only the event and the status mapping.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from handlers.decide.targets import status_of, target_of
from schemas.netbox import DEVICE, HANDLED_OBJECT_TYPES, INTERFACE, IP_ADDRESS, VM, VM_INTERFACE

#: Host actions a decision can ask for.
SYNC, DISABLE, DELETE, UPDATE_INTERFACES, IGNORE = (
    "sync",
    "disable",
    "delete",
    "update_interfaces",
    "ignore",
)


@dataclass(frozen=True)
class Decision:
    """What an event means for Zabbix.

    Parameters:
      action: sync (provision or update), disable, delete, update_interfaces or ignore.
      target: the host's NetBox object, ``dcim.device:42``; None when ignored.
      reason: why, in words an operator reads in the event log.
    """

    action: str
    target: str | None
    reason: str

    def asdict(self) -> dict[str, Any]:
        return asdict(self)


def _ref_id(value: Any) -> int | None:
    """The id of a reference (``{"id": 7, ...}`` or ``7``): a NetBox id is a positive
    integer, and anything else names no object (bool is an int to Python, not to JSON)."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if type(value) is int and value > 0 else None


def ignore_reason(event: dict[str, Any]) -> str | None:
    """Why ``event`` needs no work (the web edge acknowledges it without queueing), or None.
    When None, :func:`event_target` names the event's host."""
    if event["event"].startswith("job_"):
        return f"{event['event']} events are not about hosts"
    if event["object_type"] not in HANDLED_OBJECT_TYPES:
        return f"object type {event['object_type']} is not handled"
    if event_target(event) is None:
        return f"{event['object_type']} {event['object_id']} belongs to no device or VM"
    return None


def event_target(event: dict[str, Any]) -> str | None:
    """The host target an event is about: the device or VM itself, or the one owning the
    interface or IP address. None when it has none (an unassigned IP address)."""
    kind, data = event["object_type"], event["data"]
    if kind in (DEVICE, VM):
        return target_of(kind, event["object_id"])
    if kind == INTERFACE and (owner := _ref_id(data.get("device"))):
        return target_of(DEVICE, owner)
    if kind == VM_INTERFACE and (owner := _ref_id(data.get("virtual_machine"))):
        return target_of(VM, owner)
    if kind == IP_ADDRESS:
        assigned = data.get("assigned_object")
        assigned = assigned if isinstance(assigned, dict) else {}
        if data.get("assigned_object_type") == INTERFACE and (
            owner := _ref_id(assigned.get("device"))
        ):
            return target_of(DEVICE, owner)
        if data.get("assigned_object_type") == VM_INTERFACE and (
            owner := _ref_id(assigned.get("virtual_machine"))
        ):
            return target_of(VM, owner)
    return None


def translate(event: dict[str, Any], settings: dict[str, Any]) -> Decision:
    """DESIGN.md's event table, with the status mapping from ``settings``."""
    reason = ignore_reason(event)
    if reason:
        return Decision(IGNORE, None, reason)
    kind, action = event["object_type"], event["event"]
    target = event_target(event)
    if kind in (DEVICE, VM):
        if action == "deleted":
            return Decision(DELETE, target, f"{kind} deleted in NetBox")
        status = status_of(event["data"])
        if status in settings["removed_statuses"]:
            return Decision(DELETE, target, f"status {status!r} removes the host")
        if status in settings["disabled_statuses"]:
            return Decision(DISABLE, target, f"status {status!r} disables monitoring")
        if status in settings["monitored_statuses"]:
            return Decision(SYNC, target, f"{kind} {action} with monitored status {status!r}")
        return Decision(IGNORE, target, f"status {status!r} is in no status mapping")
    return Decision(UPDATE_INTERFACES, target, f"{kind} {event['object_id']} {action}")


def handle_event_targets(event: dict[str, Any]) -> list[str]:
    """The targets of an event job: its host, or none for an ignored event."""
    return handle_events_targets([event])


def handle_events_targets(events: list[dict[str, Any]]) -> list[str]:
    """The targets of a batch of events: their hosts, each once, in order."""
    targets = (event_target(event) for event in events if not ignore_reason(event))
    return list(dict.fromkeys(t for t in targets if t))
