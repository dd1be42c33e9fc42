"""The Zabbix gateway: the only code that talks to the Zabbix API.

One authenticated client per process (API token preferred), the version read once, and a
per-method call counter that tests and benchmarks read (and the Prometheus counters of
:mod:`handlers.metrics`, which add up every client of every process).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import requests
from pyzabbix import ZabbixAPI, ZabbixAPIException

from handlers.config import redact_url
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
    return ZabbixUnavailable(f"Zabbix API at {redact_url(url)} did not answer: {exc}")


def probe_version(url: str, timeout: float = PROBE_TIMEOUT_S) -> str:
    """The API version of the frontend at ``url`` (an anonymous ``apiinfo.version`` call)."""
    try:
        resp = requests.post(
            url,
            json={"jsonrpc": "2.0", "method": "apiinfo.version", "params": {}, "id": 1},
            headers={"Content-Type": "application/json-rpc"},
            timeout=timeout,
        )
        resp.raise_for_status()
        return str(resp.json()["result"])
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise _unavailable(url, exc) from exc


class ZabbixGateway:
    """An authenticated Zabbix API client.

    Parameters:
      url: the ``api_jsonrpc.php`` URL.
      token: an API token (preferred); or ``user`` and ``password``.

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
    ) -> None:
        if not token and not (user and password):
            raise ValueError("ZabbixGateway needs an API token or a user and password")
        self.url = url
        self._api = ZabbixAPI(url, timeout=timeout)
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


__all__ = ["ZabbixAPIException", "ZabbixGateway", "ZabbixUnavailable", "probe_version"]
