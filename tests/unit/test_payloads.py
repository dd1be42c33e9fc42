"""Zabbix payloads and the payloads that undo them (compensation), as pure functions."""

from handlers.decide.desired import build_desired
from handlers.decide.host_state import Ids
from handlers.decide.payloads import (
    interfaces_with_ids,
    item_moves,
    undo_update_payload,
    update_payload,
)
from handlers.gateways.zabbix_dialect import Dialect
from tests.unit.objects import SETTINGS, actual_from, api, mapping

Z70 = Dialect((7, 0))
IDS = Ids(groups={"NetBox devices": "5"}, templates={"ICMP Ping": "7"})


def desired(**rule):
    obj = api("device_sw-core-01_final.json")
    obj["custom_fields"] = {}
    ips = api("device_ip-addresses_sw-core-01_final.json")["results"]
    return build_desired("dcim.device:1", obj, ips, mapping(**rule), SETTINGS)


def test_undoing_an_update_that_adds_an_interface_keeps_only_the_ones_the_host_had():
    agent_only = desired()
    both = desired(interface_types=["agent", "snmpv2c"])
    actual = actual_from(agent_only)
    (agent,) = actual.interfaces
    sent = interfaces_with_ids(both.interfaces, actual.interfaces)
    assert [("interfaceid" in i, i["type"]) for i in sent] == [(True, 1), (False, 2)]
    changes = {"interfaces": both.interfaces}
    assert update_payload(Z70, actual, changes, both, IDS, sent)["interfaces"] == sent
    undo = undo_update_payload(Z70, actual, changes, IDS, sent)
    assert undo["interfaces"] == [
        {k: agent[k] for k in ("interfaceid", "type", "main", "useip", "ip", "dns", "port")}
    ]


def test_undoing_an_update_that_dropped_an_interface_recreates_it_without_its_id():
    agent_only = desired()
    actual = actual_from(desired(interface_types=["agent", "snmpv2c"]))
    sent = interfaces_with_ids(agent_only.interfaces, actual.interfaces)
    undo = undo_update_payload(Z70, actual, {"interfaces": agent_only.interfaces}, IDS, sent)
    assert [("interfaceid" in i, int(i["type"])) for i in undo["interfaces"]] == [
        (True, 1),
        (False, 2),
    ]


def test_undoing_an_inventory_update_empties_the_fields_it_filled_in():
    wanted = desired()
    actual = actual_from(wanted, inventory={"name": "old-name"})
    changes = {"inventory": {"name": "sw-core-01", "serialno_a": "FOC1"}}
    assert (
        update_payload(Z70, actual, changes, wanted, IDS, [])["inventory"] == (changes["inventory"])
    )
    undo = undo_update_payload(Z70, actual, changes, IDS, None)
    assert undo["inventory"] == {"name": "old-name", "serialno_a": ""}


def test_undoing_a_rename_and_a_template_swap_puts_back_the_old_ones():
    wanted = desired()
    actual = actual_from(
        wanted, host="old", name="old", templates=("Old",), template_ids={"Old": "8"}
    )
    changes = {
        "host": wanted.host,
        "name": wanted.name,
        "templates": wanted.templates,
        "templates_clear": ("Old",),
    }
    sent = update_payload(Z70, actual, changes, wanted, IDS, [])
    assert sent["templates_clear"] == [{"templateid": "8"}]
    undo = undo_update_payload(Z70, actual, changes, IDS, None)
    assert (undo["host"], undo["name"]) == ("old", "old")
    assert undo["templates"] == [{"templateid": "8"}]
    assert undo["templates_clear"] == [{"templateid": "7"}]


def test_only_items_that_work_through_any_interface_move_and_can_move_back():
    linked = [
        {"itemid": "1", "type": "3", "interfaceid": "10"},  # simple check (ICMP ping)
        {"itemid": "2", "type": "0", "interfaceid": "10"},  # Zabbix agent: cannot move
        {"itemid": "3", "type": "19", "interfaceid": "11"},  # HTTP agent
    ]
    moves, back = item_moves(linked, "20")
    assert moves == [{"itemid": "1", "interfaceid": "20"}, {"itemid": "3", "interfaceid": "20"}]
    assert back == [{"itemid": "1", "interfaceid": "10"}, {"itemid": "3", "interfaceid": "11"}]
