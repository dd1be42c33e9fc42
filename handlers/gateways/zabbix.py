"""The Zabbix gateway: the only code that talks to the Zabbix API.

One authenticated client per process (API token preferred), the version read once, and a
per-method call counter that tests and benchmarks read (and the Prometheus counters of
:mod:`handlers.metrics`, which add up every client of every process).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import requests
from pyzabbix import ZabbixAPI, ZabbixAPIException

from handlers.config import redact_url
from handlers.gateways.http import VerifiedSession
from handlers.gateways.zabbix_dialect import Dialect
from handlers.metrics import ZABBIX_CALLS, ZABBIX_ERRORS

#: Seconds a readiness probe waits for the Zabbix API.
PROBE_TIMEOUT_S = 3.0
#: Seconds an ordinary API call may take (template-linking host.create can be slow).
CALL_TIMEOUT_S = 60.0


class ZabbixUnavailable(RuntimeError):
    """The Zabbix API did not answer, or answered with something that is not the API."""


def _unavailable(url: str, exc: Exception) -> ZabbixUnavailable:
    """The error of an API that did not answer; the URL without any password in it."""
    if isinstance(exc, requests.exceptions.SSLError):
        return ZabbixUnavailable(
            f"Zabbix API at {redact_url(url)}: its TLS certificate was refused ({exc}); "
            "give the CA that signed it in NZC_CA_BUNDLE (or, insecurely, NZC_TLS_VERIFY=0)"
        )
    return ZabbixUnavailable(f"Zabbix API at {redact_url(url)} did not answer: {exc}")


def probe_version(url: str, timeout: float = PROBE_TIMEOUT_S, verify: bool | str = True) -> str:
    """The API version of the frontend at ``url`` (an anonymous ``apiinfo.version`` call);
    ``verify`` as ``requests`` takes it (``Config.tls_verify``)."""
    try:
        resp = requests.post(
            url,
            json={"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1},
            headers={"Content-Type": "application/json-rpc"},
            timeout=timeout,
            verify=verify,
        )
        resp.raise_for_status()
        return str(resp.json()["result"])
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise _unavailable(url, exc) from exc


#: Seconds a process reuses the ids of host groups, templates, proxies and proxy groups it
#: read (a write Zabbix refuses forgets them at once).
IDS_TTL_S = 60.0


class IdCache:
    """Names Zabbix has, with their ids, as one process last read them: reconcile runs
    reuse them for :data:`IDS_TTL_S` seconds instead of four lookups a run. A name found
    absent is remembered only when asked (host groups: creating one that exists meanwhile
    reads its id); a template is looked up again until it exists.

    Parameters:
      ttl: seconds an id is reused.
    """

    def __init__(self, ttl: float = IDS_TTL_S) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._ids: dict[tuple[str, str], tuple[str | None, float]] = {}
        self._whole: dict[str, tuple[dict[str, str], float]] = {}

    def get(self, kind: str, names: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
        """(name -> id of those known and fresh, the names to look up); names remembered
        absent are in neither."""
        now, found, missing = time.monotonic(), {}, []
        with self._lock:
            for name in names:
                entry = self._ids.get((kind, name))
                if not entry or now - entry[1] >= self.ttl:
                    missing.append(name)
                elif entry[0] is not None:
                    found[name] = entry[0]
        return found, missing

    def put(self, kind: str, ids: dict[str, str | None]) -> None:
        """Remember ids (None: the name is absent)."""
        now = time.monotonic()
        with self._lock:
            self._ids.update({(kind, name): (i, now) for name, i in ids.items()})

    def whole(self, kind: str) -> dict[str, str] | None:
        """A map read whole (every proxy), if fresh."""
        with self._lock:
            entry = self._whole.get(kind)
        return entry[0] if entry and time.monotonic() - entry[1] < self.ttl else None

    def put_whole(self, kind: str, ids: dict[str, str]) -> None:
        with self._lock:
            self._whole[kind] = (dict(ids), time.monotonic())

    def forget(self) -> None:
        with self._lock:
            self._ids.clear()
            self._whole.clear()


class ZabbixGateway:
    """An authenticated Zabbix API client.

    Parameters:
      url: the ``api_jsonrpc.php`` URL.
      token: an API token (preferred); or ``user`` and ``password``.
      verify: how its TLS certificate is checked (``Config.tls_verify``).

    Example::

        zbx = ZabbixGateway("http://127.0.0.1:8070/api_jsonrpc.php", token="...")
        zbx.call("host.get", {"output": ["hostid"], "limit": 1})
        zbx.calls["host.get"]  # 1
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        user: str | None = None,
        password: str | None = None,
        timeout: float = CALL_TIMEOUT_S,
        verify: bool | str = True,
    ) -> None:
        if not token and not (user and password):
            raise ValueError("ZabbixGateway needs an API token or a user and password")
        self.url = url
        self._api = ZabbixAPI(url, session=VerifiedSession(verify), timeout=timeout)
        try:
            if token:
                self._api.login(api_token=token)
            else:
                self._api.login(user=user, password=password)
            version = str(self._api.version)
        except requests.RequestException as exc:
            raise _unavailable(url, exc) from exc
        #: Zabbix API calls made, by method name.
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        major, minor = (int(p) for p in version.split(".")[:2])
        #: (major, minor), read once at login.
        self.version: tuple[int, int] = (major, minor)
        #: The one place that knows this version's differences.
        self.dialect = Dialect(self.version)
        #: Ids of names this process read lately (reconcile runs).
        self.ids = IdCache()

    def call(self, method: str, params: Any = None) -> Any:
        """Call ``method`` with ``params`` and return its ``result``; counts the call, and
        the failure if it fails."""
        with self._lock:
            self.calls[method] += 1
        ZABBIX_CALLS.labels(method).inc()
        try:
            return self._api.do_request(method, params)["result"]
        except requests.RequestException as exc:
            ZABBIX_ERRORS.labels(method).inc()
            raise _unavailable(self.url, exc) from exc
        except ZabbixAPIException:
            ZABBIX_ERRORS.labels(method).inc()
            raise


__all__ = ["IdCache", "ZabbixAPIException", "ZabbixGateway", "ZabbixUnavailable", "probe_version"]
