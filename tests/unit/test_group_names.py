"""Host-group name templates: fields from the NetBox object (and its site's region tree,
its custom fields and config context) fill in names; a field without a value drops the
whole group; unknown fields are refused with the known ones named."""

import copy

import pytest

from handlers.decide.desired import build_desired, host_facts
from handlers.decide.group_names import (
    expand,
    needs,
    template_problems,
    with_parents,
)
from handlers.decide.host_state import Ids
from handlers.decide.plan import CREATE, Reading, ZabbixView, decide, lookups
from tests.unit.objects import SETTINGS, api, mapping

REGION = {
    "name": "Amsterdam",
    "slug": "ams",
    "path": ("Europe", "Netherlands", "Amsterdam"),
    "slug_path": ("eu", "nl", "ams"),
}


def device(**fields):
    obj = copy.deepcopy(api("device_sw-core-01_final.json"))
    obj.update(custom_fields={}, config_context={})
    obj.update(fields)
    return obj


def test_fields_give_names_and_slugs_and_regions_their_path_parent_first():
    obj = device(region=REGION)
    found = expand(
        ["Sites/{region_path}/{site}", "{role}/{platform.slug}", "{manufacturer}", "Static"], obj
    )
    assert found.groups == (
        "Sites/Europe/Netherlands/Amsterdam/DC1 Amsterdam",
        "Core Switch/cisco-ios-xe",
        "Cisco",
        "Static",
    )
    assert expand(["{region_path.slug}"], obj).groups == ("eu/nl/ams",)
    assert found.dropped == ()


def test_an_empty_field_drops_the_whole_group_and_says_which_field():
    found = expand(["Sites/{region}/{site}", "Tenants/{tenant}", "NetBox devices"], device())
    assert found.groups == ("NetBox devices",)
    assert found.dropped == (
        "host group 'Sites/{region}/{site}' left out: its field {region} is empty for this object",
        "host group 'Tenants/{tenant}' left out: its field {tenant} is empty for this object",
    )


def test_custom_fields_and_config_context_keys_fill_in_and_survive_host_facts():
    obj = device(
        custom_fields={"team": "noc", "rack_row": None, "zabbix_templates": []},
        config_context={"monitoring": {"tier": "gold"}, "other": "x"},
    )
    templates = ["Teams/{cf.team}", "Tier/{cc.monitoring.tier}", "Row/{cf.rack_row}"]
    facts = host_facts(obj, uses=needs(templates))
    found = expand(templates, facts)
    assert found.groups == ("Teams/noc", "Tier/gold")
    assert found.dropped == (
        "host group 'Row/{cf.rack_row}' left out: its field {cf.rack_row} is empty for this object",
    )
    # Only what the templates read is kept.
    assert "other" not in facts["config_context"]


def test_unknown_fields_and_unpaired_braces_are_refused_naming_the_known_fields():
    problems = template_problems("--host-groups", ["Sites/{regoin}", "A/{site", "Ok/{site}"])
    assert len(problems) == 2
    assert problems[0].startswith(
        "--host-groups: 'Sites/{regoin}': {regoin} is not a field a host-group template may use;"
        " known: site, site_group, region,"
    )
    assert "region_path" in problems[0] and "cf.NAME" in problems[0]
    assert "brace that does not pair up" in problems[1]


def test_an_override_naming_an_unknown_field_drops_that_group():
    obj = device(custom_fields={"zabbix_host_groups": ["X/{nope}", "Y"]})
    found = expand(["X/{nope}", "Y"], obj)
    assert found.groups == ("Y",)
    assert found.dropped == ("host group 'X/{nope}' left out: its field {nope} is unknown",)


def test_parents_come_before_their_children():
    assert with_parents(["Sites/Europe/NL", "Sites/Asia", "Flat"]) == [
        "Flat",
        "Sites",
        "Sites/Asia",
        "Sites/Europe",
        "Sites/Europe/NL",
    ]


def test_the_plan_creates_missing_parents_first_and_notes_a_dropped_group():
    rule = mapping(1, default=True, host_groups=["Sites/{region_path}/{site}", "Tenants/{tenant}"])
    ips = api("device_ip-addresses_sw-core-01_final.json")["results"]
    obj = device(region=REGION)
    target = "dcim.device:1"
    reading = Reading(
        targets=[target],
        objects={target: {"obj": obj, "ips": ips}},
        configs={},
        settings=SETTINGS,
        mappings=[rule],
    )
    assert "Sites/Europe" in lookups(reading).groups
    view = ZabbixView(
        ids=Ids(groups={"Sites": "7"}, templates={"ICMP Ping": "10564"}),
        by_id={},
        by_name={},
    )
    plan = decide(reading, view)
    step = plan.steps[target]
    assert step.action == CREATE
    assert step.desired.groups == ("Sites/Europe/Netherlands/Amsterdam/DC1 Amsterdam",)
    assert plan.groups_to_create == (
        "Sites/Europe",
        "Sites/Europe/Netherlands",
        "Sites/Europe/Netherlands/Amsterdam",
        "Sites/Europe/Netherlands/Amsterdam/DC1 Amsterdam",
    )
    assert "{tenant} is empty" in step.note
    desired = build_desired(target, obj, ips, rule, SETTINGS)
    assert desired.groups == step.desired.groups


def test_a_slash_inside_one_value_does_not_nest_and_an_empty_level_drops_the_group():
    obj = device(custom_fields={"pod": "A/B", "rack": "R1/"})
    found = expand(["Pods/{cf.pod}", "Racks/{cf.rack}", "Sites/{site}/"], obj)
    assert found.groups == ("Pods/A-B", "Racks/R1-")
    assert found.dropped == (
        "host group 'Sites/{site}/' left out: it gives 'Sites/DC1 Amsterdam/', with an empty level",
    )


def test_an_object_whose_every_group_is_dropped_is_refused_not_left_without_groups():
    from handlers.decide.desired import NoHostGroup

    rule = mapping(1, host_groups=["Sites/{region}/{site}"])
    with pytest.raises(NoHostGroup, match="every host group of its mapping was left out"):
        build_desired("dcim.device:1", device(), [], rule, SETTINGS)
