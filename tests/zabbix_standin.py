"""A strict stand-in for Zabbix 7.2 and 7.4, in front of the real 7.0 frontend.

No Zabbix newer than the 7.0 line can be installed here (Debian carries 7.0 only), so this
JSON-RPC proxy of the tests' own answers ``apiinfo.version`` as 7.2.x or 7.4.x, so the
service picks its 7.2+ dialect, and refuses with an error shaped like Zabbix's every
parameter those versions removed; everything else goes to the real 7.0, whose validation
rules are the same for what remains.

Each rule names the changelog entry it comes from (Zabbix manual, API, "Appendix 2.
Changes from 7.0 to 7.2", backward incompatible changes). The 7.2 -> 7.4 appendix lists
no backward-incompatible change to the methods the service calls, so 7.4 keeps these rules.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

#: (method, parameter) removed in 7.2, with the changelog entry (all ZBXNEXT-9452).
REMOVED_PARAMETERS = {
    ("host.get", "selectGroups"): "ZBXNEXT-9452 host.get: removed deprecated selectGroups",
    ("hostgroup.get", "real_hosts"): "ZBXNEXT-9452 hostgroup.get: removed real_hosts",
    ("hostgroup.get", "monitored_hosts"): "ZBXNEXT-9452 hostgroup.get: removed monitored_hosts",
    ("maintenance.get", "selectGroups"): "ZBXNEXT-9452 maintenance.get: removed selectGroups",
    ("maintenance.create", "groupids"): "ZBXNEXT-9452 maintenance.create: removed groupids",
    ("maintenance.create", "hostids"): "ZBXNEXT-9452 maintenance.create: removed hostids",
    ("maintenance.update", "groupids"): "ZBXNEXT-9452 maintenance.update: removed groupids",
    ("maintenance.update", "hostids"): "ZBXNEXT-9452 maintenance.update: removed hostids",
}
#: Request properties removed in 7.2: "ZBXNEXT-9452 Removed support for deprecated
#: property auth" (the token goes in an ``Authorization: Bearer`` header).
REMOVED_PROPERTIES = ("auth",)


def refusal(request: dict[str, Any]) -> dict[str, Any] | None:
    """The error Zabbix 7.2+ would answer ``request`` with, or None to pass it on."""
    for key in REMOVED_PROPERTIES:
        if key in request:
            return _error(request, f'Invalid parameter "/": unexpected parameter "{key}".')
    params = request.get("params")
    objects = params if isinstance(params, list) else [params]
    for index, obj in enumerate(objects, 1):
        if not isinstance(obj, dict):
            continue
        for key in obj:
            if (request.get("method"), key) in REMOVED_PARAMETERS:
                where = f"/{index}" if isinstance(params, list) else "/"
                return _error(
                    request, f'Invalid parameter "{where}": unexpected parameter "{key}".'
                )
    return None


def _error(request: dict[str, Any], data: str) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "error": {"code": -32602, "message": "Invalid params.", "data": data},
        "id": request.get("id"),
    }


class StandIn:
    """The stand-in, listening on a loopback port of its own.

    Parameters:
      upstream: the real 7.0 ``api_jsonrpc.php`` URL.
      version: what ``apiinfo.version`` answers (``7.2.0``, ``7.4.0``).
    """

    def __init__(self, upstream: str, version: str) -> None:
        self.upstream = upstream
        self.version = version
        #: Requests refused, as (method, the error's data), for tests to read.
        self.refused: list[tuple[str, str]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 -- http.server's name
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stand_in.handle(self, raw)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}/api_jsonrpc.php"
        self._session = threading.local()
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def handle(self, handler: BaseHTTPRequestHandler, raw: bytes) -> None:
        try:
            request = json.loads(raw)
        except ValueError:
            request = None
        if isinstance(request, dict) and request.get("method") == "apiinfo.version":
            self._answer(handler, {"jsonrpc": "2.0", "result": self.version, "id": request["id"]})
            return
        error = refusal(request) if isinstance(request, dict) else None
        if error is not None:
            self.refused.append((request.get("method"), error["error"]["data"]))
            self._answer(handler, error)
            return
        headers = {
            k: v
            for k, v in handler.headers.items()
            if k.lower() in ("content-type", "authorization")
        }
        session = getattr(self._session, "s", None) or requests.Session()
        self._session.s = session
        resp = session.post(self.upstream, data=raw, headers=headers, timeout=120)
        handler.send_response(resp.status_code)
        handler.send_header("Content-Type", resp.headers.get("Content-Type", "application/json"))
        handler.send_header("Content-Length", str(len(resp.content)))
        handler.end_headers()
        handler.wfile.write(resp.content)

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
