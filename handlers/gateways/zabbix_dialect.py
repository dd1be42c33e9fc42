"""Every difference between the Zabbix versions we support, in one place.

Seen on real frontends: 6.0 accepts 7.0's ``monitored_by``/``proxyid`` and ignores them,
and ignores ``selectHostGroups`` (returns no groups); 7.0 accepts 6.0's ``proxy_hostid``
and ignores it. So parameters are chosen by version, never tried and checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Zabbix ``monitored_by`` values (7.0+).
MONITORED_BY_SERVER, MONITORED_BY_PROXY, MONITORED_BY_PROXY_GROUP = 0, 1, 2


@dataclass(frozen=True)
class Dialect:
    """How to speak to one Zabbix version.

    Parameters:
      version: (major, minor) from ``apiinfo.version``.
    """

    version: tuple[int, int]

    @property
    def has_proxy_groups(self) -> bool:
        return self.version >= (7, 0)

    @property
    def group_select(self) -> str:
        """host.get option that returns host groups (6.2 renamed it)."""
        return "selectHostGroups" if self.version >= (6, 2) else "selectGroups"

    @property
    def group_key(self) -> str:
        """Key of the host groups in a host.get result."""
        return "hostgroups" if self.version >= (6, 2) else "groups"

    @property
    def proxy_name_field(self) -> str:
        return "name" if self.version >= (7, 0) else "host"

    @property
    def host_proxy_output(self) -> list[str]:
        if self.version >= (7, 0):
            return ["monitored_by", "proxyid", "proxy_groupid"]
        return ["proxy_hostid"]

    def monitoring_params(self, proxyid: str | None, proxy_groupid: str | None) -> dict[str, Any]:
        """host.create/update parameters that put a host on a proxy, a proxy group or the server."""
        if self.version >= (7, 0):
            if proxy_groupid:
                return {"monitored_by": MONITORED_BY_PROXY_GROUP, "proxy_groupid": proxy_groupid}
            if proxyid:
                return {"monitored_by": MONITORED_BY_PROXY, "proxyid": proxyid}
            return {"monitored_by": MONITORED_BY_SERVER}
        if proxy_groupid:
            raise ValueError(f"Zabbix {self.version_text} has no proxy groups (7.0 and later)")
        return {"proxy_hostid": proxyid or "0"}

    def monitoring_of(self, host: dict[str, Any]) -> tuple[str | None, str | None]:
        """(proxyid, proxy_groupid) of a host.get result; None for "not set"."""
        if self.version >= (7, 0):
            by = int(host.get("monitored_by", 0))
            proxyid = host.get("proxyid") if by == MONITORED_BY_PROXY else None
            groupid = host.get("proxy_groupid") if by == MONITORED_BY_PROXY_GROUP else None
            return proxyid, groupid
        proxyid = host.get("proxy_hostid")
        return (proxyid if proxyid and proxyid != "0" else None), None

    def maintenance_members(self, hostids: list[str], groupids: list[str]) -> dict[str, Any]:
        """maintenance.create/update parameters naming its hosts and host groups: objects
        from 7.0 (7.2 removed the id lists, which 6.0 documents)."""
        if self.version >= (7, 0):
            return {
                "hosts": [{"hostid": h} for h in hostids],
                "groups": [{"groupid": g} for g in groupids],
            }
        return {"hostids": hostids, "groupids": groupids}

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"
