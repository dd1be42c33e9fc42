"""The per-process runtime: configuration, store, broker and the gateways' clients, set once
when the process is wired (``consumer.wiring.setup``) and read by jobs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import dramatiq

from handlers.config import Config, require_zabbix
from handlers.gateways.postgres import Store


@dataclass
class Runtime:
    """What jobs and the web edge share inside one process.

    Parameters:
      config: the validated configuration.
      store: the Postgres gateway.
      broker: the Dramatiq broker actors are bound to.
    """

    config: Config
    store: Store
    broker: dramatiq.Broker
    _gateways: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def zabbix(self) -> Any:
        """The process's one authenticated Zabbix client (logs in on first use)."""
        from handlers.gateways.zabbix import ZabbixGateway

        with self._lock:
            if "zabbix" not in self._gateways:
                c = self.config
                require_zabbix(c)
                self._gateways["zabbix"] = ZabbixGateway(
                    c.zabbix_url,
                    token=c.zabbix_token,
                    user=c.zabbix_user,
                    password=c.zabbix_password,
                    verify=c.tls_verify,
                )
            return self._gateways["zabbix"]

    @property
    def netbox(self) -> Any:
        """The process's NetBox client."""
        from handlers.gateways.netbox import NetBoxGateway

        with self._lock:
            if "netbox" not in self._gateways:
                self._gateways["netbox"] = NetBoxGateway(
                    self.config.netbox_url, self.config.netbox_token, self.config.tls_verify
                )
            return self._gateways["netbox"]


_current: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def get_runtime() -> Runtime:
    """The process runtime; raises when the process was not wired with ``consumer.wiring.setup``."""
    if _current is None:
        raise RuntimeError(
            "the process is not wired: call consumer.wiring.setup(config) before running jobs"
        )
    return _current
