"""What the unit tests of pure functions build on: the settings row, the captured NetBox
representations (tests/fixtures/api) and mapping rows as Postgres returns them."""

import json
from dataclasses import replace
from pathlib import Path

from handlers.decide.host_state import ActualHost

API = Path(__file__).parent.parent / "fixtures" / "api"
SETTINGS = {
    "monitored_statuses": ["active"],
    "disabled_statuses": ["offline", "planned"],
    "removed_statuses": ["decommissioning"],
    "delete_mode": "soft",
    "graveyard_group": "NetBox graveyard",
    "archived_suffix": " (archived)",
    "agent_port": 10050,
    "snmp_port": 161,
    "snmp_community": "{$SNMP_COMMUNITY}",
    "snmpv3_securityname": "{$SNMPV3_SECURITYNAME}",
    "snmpv3_securitylevel": "authPriv",
    "snmpv3_authprotocol": "SHA256",
    "snmpv3_authpassphrase": "{$SNMPV3_AUTHPASS}",
    "snmpv3_privprotocol": "AES256",
    "snmpv3_privpassphrase": "{$SNMPV3_PRIVPASS}",
    "inventory_mode": "manual",
    "tag_prefix": "netbox-",
    "tag_name_format": "keep",
    "no_primary_ip": "disable",
    "keep_foreign_templates": True,
    "keep_foreign_groups": True,
    "delete_during_maintenance": False,
}


def api(name):
    """The body of a captured NetBox API answer (a fresh copy each call)."""
    return json.loads((API / name).read_text())["body"]


def mapping(id=1, *, default=False, **kw):
    """A mapping row; the shipped defaults unless ``kw`` says otherwise."""
    row = {
        "id": id,
        "name": f"mapping {id}",
        "object_type": "dcim.device",
        "is_default": default,
        "sites": [],
        "roles": [],
        "platforms": [],
        "tags": [],
        "templates": ["ICMP Ping"],
        "host_groups": ["NetBox devices"],
        "proxy": None,
        "proxy_group": None,
        "interface_types": ["agent"],
    }
    row.update(kw)
    return row


def actual_from(desired, hostid="10001", **changes):
    """The host Zabbix has for ``desired``, in step (values as host.get returns them, with
    interface ids ``<hostid>01``, ...), then ``changes``."""
    interfaces = tuple(
        {
            **i,
            "interfaceid": f"{hostid}{n:02d}",
            "type": str(i["type"]),
            "main": str(i["main"]),
            "useip": str(i["useip"]),
            "details": {k: str(v) for k, v in i["details"].items()} or [],
        }
        for n, i in enumerate(desired.interfaces, 1)
    )
    host = ActualHost(
        hostid=hostid,
        host=desired.host,
        name=desired.name,
        status=desired.status,
        groups=desired.groups,
        templates=desired.templates,
        proxy=desired.proxy,
        proxy_group=desired.proxy_group,
        interfaces=interfaces,
        tags=desired.tags,
        macros=desired.macros,
        inventory_mode=desired.inventory_mode,
        inventory=dict(desired.inventory),
        description=desired.description,
        group_ids={g: f"g-{g}" for g in desired.groups},
        template_ids={t: f"t-{t}" for t in desired.templates},
    )
    return replace(host, **changes)
