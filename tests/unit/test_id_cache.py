"""The ids a process reuses between reconcile runs: fresh ones only, absent names only
when asked, all forgotten at once."""

from handlers.gateways.zabbix import IdCache


def test_fresh_ids_are_reused_and_stale_ones_looked_up_again():
    cache = IdCache(ttl=60)
    cache.put("template.get", {"ICMP Ping": "10564"})
    assert cache.get("template.get", ("ICMP Ping", "Linux")) == ({"ICMP Ping": "10564"}, ["Linux"])
    stale = IdCache(ttl=0)
    stale.put("template.get", {"ICMP Ping": "10564"})
    assert stale.get("template.get", ("ICMP Ping",)) == ({}, ["ICMP Ping"])


def test_a_name_remembered_absent_is_neither_found_nor_looked_up():
    cache = IdCache()
    cache.put("hostgroup.get", {"NetBox graveyard": None, "Linux": "7"})
    assert cache.get("hostgroup.get", ("NetBox graveyard", "Linux")) == ({"Linux": "7"}, [])


def test_forget_drops_everything():
    cache = IdCache()
    cache.put("hostgroup.get", {"Linux": "7"})
    cache.put_whole("proxies", {"p1": "1"})
    cache.forget()
    assert cache.get("hostgroup.get", ("Linux",)) == ({}, ["Linux"])
    assert cache.whole("proxies") is None
