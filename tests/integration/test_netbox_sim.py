"""The simulator answers pynetbox like NetBox and sends webhooks the service accepts."""

import pynetbox
import pytest
import requests

from schemas.webhook import WebhookSchema
from tests.netbox_sim import NetBoxSim, SimServer
from tests.netbox_sim.__main__ import seed
from tests.webhook_shapes import sample

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def server():
    server = SimServer(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def nb(server):
    return pynetbox.api(server.url, token=TOKEN)


def test_pynetbox_reads_devices_interfaces_and_ips(server, nb):
    seed(server)
    device = nb.dcim.devices.get(name="sw-core-01")
    assert device.id == 1 and str(device.status) == "Active" and device.status.value == "active"
    assert device.primary_ip4.address == "10.0.10.11/24"
    assert device.url == f"{server.url}/api/dcim/devices/1/"
    assert [i.name for i in nb.dcim.interfaces.filter(device_id=1)] == ["mgmt0"]
    ips = list(nb.ipam.ip_addresses.filter(device_id=1))
    assert [ip.address for ip in ips] == ["10.0.10.11/24"]
    assert ips[0].dns_name == "sw-core-01.mgmt.acme.example"
    vm = nb.virtualization.virtual_machines.get(name="vm-app-01")
    assert [i.name for i in nb.virtualization.interfaces.filter(virtual_machine_id=vm.id)] == [
        "eth0"
    ]
    assert nb.dcim.devices.get(999999) is None


def test_pagination_walks_every_page(server, nb):
    for n in range(120):
        server.sim.create_device(f"dev-{n:03d}")
    names = [d.name for d in nb.dcim.devices.all(limit=50)]
    assert len(names) == 120 and names[0] == "dev-000" and names[-1] == "dev-119"
    some = list(nb.dcim.devices.filter(id=[3, 5, 7]))
    assert [d.id for d in some] == [3, 5, 7]


def test_token_errors_answer_like_netbox(server):
    captured = {
        "none": sample_api("error_403_no_token.json"),
        "bad": sample_api("error_403_bad_token.json"),
    }
    resp = requests.get(f"{server.url}/api/dcim/devices/", timeout=5)
    assert (resp.status_code, resp.json()) == (403, captured["none"])
    resp = requests.get(
        f"{server.url}/api/dcim/devices/", headers={"Authorization": "Token nope"}, timeout=5
    )
    assert (resp.status_code, resp.json()) == (403, captured["bad"])
    resp = requests.get(
        f"{server.url}/api/dcim/devices/999999/",
        headers={"Authorization": f"Token {TOKEN}"},
        timeout=5,
    )
    assert (resp.status_code, resp.json()) == (404, sample_api("error_404_device.json"))


def sample_api(name):
    import json
    from pathlib import Path

    return json.loads((Path(__file__).parent.parent / "fixtures" / "api" / name).read_text())[
        "body"
    ]


def test_webhooks_have_the_captured_shape_and_pass_the_schema():
    bodies = []
    sim = NetBoxSim(emit=bodies.append)
    sim.create_device("sw-core-01", ip="10.0.10.11/24")
    kinds = [(b["object_type"], b["event"]) for b in bodies]
    assert kinds == [
        ("dcim.device", "created"),
        ("dcim.interface", "created"),
        ("ipam.ipaddress", "created"),
        ("dcim.device", "updated"),
    ]
    captured = sample("01_device_created.json")["body"]
    assert set(bodies[0]) == set(captured)
    assert set(bodies[0]["data"]) == set(captured["data"])
    assert bodies[0]["data"]["url"] == "/api/dcim/devices/1/"
    assert set(bodies[0]["snapshots"]["postchange"]) <= set(captured["snapshots"]["postchange"]) | {
        "last_updated"
    }
    schema = WebhookSchema()
    events = [schema.load(b) for b in bodies]
    assert events[3]["data"]["primary_ip4"]["address"] == "10.0.10.11/24"


def test_deleting_a_device_sends_ip_then_device_then_interfaces():
    bodies = []
    sim = NetBoxSim(emit=bodies.append)
    device = sim.create_device("sw-core-01", ip="10.0.10.11/24")
    iface = sim.add_interface("device", device, "eth1")
    bodies.clear()
    sim.delete_device(device)
    assert [(b["object_type"], b["event"]) for b in bodies] == [
        ("ipam.ipaddress", "deleted"),
        ("dcim.device", "deleted"),
        ("dcim.interface", "deleted"),
        ("dcim.interface", "deleted"),
    ]
    assert bodies[1]["data"]["primary_ip4"]["address"] == "10.0.10.11/24"
    assert {b["data"]["id"] for b in bodies[2:]} == {1, iface}
    assert len({b["request_id"] for b in bodies}) == 1


def test_a_bulk_edit_sends_one_webhook_per_object_with_one_request_id():
    bodies = []
    sim = NetBoxSim(emit=bodies.append)
    ids = [sim.create_device(f"dev-{n}") for n in range(3)]
    bodies.clear()
    sim.bulk_update("device", ids, status="offline")
    assert [b["data"]["id"] for b in bodies] == ids
    assert len({b["request_id"] for b in bodies}) == 1
    assert all(b["data"]["status"]["value"] == "offline" for b in bodies)
    assert bodies[0]["snapshots"]["prechange"]["status"] == "active"


def test_the_control_api_drives_changes(server, nb):
    ids = requests.post(f"{server.url}/_sim/devices", json={"count": 3}, timeout=5).json()["ids"]
    assert ids == [1, 2, 3]
    requests.patch(f"{server.url}/_sim/devices/2", json={"name": "renamed"}, timeout=5)
    assert nb.dcim.devices.get(2).name == "renamed"
    requests.delete(f"{server.url}/_sim/devices/3", timeout=5)
    assert nb.dcim.devices.get(3) is None
    missing = requests.delete(f"{server.url}/_sim/devices/3", timeout=5)
    assert missing.status_code == 404
