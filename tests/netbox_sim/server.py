"""The simulator's HTTP server: NetBox's REST API (the calls the service makes) and a small
control API (``/_sim/...``) that the CLI, the demo and the benchmarks drive."""

from __future__ import annotations

import copy
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.netbox_sim.model import KINDS, ORG_KINDS, STATUS_LABELS, NetBoxSim
from tests.netbox_sim.sender import WebhookSender

#: NetBox's default and largest page sizes.
PAGE_SIZE, MAX_PAGE_SIZE = 50, 1000
STATUS = {
    "django-version": "5.2.9",
    "installed_apps": {},
    "netbox-version": "4.4.10",
    "netbox-full-version": "4.4.10",
    "plugins": {},
    "python-version": "3.11.7",
    "rq-workers-running": 1,
    "simulator": True,
}
#: NetBox's change log: the core endpoint (NetBox 4.1 and later).
CHANGES_PATH = "/api/core/object-changes/"
TAGS_PATH = "/api/extras/tags/"
#: REST path -> (kind, name in 404 bodies, filters: query parameter -> predicate)
ROUTES: dict[str, tuple[str, str]] = {
    "/api/dcim/devices/": ("device", "Device"),
    "/api/virtualization/virtual-machines/": ("virtualmachine", "VirtualMachine"),
    "/api/dcim/interfaces/": ("interface", "Interface"),
    "/api/virtualization/interfaces/": ("vminterface", "VMInterface"),
    "/api/ipam/ip-addresses/": ("ipaddress", "IPAddress"),
}


HOSTS = ("device", "virtualmachine")
#: Device and VM filters naming a related object, as NetBox 4.4's filter sets define them:
#: query parameter -> (the host's field, what of the object the values give). Devices have
#: no ``cluster`` (name) filter in NetBox 4.4, so there NetBox ignores it, and so does this.
RELATED_FILTERS = {
    "site": ("site", "slug"),
    "site_id": ("site", "id"),
    "region": ("region", "slug"),
    "region_id": ("region", "id"),
    "tenant": ("tenant", "slug"),
    "tenant_id": ("tenant", "id"),
    "cluster": ("cluster", "name"),
    "cluster_id": ("cluster", "id"),
}
#: NetBox's value for "none" in a choice filter (FILTERS_NULL_CHOICE_VALUE).
NULL = "null"


def _related_filter(kind: str, key: str) -> tuple[str, str] | None:
    if kind not in HOSTS or key not in RELATED_FILTERS:
        return None
    if key == "cluster" and kind == "device":
        return None
    return RELATED_FILTERS[key]


def _regions(sim: NetBoxSim, obj: dict[str, Any]) -> list[dict[str, Any]]:
    """The region of a host's site and every region above it (nearest first): what
    NetBox's TreeNodeMultipleChoiceFilter matches a region and its descendants against."""
    site = sim.org["site"].get((obj.get("site") or {}).get("id"))
    ref, chain = (site or {}).get("region"), []
    while isinstance(ref, dict) and ref.get("id") in sim.org["region"]:
        if any(r["id"] == ref["id"] for r in chain):  # a cycle
            break
        chain.append(sim.org["region"][ref["id"]])
        ref = chain[-1].get("parent")
    return chain


def _related(sim: NetBoxSim, obj: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """The objects a host's ``field`` filters match: its site, tenant or cluster, or the
    regions its site is in (empty: none)."""
    if field == "region":
        return _regions(sim, obj)
    ref = obj.get(field)
    return [ref] if isinstance(ref, dict) else []


def _choices(sim: NetBoxSim, kind: str, key: str) -> set[str] | None:
    """The values NetBox accepts for the list filter ``key`` on ``kind`` (those of objects it
    has), or None where it checks none."""
    related = _related_filter(kind, key)
    if related:
        field, attr = related
        objs = list(sim.org[field].values())
        if field != "region":
            objs += [h[field] for k in HOSTS for h in sim.objects[k].values() if h.get(field)]
        return {str(o.get(attr)) for o in objs}
    if key in ("tag", "tag_id"):
        return {str(t["slug" if key == "tag" else "id"]) for t in sim.tag_list()}
    if key == "status" and kind in HOSTS:
        statuses = set(STATUS_LABELS)
        return statuses if kind == "device" else (statuses - {"inventory"}) | {"paused"}
    return None


def _invalid(sim: NetBoxSim, kind: str, params: dict[str, list[str]]) -> dict[str, list[str]]:
    """NetBox's 400 body for list filters naming what it does not have (django-filter's
    model and choice fields), or {} when every filter is valid."""
    for key, values in params.items():
        choices = _choices(sim, kind, key)
        if choices is None:
            continue
        if key.endswith("_id"):
            for value in values:
                if value != NULL and not value.isdigit():
                    return {key: [f"\u201c{value}\u201d is not a valid value."]}
        for value in values:
            if value != NULL and value not in choices:
                return {
                    key: [f"Select a valid choice. {value} is not one of the available choices."]
                }
    return {}


def _matches(sim: NetBoxSim, kind: str, obj: dict[str, Any], params: dict[str, list[str]]) -> bool:
    """Whether ``obj`` passes the list filters, as NetBox 4.4's filter sets apply them: a
    repeated parameter matches any of its values, except ``tag``/``tag_id`` (all of them)."""
    for key, values in params.items():
        if key in ("limit", "offset", "brief", "ordering", "exclude", "fields"):
            continue
        related = _related_filter(kind, key)
        if related:
            field, attr = related
            found = _related(sim, obj, field)
            ok = any(str(o.get(attr)) in values for o in found) or (NULL in values and not found)
        elif key == "id":
            ok = str(obj["id"]) in values
        elif key == "name":
            if kind == "virtualmachine":  # NetBox: name__iexact
                ok = (obj.get("name") or "").lower() in {v.lower() for v in values}
            else:
                ok = obj.get("name") in values
        elif key == "device_id":
            if kind == "ipaddress":
                ok = (
                    obj["assigned_object_type"] == "dcim.interface"
                    and str(obj["assigned_object"]["device"]["id"]) in values
                )
            else:
                ok = str((obj.get("device") or {}).get("id")) in values
        elif key == "virtual_machine_id":
            if kind == "ipaddress":
                ok = (
                    obj["assigned_object_type"] == "virtualization.vminterface"
                    and str(obj["assigned_object"]["virtual_machine"]["id"]) in values
                )
            else:
                ok = str((obj.get("virtual_machine") or {}).get("id")) in values
        elif key in ("interface_id", "vminterface_id"):
            want = "dcim.interface" if key == "interface_id" else "virtualization.vminterface"
            ok = (
                obj.get("assigned_object_type") == want and str(obj["assigned_object_id"]) in values
            )
        elif key == "assigned_object_type":
            ok = obj.get("assigned_object_type") in values
        elif key == "status":
            ok = (obj.get("status") or {}).get("value") in values
        elif key in ("tag", "tag_id"):  # NetBox's TagFilter is conjoined: every tag given
            attr = "slug" if key == "tag" else "id"
            has = {str(t[attr]) for t in obj.get("tags") or ()}
            ok = all(v in has if v != NULL else not has for v in values)
        else:
            ok = True  # filters NetBox has and the service does not use
        if not ok:
            return False
    return True


#: NetBox's brief representations (``?brief=1``): fields by what is listed.
BRIEF = (
    "id",
    "url",
    "display",
    "name",
    "address",
    "family",
    "description",
    "device",
    "virtual_machine",
)
ORG_BRIEF = ("id", "url", "display", "name", "slug", "description", "_depth")
TAG_BRIEF = ("id", "url", "display", "name", "slug", "color", "description")


def _brief(rep: dict[str, Any], keys: tuple[str, ...] = BRIEF) -> dict[str, Any]:
    return {k: rep[k] for k in keys if k in rep}


@dataclass
class TokenScope:
    """What one API token may see, as NetBox's object permissions would allow.

    Parameters:
      sites: site slugs whose devices and VMs (with their interfaces and IP addresses) the
        token may view; None for every site. Other objects answer 404, and lists leave
        them out, as NetBox does for objects a token may not view.
      changelog: whether the token holds ``core.view_objectchange`` (403 otherwise).
    """

    sites: tuple[str, ...] | None = None
    changelog: bool = True


class SimServer:
    """Runs :class:`NetBoxSim` behind HTTP on loopback.

    Parameters:
      port: 0 picks a free one (``url`` tells which).
      token: the API token the REST API accepts (``Authorization: Token <token>``); it sees
        everything until :meth:`restrict` says otherwise.
      webhook_url, webhook_secret, sender_threads: where and how webhooks go.
      version: the NetBox whose webhook bodies it sends ("4.4", or "4.6" with ``request``).
    """

    def __init__(
        self,
        port: int = 0,
        token: str = "0123456789abcdef0123456789abcdef01234567",
        webhook_url: str | None = None,
        webhook_secret: str | None = "test-secret",
        sender_threads: int = 1,
        version: str = "4.4",
    ) -> None:
        self.token = token
        self.scopes: dict[str, TokenScope] = {token: TokenScope()}
        self.sender = WebhookSender(webhook_url, webhook_secret, sender_threads)
        self.sim = NetBoxSim(emit=self.sender, version=version)
        #: REST GET requests answered, by path (each page of a list counts).
        self.requests: Counter[str] = Counter()
        handler = type("Handler", (_Handler,), {"server_ref": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def restrict(
        self, token: str | None = None, *, sites: list[str] | None = None, changelog: bool = True
    ) -> None:
        """Give ``token`` (default: the main one) the permissions of a NetBox administrator's
        choosing: only ``sites`` (None: all), and the change log or not."""
        self.scopes[token or self.token] = TokenScope(
            tuple(sites) if sites is not None else None, changelog
        )

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.sender.close()


class _Handler(BaseHTTPRequestHandler):
    server_ref: SimServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, a kept-alive client's delayed
    # ACK holds the body back some 40 ms (Nagle), which NetBox behind a real server does not.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- stdlib signature
        pass

    def _send(self, status: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("API-Version", "4.4")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _authorised(self) -> TokenScope | None:
        header = self.headers.get("Authorization")
        if not header:
            self._send(403, {"detail": "Authentication credentials were not provided."})
            return None
        scheme, _, value = header.partition(" ")
        scope = self.server_ref.scopes.get(value.strip())
        if scheme not in ("Token", "Bearer") or scope is None:
            self._send(403, {"detail": "Invalid token"})
            return None
        return scope

    def do_GET(self) -> None:  # noqa: N802 -- stdlib name
        parts = urlsplit(self.path)
        params = parse_qs(parts.query)
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        if path.startswith("/api/"):
            with self.server_ref.sim.lock:
                self.server_ref.requests[path] += 1
        if path == "/api/status/":
            self._send(200, STATUS)
            return
        if path == "/_sim/stats/":
            sender = self.server_ref.sender
            counts = {k: len(v) for k, v in self.server_ref.sim.objects.items()}
            self._send(
                200,
                {
                    "objects": counts,
                    "webhooks_sent": sender.sent,
                    "webhooks_failed": sender.failed,
                    "requests": dict(self.server_ref.requests),
                },
            )
            return
        if not path.startswith("/api/"):
            self._send(404, {"detail": "Not found."})
            return
        scope = self._authorised()
        if scope is None:
            return
        if path == CHANGES_PATH:
            self._changes(scope, params)
            return
        if path.startswith(TAGS_PATH):
            self._tags(path[len(TAGS_PATH) :].rstrip("/"), params)
            return
        for kind, (prefix, _, _) in ORG_KINDS.items():
            if path.startswith(prefix):
                self._org(kind, prefix, path[len(prefix) :].rstrip("/"), params)
                return
        for prefix, (kind, label) in ROUTES.items():
            if path == prefix:
                self._list(kind, params, scope)
                return
            if path.startswith(prefix) and path[len(prefix) :].rstrip("/").isdigit():
                self._detail(kind, label, int(path[len(prefix) :].rstrip("/")), params, scope)
                return
        self._send(404, {"detail": "Not found."})

    def _base(self) -> str:
        return f"http://{self.headers.get('Host') or self.server_ref.url[7:]}"

    def _visible(self, kind: str, obj: dict[str, Any], scope: TokenScope) -> bool:
        return scope.sites is None or self.server_ref.sim.site_of(kind, obj) in scope.sites

    def _list(self, kind: str, params: dict[str, list[str]], scope: TokenScope) -> None:
        sim = self.server_ref.sim
        with sim.lock:
            invalid = _invalid(sim, kind, params)
            if invalid:
                self._send(400, invalid)
                return
            found = [
                o
                for _, o in sorted(sim.objects[kind].items())
                if _matches(sim, kind, o, params) and self._visible(kind, o, scope)
            ]
        self._page(found, params, KINDS[kind][2], lambda o, base: sim.rest(kind, o, base))

    def _org(self, kind: str, prefix: str, rest: str, params: dict[str, list[str]]) -> None:
        """Regions, sites, tenants ... (every token may view them here): a list filtered by
        ``id``, ``slug``, ``name`` or ``parent_id`` as NetBox's filter sets do (a repeated
        parameter matches any of its values), or one by id."""
        sim = self.server_ref.sim
        if rest:
            with sim.lock:
                obj = sim.org[kind].get(int(rest)) if rest.isdigit() else None
                rep = sim.rest(kind, obj, self._base()) if obj else None
            if rep is None:
                self._send(404, {"detail": "No object matches the given query."})
            else:
                self._send(200, rep)
            return
        filters = {
            "id": lambda o: str(o["id"]),
            "slug": lambda o: o.get("slug"),
            "name": lambda o: o.get("name"),
            "parent_id": lambda o: str((o.get("parent") or {}).get("id")),
        }
        with sim.lock:
            found = [
                o
                for _, o in sorted(sim.org[kind].items())
                if all(f(o) in params[k] for k, f in filters.items() if k in params)
            ]
        self._page(found, params, prefix, lambda o, base: sim.rest(kind, o, base), ORG_BRIEF)

    def _tags(self, rest: str, params: dict[str, list[str]]) -> None:
        """``/api/extras/tags/`` (every token may view them here): the tags added and those in
        use, filtered by ``id``, ``name`` or ``slug`` (a repeated parameter matches any of its
        values), or one by id."""
        sim = self.server_ref.sim
        with sim.lock:
            tags = sim.tag_list()
            base = self._base()
        if rest:
            found = [t for t in tags if rest.isdigit() and t["id"] == int(rest)]
            if not found:
                self._send(404, {"detail": "No Tag matches the given query."})
            elif params.get("brief", ["false"])[0].lower() in ("1", "true", "yes"):
                self._send(200, _brief(sim.rest("tag", found[0], base), TAG_BRIEF))
            else:
                self._send(200, sim.rest("tag", found[0], base))
            return
        filters = {"id": "id", "name": "name", "slug": "slug"}
        found = [
            t
            for t in tags
            if all(str(t[f]) in params[k] for k, f in filters.items() if k in params)
        ]
        self._page(found, params, TAGS_PATH, lambda t, base: sim.rest("tag", t, base), TAG_BRIEF)

    def _changes(self, scope: TokenScope, params: dict[str, list[str]]) -> None:
        """``/api/core/object-changes/``, filtered like NetBox's ObjectChangeFilterSet."""
        if not scope.changelog:
            self._send(403, {"detail": "You do not have permission to perform this action."})
            return
        filters = {
            "changed_object_type": lambda c, v: c["changed_object_type"] in v,
            "changed_object_id": lambda c, v: str(c["changed_object_id"]) in v,
            "action": lambda c, v: c["action"]["value"] in v,
            "request_id": lambda c, v: c["request_id"] in v,
        }
        with self.server_ref.sim.lock:
            found = [
                c
                for c in self.server_ref.sim.changes
                if all(f(c, params[k]) for k, f in filters.items() if k in params)
            ]
        self._page(found, params, CHANGES_PATH, lambda c, base: copy.deepcopy(c))

    def _page(
        self,
        found: list,
        params: dict[str, list[str]],
        path: str,
        render: Any,
        brief: tuple[str, ...] = BRIEF,
    ) -> None:
        """One page of ``found``, NetBox-style (count, next, previous, results)."""
        with self.server_ref.sim.lock:
            try:
                limit = int(params.get("limit", [PAGE_SIZE])[0])
                offset = int(params.get("offset", [0])[0])
            except ValueError:
                self._send(400, {"detail": "limit and offset must be integers"})
                return
            limit = MAX_PAGE_SIZE if limit <= 0 else min(limit, MAX_PAGE_SIZE)
            page = found[offset : offset + limit]
            base = self._base()
            results = [render(o, base) for o in page]
        if params.get("brief", ["false"])[0].lower() in ("1", "true", "yes"):
            results = [_brief(r, brief) for r in results]

        def link(new_offset: int) -> str:
            query = {k: v for k, v in params.items() if k not in ("limit", "offset")}
            extra = "".join(f"&{k}={v}" for k, vs in query.items() for v in vs)
            return f"{base}{path}?limit={limit}&offset={new_offset}{extra}"

        self._send(
            200,
            {
                "count": len(found),
                "next": link(offset + limit) if offset + limit < len(found) else None,
                "previous": link(max(0, offset - limit)) if offset > 0 else None,
                "results": results,
            },
        )

    def _detail(
        self, kind: str, label: str, obj_id: int, params: dict[str, list[str]], scope: TokenScope
    ) -> None:
        sim = self.server_ref.sim
        with sim.lock:
            obj = sim.objects[kind].get(obj_id)
            visible = obj is not None and self._visible(kind, obj, scope)
            rep = sim.rest(kind, obj, self._base()) if visible else None
        if rep is None:
            self._send(404, {"detail": f"No {label} matches the given query."})
        else:
            self._send(200, _brief(rep) if params.get("brief") else rep)

    # -- control API ---------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 -- stdlib name
        self._control("POST")

    def do_PATCH(self) -> None:  # noqa: N802 -- stdlib name
        self._control("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802 -- stdlib name
        self._control("DELETE")

    def _control(self, method: str) -> None:
        sim = self.server_ref.sim
        parts = [p for p in urlsplit(self.path).path.split("/") if p]
        if method == "PATCH" and parts == ["_sim", "webhooks"]:
            # As when NetBox fails to deliver: changes are made and logged, nothing is sent.
            deliver = bool(self._body().get("deliver", True))
            self.server_ref.sender.dropped = lambda _body: not deliver
            self._send(200, {"deliver": deliver})
            return
        if len(parts) < 2 or parts[0] != "_sim" or parts[1] not in ("devices", "vms"):
            self._send(404, {"detail": "Not found."})
            return
        kind = "device" if parts[1] == "devices" else "virtualmachine"
        try:
            body = self._body()
            if method == "POST" and len(parts) == 2:
                ids = self._create(kind, body)
                self._send(201, {"ids": ids})
            elif method == "PATCH" and len(parts) == 2:
                request_id = sim.bulk_update(kind, [int(i) for i in body.pop("ids")], **body)
                self._send(200, {"request_id": request_id})
            elif method == "PATCH" and len(parts) == 3:
                sim.update_host(kind, int(parts[2]), **body)
                self._send(200, {"id": int(parts[2])})
            elif method == "DELETE" and len(parts) == 3:
                sim.delete_host(kind, int(parts[2]))
                self._send(200, {"deleted": int(parts[2])})
            else:
                self._send(405, {"detail": f"{method} is not allowed here"})
        except LookupError as exc:
            self._send(404, {"detail": str(exc)})
        except (ValueError, KeyError, TypeError) as exc:
            self._send(400, {"detail": f"bad request: {exc}"})

    def _create(self, kind: str, body: dict[str, Any]) -> list[int]:
        sim = self.server_ref.sim
        count = int(body.get("count", 1))
        prefix = body.get("prefix", "dev" if kind == "device" else "vm")
        start = len(sim.objects[kind]) + 1
        ids = []
        for n in range(start, start + count):
            ip = (
                f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/8"
                if body.get("ip", True)
                else None
            )
            create = sim.create_device if kind == "device" else sim.create_vm
            ids.append(
                create(
                    f"{prefix}-{n:05d}",
                    status=body.get("status", "active"),
                    tags=body.get("tags"),
                    ip=ip,
                )
            )
        return ids
