"""The NetBox gateway (pynetbox): devices and VMs with their IP addresses, by id, in batches."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pynetbox
import requests

from schemas.netbox import DEVICE, VM

log = logging.getLogger(__name__)

#: Host object type -> (endpoint path, IP address filter).
ENDPOINTS = {
    DEVICE: (("dcim", "devices"), "device_id"),
    VM: (("virtualization", "virtual_machines"), "virtual_machine_id"),
}


class NetBoxGateway:
    """Reads NetBox. An object missing from an answer may be gone, or hidden from the token
    (object permissions limited by site, tenant or tag): only :meth:`deleted_ids` (the change
    log) or a ``deleted`` webhook proves a deletion.

    Parameters:
      url: NetBox base URL.
      token: API token.
    """

    def __init__(self, url: str, token: str | None) -> None:
        self.api = pynetbox.api(url, token=token)
        #: Requests made, by endpoint.
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._changelog_refused = False

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def fetch_hosts(self, object_type: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        """id -> {"obj": representation, "ips": its IP addresses}, for those that exist."""
        if not ids:
            return {}
        (app, name), ip_filter = ENDPOINTS[object_type]
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

    def deleted_ids(self, object_type: str, ids: list[int]) -> set[int]:
        """Which of these objects NetBox's change log records as deleted (one request).
        Without permission to read the change log (``core.view_objectchange``), or on any
        error, none: a warning says so once per process, and the hosts are kept."""
        if not ids:
            return set()
        self._count("core.object_changes")
        try:
            changes = self.api.core.object_changes.filter(
                changed_object_type=object_type,
                changed_object_id=list(ids),
                action="delete",
                limit=1000,
            )
            return {int(c.changed_object_id) for c in changes}
        except (pynetbox.RequestError, requests.RequestException, ValueError) as exc:
            if not self._changelog_refused:
                log.warning(
                    "cannot read NetBox's change log (%s): deletions are confirmed only by "
                    "deleted webhooks; grant the token core.view_objectchange",
                    getattr(exc, "error", None) or exc,
                )
            self._changelog_refused = True
            return set()
