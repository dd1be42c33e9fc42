"""The simulator's NetBox: objects in memory, their REST representations, and the webhook
events each change makes, shaped like the NetBox 4.4 captures in tests/fixtures.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "api"


def _template(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())["body"]


def _relative(value: Any, base: str) -> Any:
    """The capture's absolute URLs made relative, as in webhook bodies."""
    if isinstance(value, dict):
        return {k: _relative(v, base) for k, v in value.items()}
    if isinstance(value, list):
        return [_relative(v, base) for v in value]
    if isinstance(value, str) and value.startswith(base):
        return value[len(base) :]
    return value


_CAPTURE_BASE = "http://127.0.0.1:8000"
TEMPLATES = {
    kind: _relative(_template(name), _CAPTURE_BASE)
    for kind, name in {
        "device": "device_sw-core-01_final.json",
        "interface": "interface_mgmt0_final.json",
        "ipaddress": "ip-address_dev_mgmt_final.json",
        "virtualmachine": "vm_vm-app-01_final.json",
        "vminterface": "vminterface_eth0_final.json",
    }.items()
}
STATUS_LABELS = {
    "offline": "Offline",
    "active": "Active",
    "planned": "Planned",
    "staged": "Staged",
    "failed": "Failed",
    "inventory": "Inventory",
    "decommissioning": "Decommissioning",
}
#: kind -> (object_type, model, REST path)
KINDS = {
    "device": ("dcim.device", "device", "/api/dcim/devices/"),
    "interface": ("dcim.interface", "interface", "/api/dcim/interfaces/"),
    "ipaddress": ("ipam.ipaddress", "ipaddress", "/api/ipam/ip-addresses/"),
    "virtualmachine": (
        "virtualization.virtualmachine",
        "virtualmachine",
        "/api/virtualization/virtual-machines/",
    ),
    "vminterface": ("virtualization.vminterface", "vminterface", "/api/virtualization/interfaces/"),
}
#: Objects that organise devices and VMs (served read-only; no webhooks): kind ->
#: (REST path, the nested objects it names: field -> their kind, whether it nests).
ORG_KINDS: dict[str, tuple[str, dict[str, str], bool]] = {
    "region": ("/api/dcim/regions/", {"parent": "region"}, True),
    "sitegroup": ("/api/dcim/site-groups/", {"parent": "sitegroup"}, True),
    "tenantgroup": ("/api/tenancy/tenant-groups/", {"parent": "tenantgroup"}, True),
    "tenant": ("/api/tenancy/tenants/", {"group": "tenantgroup"}, False),
    "site": (
        "/api/dcim/sites/",
        {"region": "region", "group": "sitegroup", "tenant": "tenant"},
        False,
    ),
    "clustertype": ("/api/virtualization/cluster-types/", {}, False),
    "cluster": (
        "/api/virtualization/clusters/",
        {"type": "clustertype", "tenant": "tenant"},
        False,
    ),
}
#: Extra REST fields that webhook bodies do not carry.
REST_ONLY = {"device": ("config_context",), "virtualmachine": ("config_context",)}


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def site_ref(slug: str, name: str | None = None) -> dict[str, Any]:
    """A nested site reference, as device and VM bodies carry it (``site=site_ref(...)``)."""
    site_id = 1 if slug == "dc1-ams" else 100 + abs(hash(slug)) % 10_000
    return {
        "id": site_id,
        "url": f"/api/dcim/sites/{site_id}/",
        "display": name or slug,
        "name": name or slug,
        "slug": slug,
        "description": "",
    }


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _tag(tag: dict[str, Any]) -> dict[str, Any]:
    """The nested tag a device, VM or IP address carries, from a tag of :class:`NetBoxSim`
    (``tags`` of a host name them; :meth:`NetBoxSim.tag_ref` gives the id)."""
    keys = ("id", "url", "display_url", "display", "name", "slug", "color")
    return {k: tag[k] for k in keys}


#: The captured NetBox's tags (tests/fixtures/api/tags.json): every simulator starts with their
#: ids and colours, so a tag named ``zabbix`` is tag 1 on hosts as on the IP address template.
CAPTURED_TAGS: list[dict[str, Any]] = _relative(_template("tags.json")["results"], _CAPTURE_BASE)
#: Fields of devices and VMs that name an object of :data:`ORG_KINDS` of the same kind, and
#: the field that names it uniquely (NetBox's clusters have no slug).
HOST_REFS = {"site": "slug", "tenant": "slug", "cluster": "name"}
#: The related objects the templates name (site 1 ``dc1-ams``, tenant 1 ``acme``, cluster 1):
#: kind -> id -> nested reference. :meth:`NetBoxSim.add_org` keeps their ids for them.
TEMPLATE_REFS: dict[str, dict[int, dict[str, Any]]] = {
    field: {
        t[field]["id"]: t[field]
        for t in (TEMPLATES["device"], TEMPLATES["virtualmachine"])
        if isinstance(t.get(field), dict)
    }
    for field in HOST_REFS
}


#: Representation fields that are computed, not stored, so snapshots do not have them.
_NOT_IN_SNAPSHOTS = ("id", "url", "display_url", "display", "primary_ip", "parent_device")


def snapshot(kind: str, rep: dict[str, Any]) -> dict[str, Any]:
    """NetBox's raw snapshot format: foreign keys as ids, choices as values, tags as names."""
    out: dict[str, Any] = {}
    for key, value in rep.items():
        if key in _NOT_IN_SNAPSHOTS or key.endswith("_count"):
            continue
        if key in REST_ONLY.get(kind, ()):
            continue
        if key == "tags":
            out[key] = [t["name"] for t in value]
        elif isinstance(value, dict) and "value" in value and "label" in value:
            out[key] = value["value"]
        elif isinstance(value, dict) and "id" in value:
            out[key] = value["id"]
        elif isinstance(value, list) and value and isinstance(value[0], dict) and "id" in value[0]:
            out[key] = [v["id"] for v in value]
        else:
            out[key] = copy.deepcopy(value)
    return out


class NetBoxSim:
    """NetBox's objects and change events, in memory.

    Parameters:
      emit: called with each webhook body (a dict) in NetBox's order; the server's sender
        signs and delivers them.
      username: who makes the changes (``username`` in webhook bodies).

    Example::

        sim = NetBoxSim(emit=print)
        dev = sim.create_device("sw-01", ip="10.0.0.1/24")
        sim.update_device(dev, status="offline")
        sim.delete_device(dev)
    """

    def __init__(
        self, emit: Callable[[dict[str, Any]], None], username: str = "admin", version: str = "4.4"
    ) -> None:
        self.emit = emit
        self.username = username
        #: The NetBox whose webhook bodies are sent: "4.4" (``model``, no ``request``) or
        #: "4.6" (no ``model``; a ``request`` object with its id, method, path and user).
        self.version = version
        #: The request being served when it is not one object's (a bulk edit's).
        self._request: dict[str, str] | None = None
        self.objects: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in KINDS}
        #: NetBox's change log: one record per change, committed before its webhook leaves.
        self.changes: list[dict[str, Any]] = []
        self._ids = dict.fromkeys(KINDS, 0)
        #: Regions, site groups, sites, tenants, clusters ... by kind and id.
        self.org: dict[str, dict[int, dict[str, Any]]] = {k: {} for k in ORG_KINDS}
        #: Sites, tenants and clusters only named by a host's reference (``site_ref(...)``, the
        #: templates'), until :meth:`add_org` adds them properly: kind -> ids.
        self._implicit: dict[str, set[int]] = {k: set() for k in HOST_REFS}
        #: Every tag this NetBox has defined, by slug (the captured ones to begin with); the
        #: tags endpoint lists those added with :meth:`add_tag` and those in use.
        self.tags: dict[str, dict[str, Any]] = {t["slug"]: copy.deepcopy(t) for t in CAPTURED_TAGS}
        self._added_tags: set[str] = set()
        self.lock = threading.RLock()

    # -- representations ---------------------------------------------------------------

    def _ref(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        path = KINDS[kind][2]
        ref = {"id": obj["id"], "url": f"{path}{obj['id']}/", "display": obj["display"]}
        if "name" in obj:
            ref["name"] = obj["name"]
        ref["description"] = obj.get("description", "")
        return ref

    def _ip_ref(self, ip: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": ip["id"],
            "url": f"/api/ipam/ip-addresses/{ip['id']}/",
            "display": ip["address"],
            "family": copy.deepcopy(ip["family"]),
            "address": ip["address"],
            "description": ip["description"],
        }

    def _new(self, kind: str, **fields: Any) -> dict[str, Any]:
        self._ids[kind] += 1
        obj = copy.deepcopy(TEMPLATES[kind])
        obj_id = self._ids[kind]
        path = KINDS[kind][2]
        obj.update(id=obj_id, url=f"{path}{obj_id}/", display_url=f"{path[4:]}{obj_id}/")
        obj["created"] = obj["last_updated"] = _now()
        obj.update(fields)
        return obj

    # -- regions, sites, tenants, clusters ----------------------------------------------

    def add_org(self, kind: str, name: str, slug: str | None = None, **links: int | None) -> int:
        """Add a region, site group, tenant group, tenant, site, cluster type or cluster
        (see :data:`ORG_KINDS`); ``links`` name related ones by id (``parent=``,
        ``region=``, ``group=``, ``tenant=``, ``type=``). Returns its id.

        Ids never collide: a new one is one more than the largest yet, and the templates'
        site, tenant and cluster (id 1) keep theirs. A site, tenant or cluster that hosts
        already name (``site_ref(slug)``) is that one, completed, with its id."""
        path, fields, nested = ORG_KINDS[kind]
        unknown = set(links) - set(fields)
        if unknown:
            raise ValueError(f"a {kind} has no {', '.join(sorted(unknown))}")
        slug = slug or _slug(name)
        with self.lock:
            key = HOST_REFS.get(kind)
            value = name if key == "name" else slug
            same = [o for o in self.org[kind].values() if key and o.get(key) == value]
            template = [i for i, r in TEMPLATE_REFS.get(kind, {}).items() if r.get(key) == value]
            if same and same[0]["id"] in self._implicit[kind]:
                obj_id = same[0]["id"]
                self._implicit[kind].discard(obj_id)
            elif template and template[0] not in self.org[kind]:
                obj_id = template[0]
            else:
                obj_id = self._next_org_id(kind)
            obj = self._org_obj(kind, obj_id, name, slug)
            for field, other in fields.items():
                obj[field] = self.org_ref(other, links[field]) if links.get(field) else None
            if nested:
                parent = obj["parent"]
                obj["_depth"] = parent["_depth"] + 1 if parent else 0
            self.org[kind][obj_id] = obj
            if key:
                self._refresh_refs(kind, obj_id)
            return obj_id

    def _next_org_id(self, kind: str) -> int:
        taken = set(self.org[kind]) | set(TEMPLATE_REFS.get(kind, {}))
        return max(taken, default=0) + 1

    def _org_obj(self, kind: str, obj_id: int, name: str, slug: str | None) -> dict[str, Any]:
        path, fields, _ = ORG_KINDS[kind]
        obj: dict[str, Any] = {
            "id": obj_id,
            "url": f"{path}{obj_id}/",
            "display_url": f"{path[4:]}{obj_id}/",
            "display": name,
            "name": name,
            "description": "",
        }
        if kind != "cluster":  # NetBox's clusters have no slug
            obj["slug"] = slug or _slug(name)
        obj.update(dict.fromkeys(fields))
        obj.update(tags=[], custom_fields={}, created=_now(), last_updated=_now())
        return obj

    def _org_link(self, kind: str, ref: Any) -> Any:
        """A host's reference to a site, tenant or cluster, made real as in NetBox: one this
        NetBox has (by slug, or a cluster's name) becomes a reference to it; another is added
        with its id (a new id if that one is taken), so lists and lookups find it."""
        if not isinstance(ref, dict) or "id" not in ref:
            return ref
        key = HOST_REFS[kind]
        known = self.org[kind]
        for obj in known.values():
            if obj.get(key) == ref.get(key):
                return self.org_ref(kind, obj["id"])
        obj_id = ref["id"] if ref["id"] not in known else self._next_org_id(kind)
        name = ref.get("name") or ref.get("display") or str(ref.get(key))
        known[obj_id] = self._org_obj(kind, obj_id, name, ref.get("slug"))
        known[obj_id]["description"] = ref.get("description", "")
        self._implicit[kind].add(obj_id)
        return self.org_ref(kind, obj_id)

    def _refresh_refs(self, kind: str, obj_id: int) -> None:
        """Hosts naming a site, tenant or cluster show what it is now (NetBox renders nested
        objects on read; no webhook)."""
        for hosts in (self.objects["device"], self.objects["virtualmachine"]):
            for host in hosts.values():
                if isinstance(host.get(kind), dict) and host[kind]["id"] == obj_id:
                    host[kind] = self.org_ref(kind, obj_id)

    def org_ref(self, kind: str, obj_id: int) -> dict[str, Any]:
        """The nested (brief) reference to an object of :data:`ORG_KINDS`, as NetBox 4.4
        renders one inside another: trees carry their ``_depth``."""
        obj = self.org[kind][obj_id]
        keys = ("id", "url", "display", "name", "slug", "description", "_depth")
        return {k: copy.deepcopy(obj[k]) for k in keys if k in obj}

    # -- tags ----------------------------------------------------------------------------

    def add_tag(
        self, name: str, slug: str | None = None, *, color: str = "9e9e9e", description: str = ""
    ) -> int:
        """Add a tag (as an administrator would, before anything carries it); one with this
        name and slug already is that one. Returns its id."""
        slug = slug or _slug(name)
        with self.lock:
            for tag in self.tags.values():
                if (tag["name"] == name) != (tag["slug"] == slug):
                    raise ValueError(
                        f"tag {tag['name']!r} ({tag['slug']}) has this name or slug already"
                    )
            tag = self.tags.get(slug) or self._define_tag(name, slug, color, description)
            self._added_tags.add(slug)
            return tag["id"]

    def _define_tag(self, name: str, slug: str, color: str, description: str) -> dict[str, Any]:
        tag_id = max((t["id"] for t in self.tags.values()), default=0) + 1
        now = _now()
        tag = {
            "id": tag_id,
            "url": f"/api/extras/tags/{tag_id}/",
            "display_url": f"/extras/tags/{tag_id}/",
            "display": name,
            "name": name,
            "slug": slug,
            "color": color,
            "description": description,
            "weight": 1000,
            "object_types": [],
            "tagged_items": 0,
            "created": now,
            "last_updated": now,
        }
        self.tags[slug] = tag
        return tag

    def tag_ref(self, name: str) -> dict[str, Any]:
        """The nested tag a host carries for the tag ``name`` (defined on first use, as
        NetBox's API does when given a tag it does not have)."""
        with self.lock:
            for tag in self.tags.values():
                if tag["name"] == name:
                    return _tag(tag)
            slug = _slug(name)
            tag = self.tags.get(slug) or self._define_tag(name, slug, "9e9e9e", "")
            return _tag(tag)

    def tag_list(self) -> list[dict[str, Any]]:
        """Every tag NetBox has: those added, and those any object carries, in NetBox's order
        (weight, name), each with its ``tagged_items``."""
        with self.lock:
            used: dict[str, int] = dict.fromkeys(self._added_tags, 0)
            for objects in self.objects.values():
                for obj in objects.values():
                    for nested in obj.get("tags") or ():
                        used[nested["slug"]] = used.get(nested["slug"], 0) + 1
                        if nested["slug"] not in self.tags:  # set as a dict, not by name
                            self._define_tag(
                                nested["name"], nested["slug"], nested.get("color", "9e9e9e"), ""
                            )
            found = []
            for slug, count in used.items():
                tag = copy.deepcopy(self.tags[slug])
                tag["tagged_items"] = count
                found.append(tag)
            return sorted(found, key=lambda t: (t["weight"], t["name"]))

    # -- events ------------------------------------------------------------------------

    def _event(
        self,
        kind: str,
        event: str,
        obj: dict[str, Any],
        pre: dict[str, Any] | None,
        request_id: str | None = None,
    ) -> None:
        object_type, model, _ = KINDS[kind]
        data = {k: v for k, v in copy.deepcopy(obj).items() if k not in REST_ONLY.get(kind, ())}
        request_id = request_id or str(uuid.uuid4())
        action = {"created": "create", "updated": "update", "deleted": "delete"}[event]
        self.changes.append(
            {
                "id": len(self.changes) + 1,
                "time": _now(),
                "user_name": self.username,
                "request_id": request_id,
                "action": {"value": action, "label": event.capitalize()},
                "changed_object_type": object_type,
                "changed_object_id": obj["id"],
                "object_repr": obj.get("display", str(obj["id"])),
                "prechange_data": pre,
                "postchange_data": None if event == "deleted" else snapshot(kind, obj),
            }
        )
        body = {
            "event": event,
            "timestamp": datetime.now(UTC).isoformat(),
            "object_type": object_type,
            "model": model,
            "username": self.username,
            "request_id": request_id,
            "data": data,
            "snapshots": {
                "prechange": pre,
                "postchange": None if event == "deleted" else snapshot(kind, obj),
            },
        }
        if self.version != "4.4":
            del body["model"]
            list_path = KINDS[kind][2]
            method, path = (
                self._request.values()
                if self._request
                else (
                    {"created": "POST", "updated": "PATCH", "deleted": "DELETE"}[event],
                    list_path if event == "created" else f"{list_path}{obj['id']}/",
                )
            )
            body["request"] = {
                "id": request_id,
                "method": method,
                "path": path,
                "user": self.username,
            }
        self.emit(body)

    def _changed(
        self, kind: str, obj: dict[str, Any], changes: dict[str, Any], rid: str | None
    ) -> None:
        pre = snapshot(kind, obj)
        obj.update(changes)
        obj["last_updated"] = _now()
        self._event(kind, "updated", obj, pre, rid)

    # -- devices and VMs ---------------------------------------------------------------

    def _host_fields(
        self, kind: str, name: str, status: str, tags: list[str] | None, **extra: Any
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "name": name,
            "display": name,
            "status": {"value": status, "label": STATUS_LABELS[status]},
            "primary_ip": None,
            "primary_ip4": None,
            "primary_ip6": None,
            "interface_count": 0,
            "tags": [self.tag_ref(t) for t in (tags or [])],
            "custom_fields": {},
            "local_context_data": None,
        }
        if kind == "device":
            fields["oob_ip"] = None
            fields["asset_tag"] = None
            fields["serial"] = ""
        fields.update(extra)
        return fields

    def create_device(
        self,
        name: str,
        *,
        status: str = "active",
        tags: list[str] | None = None,
        ip: str | None = None,
        interface: str = "mgmt0",
        dns_name: str = "",
        **extra: Any,
    ) -> int:
        """Create a device (one webhook); with ``ip``, also its interface, the IP address and
        the primary IP, each with its own webhook, as a NetBox user would."""
        return self._create_host("device", name, status, tags, ip, interface, dns_name, extra)

    def create_vm(
        self,
        name: str,
        *,
        status: str = "active",
        tags: list[str] | None = None,
        ip: str | None = None,
        interface: str = "eth0",
        dns_name: str = "",
        **extra: Any,
    ) -> int:
        """Create a virtual machine, like :meth:`create_device`."""
        return self._create_host(
            "virtualmachine", name, status, tags, ip, interface, dns_name, extra
        )

    def _create_host(self, kind, name, status, tags, ip, interface, dns_name, extra) -> int:
        with self.lock:
            obj = self._new(kind, **self._host_fields(kind, name, status, tags, **extra))
            for field in HOST_REFS:
                if field in obj:
                    obj[field] = self._org_link(field, obj[field])
            self.objects[kind][obj["id"]] = obj
            self._event(kind, "created", obj, None)
            if ip:
                iface = self.add_interface(kind, obj["id"], interface)
                self.add_ip(kind, iface, ip, primary=True, dns_name=dns_name)
            return obj["id"]

    def update_device(self, device_id: int, **changes: Any) -> None:
        self.update_host("device", device_id, **changes)

    def update_vm(self, vm_id: int, **changes: Any) -> None:
        self.update_host("virtualmachine", vm_id, **changes)

    def update_host(
        self, kind: str, obj_id: int, request_id: str | None = None, **changes: Any
    ) -> None:
        """Change a device or VM: ``name``, ``status``, ``tags`` (names), ``custom_fields``,
        ``description`` or any representation field."""
        with self.lock:
            obj = self._get(kind, obj_id)
            update = dict(changes)
            if "name" in update:
                update["display"] = update["name"]
            if "status" in update:
                update["status"] = {
                    "value": update["status"],
                    "label": STATUS_LABELS[update["status"]],
                }
            if "tags" in update:
                update["tags"] = [self.tag_ref(t) for t in update["tags"]]
            for field in HOST_REFS.keys() & update.keys():
                update[field] = self._org_link(field, update[field])
            self._changed(kind, obj, update, request_id)
            self._rename_refs(kind, obj)

    def bulk_update(self, kind: str, ids: list[int], **changes: Any) -> str:
        """A bulk edit (an API ``PATCH`` of the list): one webhook per object, all with one
        request_id, and, as in NetBox, every change committed to the change log before the
        first webhook leaves."""
        request_id = str(uuid.uuid4())
        held: list[dict[str, Any]] = []
        emit = self.emit
        with self.lock:
            self.emit, self._request = held.append, {"method": "PATCH", "path": KINDS[kind][2]}
            try:
                for obj_id in ids:
                    self.update_host(kind, obj_id, request_id=request_id, **changes)
            finally:
                self.emit, self._request = emit, None
        for body in held:
            emit(body)
        return request_id

    def delete_device(self, device_id: int) -> None:
        self.delete_host("device", device_id)

    def delete_vm(self, vm_id: int) -> None:
        self.delete_host("virtualmachine", vm_id)

    def delete_host(self, kind: str, obj_id: int) -> None:
        """NetBox's cascade order: its IP addresses deleted, the host deleted (its body still
        naming its primary IP), then each interface deleted."""
        iface_kind = "interface" if kind == "device" else "vminterface"
        with self.lock:
            obj = self._get(kind, obj_id)
            ifaces = [
                i
                for i in self.objects[iface_kind].values()
                if self._owner_id(iface_kind, i) == obj_id
            ]
            request_id = str(uuid.uuid4())
            for iface in ifaces:
                for ip in self.ips_of(iface_kind, iface["id"]):
                    del self.objects["ipaddress"][ip["id"]]
                    self._event("ipaddress", "deleted", ip, snapshot("ipaddress", ip), request_id)
            del self.objects[kind][obj_id]
            self._event(kind, "deleted", obj, snapshot(kind, obj), request_id)
            for iface in ifaces:
                del self.objects[iface_kind][iface["id"]]
                self._event(iface_kind, "deleted", iface, snapshot(iface_kind, iface), request_id)

    # -- interfaces and IP addresses -----------------------------------------------------

    def add_interface(self, host_kind: str, host_id: int, name: str) -> int:
        """Add an interface; NetBox sends no event for the host (its count changes silently)."""
        kind = "interface" if host_kind == "device" else "vminterface"
        owner_key = "device" if host_kind == "device" else "virtual_machine"
        with self.lock:
            host = self._get(host_kind, host_id)
            iface = self._new(
                kind, name=name, display=name, **{owner_key: self._ref(host_kind, host)}
            )
            self.objects[kind][iface["id"]] = iface
            host["interface_count"] = host.get("interface_count", 0) + 1
            self._event(kind, "created", iface, None)
            return iface["id"]

    def add_ip(
        self,
        host_kind: str,
        iface_id: int,
        address: str,
        *,
        primary: bool = False,
        dns_name: str = "",
    ) -> int:
        """Assign an IP address to an interface; with ``primary``, make it the host's primary
        IP (a separate change, so a separate host ``updated`` webhook)."""
        iface_kind = "interface" if host_kind == "device" else "vminterface"
        with self.lock:
            iface = self._get(iface_kind, iface_id)
            family = ipaddress.ip_interface(address).version
            assigned = {k: copy.deepcopy(v) for k, v in self._ref(iface_kind, iface).items()}
            owner_key = "device" if host_kind == "device" else "virtual_machine"
            assigned[owner_key] = copy.deepcopy(iface[owner_key])
            ip = self._new(
                "ipaddress",
                address=address,
                display=address,
                family={"value": family, "label": f"IPv{family}"},
                assigned_object_type=KINDS[iface_kind][0],
                assigned_object_id=iface_id,
                assigned_object=assigned,
                dns_name=dns_name,
            )
            self.objects["ipaddress"][ip["id"]] = ip
            self._event("ipaddress", "created", ip, None)
            if primary:
                host_id = self._owner_id(iface_kind, iface)
                ref = self._ip_ref(ip)
                self._changed(
                    host_kind,
                    self._get(host_kind, host_id),
                    {"primary_ip": ref, f"primary_ip{family}": ref},
                    None,
                )
            return ip["id"]

    def update_ip(self, ip_id: int, **changes: Any) -> None:
        """Change an IP address (``address``, ``dns_name``); hosts naming it follow silently."""
        with self.lock:
            ip = self._get("ipaddress", ip_id)
            if "address" in changes:
                changes["display"] = changes["address"]
            self._changed("ipaddress", ip, changes, None)
            for kind in ("device", "virtualmachine"):
                for host in self.objects[kind].values():
                    for key in ("primary_ip", "primary_ip4", "primary_ip6"):
                        if host.get(key) and host[key]["id"] == ip_id:
                            host[key] = self._ip_ref(ip)

    # -- queries used by the REST server -----------------------------------------------

    def _get(self, kind: str, obj_id: int) -> dict[str, Any]:
        try:
            return self.objects[kind][obj_id]
        except KeyError:
            raise LookupError(f"no {kind} with id {obj_id}") from None

    def _owner_id(self, iface_kind: str, iface: dict[str, Any]) -> int:
        return iface["device" if iface_kind == "interface" else "virtual_machine"]["id"]

    def _rename_refs(self, kind: str, host: dict[str, Any]) -> None:
        """Nested references carry the host's name, as NetBox renders them on read."""
        owner_key = "device" if kind == "device" else "virtual_machine"
        iface_kind = "interface" if kind == "device" else "vminterface"
        for iface in self.objects[iface_kind].values():
            if iface[owner_key]["id"] == host["id"]:
                iface[owner_key] = self._ref(kind, host)
                for ip in self.ips_of(iface_kind, iface["id"]):
                    ip["assigned_object"][owner_key] = self._ref(kind, host)

    def ips_of(self, iface_kind: str, iface_id: int) -> list[dict[str, Any]]:
        object_type = KINDS[iface_kind][0]
        return [
            ip
            for ip in self.objects["ipaddress"].values()
            if ip["assigned_object_type"] == object_type and ip["assigned_object_id"] == iface_id
        ]

    def site_of(self, kind: str, obj: dict[str, Any]) -> str | None:
        """The slug of the site an object belongs to (through its host), or None."""
        if kind in ("interface", "vminterface"):
            owner = "device" if kind == "interface" else "virtualmachine"
            host = self.objects[owner].get(self._owner_id(kind, obj))
            return self.site_of(owner, host) if host else None
        if kind == "ipaddress":
            iface_kind = {v[0]: k for k, v in KINDS.items()}.get(obj["assigned_object_type"])
            iface = self.objects.get(iface_kind, {}).get(obj["assigned_object_id"])
            return self.site_of(iface_kind, iface) if iface else None
        return (obj.get("site") or {}).get("slug")

    def rest(self, kind: str, obj: dict[str, Any], base: str) -> dict[str, Any]:
        """The REST representation: absolute URLs, plus ``config_context`` for hosts."""
        rep = copy.deepcopy(obj)
        if kind in REST_ONLY:
            rep.setdefault("config_context", {})
        return _absolute(rep, base)


def _absolute(value: Any, base: str) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                base + v
                if k in ("url", "display_url") and isinstance(v, str) and v.startswith("/")
                else _absolute(v, base)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_absolute(v, base) for v in value]
    return value
