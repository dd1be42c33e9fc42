"""The NetBox gateway (pynetbox): devices and VMs with their IP addresses, by id, in batches."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

import pynetbox
import requests

from handlers.decide.changelog import OWNER_FIELD
from handlers.decide.desired import group_templates, host_facts, ip_facts
from handlers.decide.group_names import PATH_FIELDS, RELATED, needs
from handlers.gateways.http import VerifiedSession
from schemas.netbox import DEVICE, VM

log = logging.getLogger(__name__)

#: Object ids per change-log request: the query string stays well under the 4 KiB request
#: line a stock NetBox behind gunicorn accepts.
CHANGELOG_CHUNK = 100

#: Host object type -> (endpoint path, IP address filter).
ENDPOINTS = {
    DEVICE: (("dcim", "devices"), "device_id"),
    VM: (("virtualization", "virtual_machines"), "virtual_machine_id"),
}
#: Interface type -> its endpoint (the field naming its host: decide.changelog's OWNER_FIELD).
INTERFACE_ENDPOINTS = {
    "dcim.interface": ("dcim", "interfaces"),
    "virtualization.vminterface": ("virtualization", "interfaces"),
}
#: Host object type -> the interface type its IP addresses are assigned to.
INTERFACE_TYPES = {DEVICE: "dcim.interface", VM: "virtualization.vminterface"}
#: Objects per page of a full read: NetBox's largest page (MAX_PAGE_SIZE, 1000 by default).
PAGE_SIZE = 1000
#: Ids per request for related objects (sites, regions ...), as for the change log.
IDS_PER_REQUEST = CHANGELOG_CHUNK
#: Object (a host's, or a site's or tenant's ...) -> its endpoint, for the related objects
#: host-group templates read (:data:`~handlers.decide.group_names.RELATED`).
RELATED_ENDPOINTS = {
    "site": ("dcim", "sites"),
    "tenant": ("tenancy", "tenants"),
    "cluster": ("virtualization", "clusters"),
    "region": ("dcim", "regions"),
    "site_group": ("dcim", "site_groups"),
    "tenant_group": ("tenancy", "tenant_groups"),
    "cluster_type": ("virtualization", "cluster_types"),
}

#: Objects a maintenance window may name -> their endpoint (found by slug; clusters by name).
NAMED_ENDPOINTS = {
    "sites": ("dcim", "sites"),
    "regions": ("dcim", "regions"),
    "tenants": ("tenancy", "tenants"),
    "clusters": ("virtualization", "clusters"),
    "tags": ("extras", "tags"),
}


def _raw(endpoint: Any, **filters: Any) -> Iterator[dict[str, Any]]:
    """The objects of a filtered list as NetBox's JSON, page after page (pynetbox's own
    request and paging, without building a Record per object: a full read holds every
    device, and Records cost several times their JSON in time and memory)."""
    return endpoint.filter(**filters).request.get()


class NetBoxGateway:
    """Reads NetBox. An object missing from an answer may be gone, or hidden from the token
    (object permissions limited by site, tenant or tag): only :meth:`deleted_ids` (the change
    log) or a ``deleted`` webhook proves a deletion.

    Parameters:
      url: NetBox base URL.
      token: API token.
      verify: how its TLS certificate is checked (``Config.tls_verify``).
    """

    def __init__(self, url: str, token: str | None, verify: bool | str = True) -> None:
        self.api = pynetbox.api(url, token=token)
        self.api.http_session = VerifiedSession(verify)
        #: Requests made, by endpoint.
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._changelog_problems: set[tuple[str, str]] = set()

    def _count(self, name: str) -> None:
        with self._lock:
            self.calls[name] += 1

    def all_hosts(
        self, object_type: str, uses: frozenset[str] = frozenset()
    ) -> dict[int, dict[str, Any]]:
        """Every device (or VM) the token may see, with its IP addresses, as
        :meth:`fetch_hosts` gives them: one request per page of :data:`PAGE_SIZE` objects,
        and one per page of the IP addresses assigned to their interfaces. Pages come
        ordered by id, so a rename during the read cannot move an object across pages."""
        (app, name), ip_filter = ENDPOINTS[object_type]
        self._count(f"{app}.{name}")
        endpoint = getattr(getattr(self.api, app), name)
        objs = self._facts(_raw(endpoint, ordering="id", limit=PAGE_SIZE), uses)
        self._count("ipam.ip_addresses")
        ips = _raw(
            self.api.ipam.ip_addresses,
            assigned_object_type=INTERFACE_TYPES[object_type],
            ordering="id",
            limit=PAGE_SIZE,
        )
        return self._with_ips(objs, ips, ip_filter)

    def _with_ips(
        self, objs: dict[int, dict[str, Any]], ips: Iterable[dict[str, Any]], ip_filter: str
    ) -> dict[int, dict[str, Any]]:
        """Each object with the IP addresses assigned to its interfaces."""
        owner_key = "device" if ip_filter == "device_id" else "virtual_machine"
        found: dict[int, list[dict[str, Any]]] = {i: [] for i in objs}
        for rep in ips:
            owner = ((rep.get("assigned_object") or {}).get(owner_key) or {}).get("id")
            if owner in found:
                found[owner].append(ip_facts(rep))
        return {i: {"obj": obj, "ips": found[i]} for i, obj in objs.items()}

    def fetch_hosts(
        self, object_type: str, ids: list[int], uses: frozenset[str] = frozenset()
    ) -> dict[int, dict[str, Any]]:
        """id -> {"obj": what the planner reads of it, "ips": its IP addresses}, for those
        that exist. ``uses`` (:func:`~handlers.decide.group_names.needs` of the mappings'
        host groups) says which related objects and fields to read too."""
        if not ids:
            return {}
        (app, name), ip_filter = ENDPOINTS[object_type]
        endpoint = getattr(getattr(self.api, app), name)
        self._count(f"{app}.{name}")
        objs = self._facts(_raw(endpoint, id=ids, limit=1000), uses)
        self._count("ipam.ip_addresses")
        ips = (
            _raw(self.api.ipam.ip_addresses, **{ip_filter: list(objs)}, limit=1000) if objs else ()
        )
        return self._with_ips(objs, ips, ip_filter)

    def _facts(
        self, raws: Iterable[dict[str, Any]], uses: frozenset[str]
    ) -> dict[int, dict[str, Any]]:
        """id -> :func:`host_facts` of each object, with the related objects its host-group
        templates (the mappings' ``uses``, and its own override's) read: its site's region
        and site group, its tenant's group, its cluster's type; each read once per call,
        in requests by id."""
        shared: dict[Any, Any] = {}
        objs: dict[int, dict[str, Any]] = {}
        #: (object, its id) -> [(host id, field)] for the related fields wanted.
        links: dict[tuple[str, int], list[tuple[int, str]]] = {}
        paths: set[str] = set()
        for raw in raws:
            wanted = uses | needs(group_templates(raw, None))
            objs[raw["id"]] = host_facts(raw, shared, wanted)
            paths |= {PATH_FIELDS[f] for f in wanted if f in PATH_FIELDS}
            for field in sorted(wanted & RELATED.keys()):
                via = RELATED[field][0]
                if isinstance(raw.get(via), dict) and raw[via].get("id"):
                    links.setdefault((via, raw[via]["id"]), []).append((raw["id"], field))
        if not links:
            return objs
        rows = {
            via: self._by_id(via, [i for v, i in links if v == via])
            for via in {v for v, _ in links}
        }
        refs: dict[str, dict[int, dict[str, Any]]] = {}
        for (via, row_id), wants in links.items():
            for _, field in wants:
                ref = (rows[via].get(row_id) or {}).get(RELATED[field][1])
                if isinstance(ref, dict):
                    refs.setdefault(field, {})[ref["id"]] = ref
        nodes = {field: self._nodes(field, found, field in paths) for field, found in refs.items()}
        for (via, row_id), wants in links.items():
            for host_id, field in wants:
                ref = (rows[via].get(row_id) or {}).get(RELATED[field][1])
                if isinstance(ref, dict):
                    objs[host_id][field] = nodes[field][ref["id"]]
        return objs

    def _nodes(
        self, field: str, refs: dict[int, dict[str, Any]], path: bool
    ) -> dict[int, dict[str, Any]]:
        """id -> what templates read of each region, site group, tenant group or cluster
        type in ``refs``: its name and slug, and with ``path`` its tree (names and slugs,
        parent first), read a level of parents at a time for all of them at once."""
        rows = dict(refs)
        if path:
            level = self._by_id(field, sorted(refs))
            while level:
                rows |= level
                parents = [r["parent"] for r in level.values() if r.get("parent")]
                unknown = sorted({p["id"] for p in parents if p["id"] not in rows})
                level = self._by_id(field, unknown) if unknown else {}
        nodes = {}
        for ref_id, ref in refs.items():
            chain, row = [], rows[ref_id]
            while row is not None and len(chain) < len(rows):  # a cycle stops at the end
                chain.insert(0, row)
                parent = row.get("parent") if path else None
                row = rows.get(parent["id"]) if isinstance(parent, dict) else None
            # A level the token may not see cuts the chain short: no path rather than a
            # wrong one (the group is then left out, and the event log says so).
            whole = not path or (
                all("parent" in r for r in chain) and chain[0].get("parent") is None
            )
            nodes[ref_id] = {
                "name": ref.get("name"),
                "slug": ref.get("slug"),
                "path": tuple(r.get("name") for r in chain) if whole else (),
                "slug_path": tuple(r.get("slug") for r in chain) if whole else (),
            }
        return nodes

    def _by_id(self, kind: str, ids: list[int]) -> dict[int, dict[str, Any]]:
        """id -> NetBox's representation of the related objects ``kind`` (see
        :data:`RELATED_ENDPOINTS`), a request per :data:`IDS_PER_REQUEST` ids."""
        app, name = RELATED_ENDPOINTS[kind]
        endpoint = getattr(getattr(self.api, app), name)
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), IDS_PER_REQUEST):
            self._count(f"{app}.{name}")
            chunk = ids[start : start + IDS_PER_REQUEST]
            found |= {r["id"]: r for r in _raw(endpoint, id=chunk, limit=1000)}
        return found

    def ids_where(self, object_type: str, **filters: Any) -> set[int]:
        """Ids of the devices (or VMs) a list filter finds (``site=["dc1"]``, ``tag=[...]``,
        ``region=[...]`` with its child regions, as NetBox's filter sets do): brief pages of
        :data:`PAGE_SIZE`."""
        (app, name), _ = ENDPOINTS[object_type]
        self._count(f"{app}.{name}")
        endpoint = getattr(getattr(self.api, app), name)
        return {r["id"] for r in _raw(endpoint, brief=1, ordering="id", limit=PAGE_SIZE, **filters)}

    def find_named(self, kind: str, names: list[str]) -> dict[str, int]:
        """name -> id of the sites, regions, tenants or tags (by slug) and clusters (by
        name) that exist among ``names``: one request per :data:`IDS_PER_REQUEST` names."""
        app, endpoint_name = NAMED_ENDPOINTS[kind]
        key = "name" if kind == "clusters" else "slug"
        endpoint = getattr(getattr(self.api, app), endpoint_name)
        found: dict[str, int] = {}
        for start in range(0, len(names), IDS_PER_REQUEST):
            self._count(f"{app}.{endpoint_name}")
            chunk = names[start : start + IDS_PER_REQUEST]
            found |= {r[key]: r["id"] for r in _raw(endpoint, **{key: chunk}, limit=1000)}
        return found

    def deleted_ids(self, object_type: str, ids: list[int]) -> set[int]:
        """Which of these objects NetBox's change log records as deleted (a request per
        :data:`CHANGELOG_CHUNK` ids). Without permission to read the change log
        (``core.view_objectchange``), or on any error, none: a warning names the problem
        (once per kind of problem and process), and the hosts are kept."""
        found: set[int] = set()
        for start in range(0, len(ids), CHANGELOG_CHUNK):
            chunk = [int(i) for i in ids[start : start + CHANGELOG_CHUNK]]
            try:
                changes = self._changes(
                    changed_object_type=object_type,
                    changed_object_id=chunk,
                    action="delete",
                    limit=1000,
                )
            except (pynetbox.RequestError, pynetbox.ContentError, requests.RequestException) as exc:
                self.warn_changelog(exc, "deletions are confirmed only by deleted webhooks")
                return found
            # Trust only records that say what was asked: this type, these ids, deleted.
            found |= {
                int(c["changed_object_id"])
                for c in changes
                if c.get("changed_object_type") == object_type
                and (c.get("action") or {}).get("value") == "delete"
                and int(c.get("changed_object_id") or 0) in chunk
            }
        return found

    def request_changes(self, request_id: str) -> Iterator[list[dict[str, Any]]]:
        """The change records of one NetBox request, a page at a time, in id order (a bulk
        edit may have thousands). Pages follow NetBox's count, whatever page size its
        MAX_PAGE_SIZE allows. Raises what pynetbox and requests raise: the caller decides
        what a refusal means."""
        offset = 0
        while True:
            page, total = self._change_page(
                request_id=request_id, ordering="id", limit=PAGE_SIZE, offset=offset
            )
            if page:
                yield page
            offset += len(page)
            if not page or offset >= total:
                return

    def interface_owners(self, kind: str, ids: Iterable[int]) -> dict[int, int]:
        """interface id -> its device's (or VM's) id, for ``kind`` ``dcim.interface`` or
        ``virtualization.vminterface`` (one request per :data:`IDS_PER_REQUEST` ids)."""
        app, name = INTERFACE_ENDPOINTS[kind]
        owner = OWNER_FIELD[kind]
        endpoint = getattr(getattr(self.api, app), name)
        wanted, found = sorted(int(i) for i in ids), {}
        for start in range(0, len(wanted), IDS_PER_REQUEST):
            self._count(f"{app}.{name}")
            for row in _raw(endpoint, id=wanted[start : start + IDS_PER_REQUEST], limit=1000):
                host = row.get(owner)
                if isinstance(host, dict) and isinstance(host.get("id"), int):
                    found[int(row["id"])] = host["id"]
        return found

    def _change_page(self, **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """One page of change records (``offset`` given: pynetbox follows no next link), and
        how many records match in all."""

        def page(endpoint: Any) -> tuple[list[dict[str, Any]], int]:
            request = endpoint.filter(**filters).request
            rows = list(request.get())
            return rows, int(request.count or 0)

        return self._changelog(page)

    def _changes(self, **filters: Any) -> list[dict[str, Any]]:
        """Change records, every page."""
        return self._changelog(lambda endpoint: [dict(c) for c in endpoint.filter(**filters)])

    def _changelog(self, read: Any) -> Any:
        """``read`` on ``/api/core/object-changes/`` from NetBox 4.1, on the extras endpoint
        before it moved (the one place that knows)."""
        for app in ("core", "extras"):
            self._count(f"{app}.object_changes")
            try:
                return read(getattr(self.api, app).object_changes)
            except pynetbox.RequestError as exc:
                if app == "extras" or exc.req.status_code != 404:
                    raise
        raise AssertionError("unreachable: the extras endpoint answers or raises")

    def warn_changelog(self, exc: Exception, meanwhile: str) -> None:
        """Warn that the change log cannot be read, naming the problem, what the service
        does ``meanwhile`` and what to do: once per kind of problem and use, per process
        (a token without the permission would otherwise warn at every read)."""
        status = getattr(getattr(exc, "req", None), "status_code", None)
        problem = "forbidden" if status == 403 else type(exc).__name__
        with self._lock:
            if (problem, meanwhile) in self._changelog_problems:
                return
            self._changelog_problems.add((problem, meanwhile))
        hint = (
            "grant the token the permission core.view_objectchange"
            if status == 403
            else "check that NetBox answers"
        )
        log.warning(
            "cannot read NetBox's change log (%s: %s): %s until it can; %s",
            problem,
            getattr(exc, "error", None) or exc,
            meanwhile,
            hint,
        )
