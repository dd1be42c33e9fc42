"""What the service keys on in NetBox: targets and status (the object types themselves are
named once, in :mod:`schemas.netbox`, with the targets operators type).

A *target* is the NetBox object a Zabbix host stands for, written ``OBJECT_TYPE:ID``
(``dcim.device:42``): the key of job rows, dirty marks, host configs and our ownership tag.
"""

from __future__ import annotations

from typing import Any

from schemas.netbox import HOST_TYPES


def target_of(object_type: str, object_id: int) -> str:
    """The target of a NetBox object: ``dcim.device:42``."""
    return f"{object_type}:{object_id}"


def split_target(target: str) -> tuple[str, int]:
    """(object type, id) of a canonical target."""
    object_type, _, object_id = target.partition(":")
    return object_type, int(object_id)


def is_target(value: str) -> bool:
    """Whether ``value`` is a canonical target (an ownership tag typed by hand may not be)."""
    kind, _, object_id = value.partition(":")
    return kind in HOST_TYPES and object_id.isdigit() and target_of(kind, int(object_id)) == value


def status_of(obj: dict[str, Any]) -> str | None:
    """The status slug of a NetBox object (``active``), from its REST or webhook form."""
    status = obj.get("status")
    return status.get("value") if isinstance(status, dict) else status
