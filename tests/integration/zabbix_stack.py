"""The whole service against real Zabbix: simulator -> web (real HTTP) -> RabbitMQ -> worker
-> Zabbix; the ``stack`` fixture (tests/integration/conftest.py) and helpers to read hosts."""

#: The tables of the Zabbix mirrors (ImportZabbixSettings).
MIRRORS = ("zabbix_templates", "zabbix_host_groups", "zabbix_proxies", "zabbix_proxy_groups")


def host_get(zabbix, **filters):
    params = {
        "output": ["hostid", "host", "name", "status"],
        "selectInterfaces": ["type", "ip", "dns", "port"],
        "selectParentTemplates": ["host"],
        "selectTags": ["tag", "value"],
        "selectInventory": ["serialno_a", "vendor", "location"],
        zabbix.dialect.group_select: ["name"],
        "filter": filters,
    }
    return zabbix.call("host.get", params)


def one_host(zabbix, name):
    """The host whose visible name is ``name``, or None."""
    found = host_get(zabbix, name=[name])
    return found[0] if found else None


def tags(host):
    return {(t["tag"], t["value"]) for t in host["tags"]}
