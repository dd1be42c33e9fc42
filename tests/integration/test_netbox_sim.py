"""The simulator answers pynetbox like NetBox and sends webhooks the service accepts."""

import pynetbox
import pytest
import requests

from schemas.webhook import WebhookSchema
from tests.netbox_sim import NetBoxSim, SimServer
from tests.netbox_sim.__main__ import seed
from tests.netbox_sim.model import site_ref
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


def names(records):
    return sorted(r.name for r in records)


def test_hosts_filter_by_site_region_tenant_cluster_and_tag_like_netbox(server, nb):
    sim = server.sim
    europe = sim.add_org("region", "Europe")
    netherlands = sim.add_org("region", "Netherlands", parent=europe)
    germany = sim.add_org("region", "Germany", parent=europe)
    ams = sim.add_org("site", "Amsterdam", "ams", region=netherlands)
    fra = sim.add_org("site", "Frankfurt", "fra", region=germany)
    initech = sim.add_org("tenant", "Initech", "initech")
    globex = sim.add_org("tenant", "Globex", "globex")
    vmware = sim.add_org("clustertype", "VMware")
    cluster = sim.add_org("cluster", "ams-cl", type=vmware)
    site, tenant = sim.org_ref("site", ams), sim.org_ref("tenant", initech)
    sim.create_device("dev-a1", site=site, tenant=tenant, tags=["maint", "core"])
    sim.create_device(
        "dev-a2",
        site=site,
        tenant=sim.org_ref("tenant", globex),
        cluster=sim.org_ref("cluster", cluster),
    )
    sim.create_device("dev-f1", site=sim.org_ref("site", fra), tenant=tenant, tags=["maint"])
    sim.create_device("dev-x", site=site_ref("dc2"))
    sim.create_vm("vm-a", site=site, tenant=tenant, cluster=sim.org_ref("cluster", cluster))
    sim.create_vm("vm-b", site=sim.org_ref("site", fra))

    devices, vms = nb.dcim.devices, nb.virtualization.virtual_machines
    assert names(devices.filter(site="ams")) == ["dev-a1", "dev-a2"]
    assert names(devices.filter(site=["ams", "fra"])) == ["dev-a1", "dev-a2", "dev-f1"]
    assert names(devices.filter(site_id=fra)) == ["dev-f1"]
    assert names(devices.filter(site="dc2")) == ["dev-x"]
    # A region matches the sites in it and in every region below it.
    assert names(devices.filter(region="europe")) == ["dev-a1", "dev-a2", "dev-f1"]
    assert names(devices.filter(region="netherlands")) == ["dev-a1", "dev-a2"]
    assert names(devices.filter(region_id=germany)) == ["dev-f1"]
    assert names(devices.filter(region_id=[netherlands, germany])) == ["dev-a1", "dev-a2", "dev-f1"]
    assert names(vms.filter(region="europe")) == ["vm-a", "vm-b"]
    assert names(vms.filter(region="germany", site="fra")) == ["vm-b"]
    assert names(devices.filter(tenant="initech")) == ["dev-a1", "dev-f1"]
    assert names(devices.filter(tenant_id=[globex])) == ["dev-a2"]
    assert names(vms.filter(tenant="initech")) == ["vm-a"]
    assert names(devices.filter(cluster_id=cluster)) == ["dev-a2"]
    assert names(vms.filter(cluster_id=cluster)) == ["vm-a"]
    assert names(vms.filter(cluster="ams-cl")) == ["vm-a"]
    # NetBox 4.4's devices have no cluster-name filter: it is ignored.
    assert len(list(devices.filter(cluster="ams-cl"))) == 4
    assert names(devices.filter(tag="maint")) == ["dev-a1", "dev-f1"]
    # Tags are conjoined in NetBox: every tag given.
    assert names(devices.filter(tag=["maint", "core"])) == ["dev-a1"]
    assert names(devices.filter(tag="maint", site="fra", status="active")) == ["dev-f1"]
    assert [d.id for d in devices.filter(site="ams", tenant="initech")] == [1]
    # What NetBox does not have is a 400, as from its filter sets.
    for bad in ({"site": "nowhere"}, {"region": "mars"}, {"tenant_id": 999}, {"tag": "nope"}):
        with pytest.raises(pynetbox.RequestError) as err:
            list(devices.filter(**bad))
        assert err.value.req.status_code == 400
        assert "is not one of the available choices" in str(err.value.error)


def test_the_tags_endpoint_lists_tags_in_use_and_those_added(server, nb):
    sim = server.sim
    added = sim.add_tag("Maintenance Window", slug="mw")
    device = sim.create_device("dev-1", tags=["core-net", "Maintenance Window"])
    sim.create_vm("vm-1", tags=["core-net"])
    sim.add_tag("Unused")

    used = nb.extras.tags.get(slug="core-net")
    assert (used.name, used.tagged_items) == ("core-net", 2)
    assert used.id in {t.id for t in nb.dcim.devices.get(device).tags}
    mw = nb.extras.tags.get(slug="mw")
    assert (mw.id, mw.name, mw.tagged_items) == (added, "Maintenance Window", 1)
    assert nb.extras.tags.get(added).slug == "mw"
    assert names(nb.extras.tags.filter(name=["Unused", "core-net"])) == ["Unused", "core-net"]
    assert list(nb.extras.tags.filter(slug="no-such-tag")) == []
    assert nb.extras.tags.get(slug="no-such-tag") is None
    listed = {t.slug for t in nb.extras.tags.all()}
    assert {"core-net", "mw", "unused"} <= listed and "no-such-tag" not in listed


def test_a_site_only_hosts_name_is_a_site_netbox_has(server, nb):
    sim = server.sim
    device = sim.create_device("rtm-01", site=site_ref("dc2"))
    default = sim.create_device("ams-01")
    site_id = nb.dcim.devices.get(device).site.id
    found = nb.dcim.sites.get(slug="dc2")
    assert (found.id, found.name) == (site_id, "dc2")
    # The templates' site keeps its id; new sites never take an id in use.
    assert nb.dcim.sites.get(slug="dc1-ams").id == nb.dcim.devices.get(default).site.id == 1
    lab = sim.add_org("site", "Lab", "lab")
    assert lab not in (1, site_id)
    assert sorted(s.slug for s in nb.dcim.sites.filter(id=[1, site_id, lab])) == [
        "dc1-ams",
        "dc2",
        "lab",
    ]
    # Adding it properly completes the same site.
    region = sim.add_org("region", "Rotterdam")
    assert sim.add_org("site", "DC 2", "dc2", region=region) == site_id
    assert nb.dcim.devices.get(device).site.name == "DC 2"
    assert names(nb.dcim.devices.filter(region="rotterdam")) == ["rtm-01"]
