"""The NetBox gateway (pynetbox): devices and VMs with their IP addresses, by id, in batches."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pynetbox

#: NetBox object type -> (endpoint path, IP address filter).
HOST_KINDS = {
    "dcim.device": (("dcim", "devices"), "device_id"),
    "virtualization.virtualmachine": (("virtualization", "virtual_machines"), "virtual_machine_id"),
}

#: Short forms an operator may type for a target's object type.
TARGET_ALIASES = {
    "device": "dcim.device",
    "vm": "virtualization.virtualmachine",
    "virtualmachine": "virtualization.virtualmachine",
}


def parse_target(text: str) -> str:
    """``dcim.device:42`` (or ``device:42``, ``vm:7``) as a canonical target; ValueError with
    what to type instead."""
    kind, _, object_id = text.strip().partition(":")
    kind = TARGET_ALIASES.get(kind, kind)
    if kind not in HOST_KINDS or not object_id.isdigit():
        raise ValueError(
            f"{text!r} is not a target: write OBJECT_TYPE:ID, e.g. dcim.device:42 or "
            "virtualization.virtualmachine:7 (short: device:42, vm:7)"
        )
    return f"{kind}:{int(object_id)}"


class NetBoxGateway:
    """Reads NetBox. An object missing from the answer is gone (deleted in NetBox).

    Parameters:
      url: NetBox base URL.
      token: API token.
    """

    def __init__(self, url: str, token: str | None) -> None:
        self.api = pynetbox.api(url, token=token)
        #: Requests made, by endpoint.
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def fetch_hosts(self, object_type: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        """id -> {"obj": representation, "ips": its IP addresses}, for those that exist."""
        if not ids:
            return {}
        (app, name), ip_filter = HOST_KINDS[object_type]
        endpoint = getattr(getattr(self.api, app), name)
        self._count(f"{app}.{name}")
        objs = {o.id: dict(o) for o in endpoint.filter(id=ids, limit=1000)}
        self._count("ipam.ip_addresses")
        ips: dict[int, list[dict[str, Any]]] = {i: [] for i in objs}
        if objs:
            for ip in self.api.ipam.ip_addresses.filter(**{ip_filter: list(objs)}, limit=1000):
                rep = dict(ip)
                owner = (
                    (rep.get("assigned_object") or {}).get(
                        "device" if ip_filter == "device_id" else "virtual_machine"
                    )
                    or {}
                ).get("id")
                if owner in ips:
                    ips[owner].append(rep)
        return {i: {"obj": obj, "ips": ips[i]} for i, obj in objs.items()}
