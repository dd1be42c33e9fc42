"""What an import of Zabbix's settings changes in the mirrors, as pure functions."""

from handlers.decide.mirror import (
    interface_kinds,
    interface_problem,
    mirror_changes,
    misconfigurations,
    missing,
    refusal,
    unknown_names,
)


def test_templates_need_the_interfaces_their_items_use():
    items = [
        {"hostid": "1", "type": "0"},  # Zabbix agent
        {"hostid": "1", "type": "7"},  # active agent: no interface
        {"hostid": "2", "type": "20"},  # SNMP
        {"hostid": "2", "type": "3"},  # simple check: any
        {"hostid": "3", "type": "3"},
    ]
    assert interface_kinds(items) == {"1": ["agent"], "2": ["snmp"]}


def test_only_new_and_changed_rows_are_written_and_gone_ones_removed():
    current = {"host_groups": {"1": {"id": "1", "name": "A"}, "2": {"id": "2", "name": "B"}}}
    found = {"host_groups": [{"id": "1", "name": "A"}, {"id": "3", "name": "C"}]}
    changes = mirror_changes(current, found)
    assert changes.upserts["host_groups"] == [{"id": "3", "name": "C"}]
    assert changes.removals == {
        "templates": [],
        "host_groups": ["2"],
        "proxies": [],
        "proxy_groups": [],
    }
    renamed = mirror_changes(current, {"host_groups": [{"id": "1", "name": "A2"}]})
    assert renamed.upserts["host_groups"] == [{"id": "1", "name": "A2"}]
    assert renamed.removed == 1


def test_an_import_past_max_deletions_is_refused_naming_the_count_and_the_limit():
    current = {"templates": {str(i): {"id": str(i)} for i in range(3)}}
    changes = mirror_changes(current, {})
    assert refusal(changes, 3) is None
    message = refusal(changes, 2)
    assert "would remove 3 mirrored objects (3 templates)" in message
    assert "max_deletions setting (2); nothing was changed" in message


def template(id_, name, needs=(), parents=()):
    return {"id": id_, "name": name, "interface_kinds": list(needs), "parent_ids": list(parents)}


TEMPLATES = {
    "1": template("1", "ICMP Ping"),
    "2": template("2", "Cisco IOS by SNMP", ["snmp"], ["3"]),
    "3": template("3", "Generic by SNMP", ["snmp"]),
    "4": template("4", "Linux by Zabbix agent", ["agent"]),
    "5": template("5", "Site base", [], ["4"]),
    "6": template("6", "Loop A", [], ["7"]),
    "7": template("7", "Loop B", ["agent"], ["6", "99"]),
}


def test_a_misspelt_name_is_refused_naming_the_closest_mirrored_ones():
    assert missing(["ICMP Ping", "ICMP Pnig", "ICMP Pnig"], TEMPLATES) == ["ICMP Pnig"]
    (sentence,) = unknown_names("--templates", "templates", ["ICMP Ping", "ICMP Pnig"], TEMPLATES)
    assert sentence == (
        "--templates: 'ICMP Pnig' is not a Zabbix template known to the mirror; closest: "
        "'ICMP Ping'. Run `nzc zabbix import` if it was added in Zabbix since the last import"
    )


def test_a_name_with_nothing_close_points_at_the_mirror_listing():
    groups = {"1": {"id": "1", "name": "Core"}}
    (sentence,) = unknown_names("graveyard_group", "host_groups", ["Zzzyx"], groups)
    assert sentence.startswith("graveyard_group: 'Zzzyx' is not a Zabbix host group known")
    assert "none is close (`nzc zabbix host-groups` lists them)" in sentence
    assert sentence.endswith("(or give --create-host-groups to create it)")
    assert unknown_names("--host-groups", "host_groups", ["Core"], groups) == []


def test_names_checked_against_an_empty_mirror_say_to_import_first():
    assert unknown_names("--proxy", "proxies", ["px1"], {}) == [
        "--proxy: 'px1' cannot be checked: no proxies are mirrored; run `nzc zabbix import` first"
    ]
    assert unknown_names("--proxy", "proxies", [], {}) == []


def test_a_template_needing_snmp_is_refused_without_an_snmp_interface_type():
    (sentence,) = interface_problem(["Cisco IOS by SNMP", "ICMP Ping"], ["agent"], TEMPLATES)
    assert sentence == (
        "--templates: 'Cisco IOS by SNMP' needs an SNMP interface, but --interface-types agent"
        " has no SNMP type; add one of snmpv1, snmpv2c, snmpv3"
    )
    assert interface_problem(["Cisco IOS by SNMP"], ["snmpv3"], TEMPLATES) == []
    assert interface_problem(["ICMP Ping", "Not mirrored"], ["snmpv2c"], TEMPLATES) == []


def test_a_template_needs_what_its_linked_templates_need_even_in_a_cycle():
    (sentence,) = interface_problem(["Site base"], ["snmpv2c"], TEMPLATES)
    assert sentence == (
        "--templates: 'Site base' needs a Zabbix agent interface (through its linked template "
        "'Linux by Zabbix agent'), but --interface-types snmpv2c has no agent; add agent"
    )
    assert len(interface_problem(["Loop A"], ["snmpv1"], TEMPLATES)) == 1
    assert interface_problem(["Loop A", "Site base"], ["agent", "snmpv1"], TEMPLATES) == []


AGENT = {"type": 1, "ip": "10.0.0.1", "dns": "", "useip": 1, "port": "10050"}
SNMP = {
    "type": 2,
    "ip": "10.0.0.1",
    "dns": "",
    "useip": 1,
    "port": "161",
    "details": {"version": 2},
}


def test_validation_finds_a_template_needing_an_interface_the_host_lacks():
    found = misconfigurations(["Site base", "ICMP Ping"], [SNMP], TEMPLATES)
    assert found == [
        "template 'Site base' needs an agent interface (through its linked template "
        "'Linux by Zabbix agent'), but NetBox wants snmpv2c interfaces only; change the "
        "mapping's interface types or its templates"
    ]
    assert misconfigurations(["Site base"], [AGENT], TEMPLATES) == []


def test_validation_finds_a_template_that_another_already_links():
    found = misconfigurations(["Cisco IOS by SNMP", "Generic by SNMP"], [SNMP], TEMPLATES)
    assert found == [
        "templates 'Cisco IOS by SNMP' and 'Generic by SNMP' conflict: 'Cisco IOS by SNMP' "
        "already links 'Generic by SNMP', and Zabbix refuses to link a template twice; drop "
        "'Generic by SNMP'"
    ]
    assert misconfigurations(["Loop A", "Loop B"], [AGENT], TEMPLATES)  # a cycle ends


def test_validation_finds_two_interfaces_on_one_address_and_port():
    twin = dict(SNMP, port="10050")
    found = misconfigurations([], [AGENT, twin], {}, where="Zabbix has")
    assert found == [
        "two interfaces on 10.0.0.1:10050 (agent and snmpv2c); Zabbix polls one address and "
        "port once: give one of them another port"
    ]
    assert misconfigurations([], [AGENT, SNMP], {}) == []
