"""The webhook schema and the event table, as pure functions."""

import pytest
from marshmallow import ValidationError

from handlers.decide.translate import DELETE, DISABLE, IGNORE, SYNC, UPDATE_INTERFACES, translate
from schemas.webhook import WebhookSchema
from tests.webhook_shapes import VERSIONS, sample, sample_names, shape

SETTINGS = {
    "monitored_statuses": ["active"],
    "disabled_statuses": ["offline", "planned", "staged", "failed", "inventory"],
    "removed_statuses": ["decommissioning"],
}
schema = WebhookSchema()


@pytest.mark.parametrize("name", sample_names())
def test_every_captured_sample_is_accepted(name):
    event = schema.load(sample(name)["body"])
    assert event["object_type"] == sample(name)["body"]["object_type"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_netbox_shape_normalises_to_the_same_event(version):
    body = sample("07_device_updated.json")["body"]
    event = schema.load(shape(body, version))
    assert event["event"] == "updated"
    assert event["object_type"] == "dcim.device"
    assert event["object_id"] == 1
    assert event["data"]["name"] == body["data"]["name"]
    if version == "4.7":
        # request_id and username now travel only inside "request"
        assert event["request_id"] == body["request_id"]
        assert event["username"] == "admin"
    else:
        assert event["request_id"] == body["request_id"]


@pytest.mark.parametrize("snapshots", [None, "absent"])
def test_snapshots_may_be_null_or_absent(snapshots):
    body = dict(sample("01_device_created.json")["body"])
    if snapshots == "absent":
        del body["snapshots"]
    else:
        body["snapshots"] = None
    event = schema.load(body)
    assert event["prechange"] is None and event["postchange"] is None


def test_a_47_body_without_request_has_no_request_id():
    body = shape(sample("01_device_created.json")["body"], "4.7")
    del body["request"]
    assert schema.load(body)["request_id"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"event": "exploded"}, "event"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"object_type": "Device!"}, "object_type"),
        ({"data": "x"}, "data"),
        ({"data": {"name": "no id"}}, "data"),
        ({"snapshots": []}, "snapshots"),
    ],
)
def test_a_malformed_body_names_the_field(change, field):
    body = {**sample("01_device_created.json")["body"], **change}
    with pytest.raises(ValidationError) as err:
        schema.load(body)
    assert field in err.value.messages


def test_neither_object_type_nor_model_is_an_error():
    body = dict(sample("01_device_created.json")["body"])
    del body["object_type"], body["model"]
    with pytest.raises(ValidationError) as err:
        schema.load(body)
    assert "object_type" in err.value.messages


def event_for(name, **data_changes):
    event = schema.load(sample(name)["body"])
    event["data"] = {**event["data"], **data_changes}
    return event


@pytest.mark.parametrize(
    ("name", "changes", "action", "target"),
    [
        ("01_device_created.json", {}, SYNC, "dcim.device:1"),
        ("07_device_updated.json", {"status": {"value": "offline"}}, DISABLE, "dcim.device:1"),
        (
            "07_device_updated.json",
            {"status": {"value": "decommissioning"}},
            DELETE,
            "dcim.device:1",
        ),
        ("28_device_deleted.json", {}, DELETE, "dcim.device:1"),
        ("08_virtualmachine_created.json", {}, SYNC, "virtualization.virtualmachine:1"),
        ("25_virtualmachine_deleted.json", {}, DELETE, "virtualization.virtualmachine:1"),
        ("02_interface_created.json", {}, UPDATE_INTERFACES, "dcim.device:1"),
        ("21_interface_deleted.json", {}, UPDATE_INTERFACES, "dcim.device:1"),
        ("09_vminterface_created.json", {}, UPDATE_INTERFACES, "virtualization.virtualmachine:1"),
        ("06_ipaddress_created.json", {}, UPDATE_INTERFACES, "dcim.device:1"),
        ("10_ipaddress_created.json", {}, UPDATE_INTERFACES, "virtualization.virtualmachine:1"),
        ("91_script_job_ended.json", {}, IGNORE, None),
    ],
)
def test_the_event_table(name, changes, action, target):
    decision = translate(event_for(name, **changes), SETTINGS)
    assert (decision.action, decision.target) == (action, target)
    assert decision.reason


def test_an_unassigned_ip_address_is_ignored():
    decision = translate(
        event_for("06_ipaddress_created.json", assigned_object_type=None, assigned_object=None),
        SETTINGS,
    )
    assert decision.action == IGNORE and "belongs to no device or VM" in decision.reason


def test_a_status_in_no_mapping_is_ignored_with_the_status_named():
    settings = {**SETTINGS, "disabled_statuses": ["offline"]}
    decision = translate(event_for("07_device_updated.json", status={"value": "planned"}), settings)
    assert decision.action == IGNORE and "'planned'" in decision.reason


def test_other_object_types_are_ignored():
    event = {**event_for("01_device_created.json"), "object_type": "dcim.site"}
    decision = translate(event, SETTINGS)
    assert decision.action == IGNORE and "dcim.site is not handled" in decision.reason
