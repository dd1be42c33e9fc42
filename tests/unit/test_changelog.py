"""Which webhooks' requests are read from NetBox's change log, and which hosts its records
name (pure functions)."""

import pytest

from handlers.decide.changelog import (
    looks_bulk,
    targets_of_changes,
    unresolved_interfaces,
    wants_read,
)


@pytest.mark.parametrize(
    ("path", "bulk"),
    [
        ("/api/dcim/devices/", True),  # API bulk edit, create or delete
        ("/dcim/devices/edit/", True),  # the UI's bulk edit
        ("/virtualization/virtual-machines/import/", True),
        ("/api/dcim/devices/42/", False),  # one object
        ("/dcim/devices/42/edit/", False),
        ("/api/virtualization/virtual-machines/7", False),
        (None, False),  # NetBox before 4.6 sends no request path
        ("", False),
    ],
)
def test_a_request_looks_bulk_when_its_path_names_no_one_object(path, bulk):
    assert looks_bulk(path) is bulk


def test_the_setting_chooses_which_requests_are_read():
    bulk = {"request_id": "r1", "request_path": "/api/dcim/devices/"}
    single = {"request_id": "r2", "request_path": "/api/dcim/devices/4/"}
    old = {"request_id": "r3", "request_path": None}
    assert [wants_read(e, "bulk") for e in (bulk, single, old)] == [True, False, False]
    assert [wants_read(e, "always") for e in (bulk, single, old)] == [True, True, True]
    assert [wants_read(e, "off") for e in (bulk, single, old)] == [False, False, False]
    assert wants_read({"request_id": None, "request_path": "/api/dcim/devices/"}, "always") is False


def change(kind, oid, action="update", post=None, pre=None):
    return {
        "changed_object_type": kind,
        "changed_object_id": oid,
        "action": {"value": action},
        "postchange_data": post,
        "prechange_data": pre,
    }


def test_hosts_are_found_directly_and_through_interfaces_and_ip_addresses():
    changes = [
        change("dcim.device", 1),
        change("virtualization.virtualmachine", 2, "delete", pre={"name": "vm"}),
        change("dcim.interface", 10, "create", post={"device": 3}),
        change(
            "ipam.ipaddress",
            20,
            "create",
            post={"assigned_object_type": "dcim.interface", "assigned_object_id": 10},
        ),
        change(
            "ipam.ipaddress",
            21,
            post={"assigned_object_type": "virtualization.vminterface", "assigned_object_id": 11},
        ),
        change(
            "ipam.ipaddress",
            22,
            post={"assigned_object_type": "dcim.interface", "assigned_object_id": 12},
        ),
        change("dcim.site", 5),  # not about a host
        change("ipam.ipaddress", 23, post={"assigned_object_type": None}),  # unassigned
    ]
    # Interface 10 is in the request; 11 and 12 must be looked up.
    assert unresolved_interfaces(changes) == {
        "virtualization.vminterface": {11},
        "dcim.interface": {12},
    }
    found = targets_of_changes(
        changes, {"virtualization.vminterface": {11: 4}, "dcim.interface": {}}
    )
    assert found == {
        "dcim.device:1": "dcim.device 1 updated in the request",
        "virtualization.virtualmachine:2": "virtualization.virtualmachine 2 deleted in the request",
        "dcim.device:3": "its interface 10 created in the request",
        "virtualization.virtualmachine:4": "its IP address 21 updated in the request",
    }


def test_an_ip_address_moved_between_hosts_marks_both():
    moved = change(
        "ipam.ipaddress",
        30,
        pre={"assigned_object_type": "dcim.interface", "assigned_object_id": 40},
        post={"assigned_object_type": "dcim.interface", "assigned_object_id": 41},
    )
    assert unresolved_interfaces([moved]) == {"dcim.interface": {40, 41}}
    found = targets_of_changes([moved], {"dcim.interface": {40: 7, 41: 8}})
    assert set(found) == {"dcim.device:7", "dcim.device:8"}
    assert looks_bulk("/dcim/devices/add/") is False
