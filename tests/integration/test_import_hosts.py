"""ImportHost (`nzc import hosts`) on real Zabbix 6.0 and 7.0: hosts made by hand in Zabbix
are adopted with their hostids, interfaces and items, in a handful of calls; those that
cannot be adopted are listed with why and left alone; a NetBox change afterwards updates
the adopted host in place."""

from collections import Counter

import pytest

from tests.integration.test_host_jobs import mirror_afresh, nzc
from tests.integration.zabbix_stack import one_host
from tests.waiting import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"], ids=["zabbix6.0", "zabbix7.0"]),
]

#: Hosts made by hand in Zabbix, each for a device the simulator has.
HOSTS = 50


def by_hand(zabbix, hosts):
    """Create ``hosts`` ((name, interface IPs, tags)) in Zabbix in one call, as a person
    would: no ownership tag, agent interfaces, the template "Zabbix agent" linked by hand,
    and a trapper item each; hostid -> (interfaceids, itemids)."""
    group = zabbix.call(
        "hostgroup.get", {"output": ["groupid"], "filter": {"name": ["Linux servers"]}}
    )
    template = zabbix.call(
        "template.get", {"output": ["templateid"], "filter": {"host": ["Zabbix agent"]}}
    )
    created = zabbix.call(
        "host.create",
        [
            {
                "host": name,
                "groups": [{"groupid": group[0]["groupid"]}],
                "templates": [{"templateid": template[0]["templateid"]}],
                "interfaces": [
                    {
                        "type": 1,
                        "main": 1 if n == 0 else 0,
                        "useip": 1,
                        "ip": ip,
                        "dns": "",
                        "port": "10050",
                    }
                    for n, ip in enumerate(ips)
                ],
                "tags": [{"tag": k, "value": v} for k, v in tags],
            }
            for name, ips, tags in hosts
        ],
    )["hostids"]
    zabbix.call(
        "item.create",
        [
            {
                "hostid": hostid,
                "name": "Made by hand",
                "key_": "hand.made",
                "type": 2,
                "value_type": 3,
            }
            for hostid in created
        ],
    )
    return dict(zip([h[0] for h in hosts], created, strict=True))


def state(zabbix, hostids):
    """hostid -> (technical name, interface ids, item ids, tags), as Zabbix has them."""
    found = zabbix.call(
        "host.get",
        {
            "hostids": list(hostids),
            "output": ["hostid", "host"],
            "selectInterfaces": ["interfaceid"],
            "selectItems": ["itemid"],
            "selectTags": ["tag", "value"],
        },
    )
    return {
        h["hostid"]: (
            h["host"],
            sorted(i["interfaceid"] for i in h["interfaces"]),
            sorted(i["itemid"] for i in h["items"]),
            sorted((t["tag"], t["value"]) for t in h["tags"]),
        )
        for h in found
    }


def test_hosts_made_by_hand_are_adopted_in_place_and_refusals_are_listed_with_why(stack, db):
    sim, runtime, zabbix = stack
    sim.sender.dropped = lambda _body: True  # no reconcile run creates hosts first
    devices = {
        f"imp-{n:03d}": sim.sim.create_device(f"imp-{n:03d}", ip=f"10.0.80.{n + 1}/24")
        for n in range(HOSTS)
    }
    twin_device = sim.sim.create_device("twin", ip="10.0.81.1/24")
    twin_vm = sim.sim.create_vm("twin", ip="10.0.81.2/24")
    stray = sim.sim.create_device("stray-ip", ip="10.0.81.3/24")
    owned = sim.sim.create_device("owned-elsewhere", ip="10.0.81.4/24")
    hostids = by_hand(
        zabbix,
        [(name, [f"10.0.80.{n + 1}"], [("owner", "team-a")]) for n, name in enumerate(devices)]
        + [
            ("twin", ["10.0.81.1"], []),
            ("stray-ip", ["10.0.81.3", "10.0.81.99"], []),
            ("owned-elsewhere", ["10.0.81.4"], [("netbox-object", "dcim.device:9999")]),
        ],
    )
    mirror_afresh(stack)  # it knows the hand-linked template
    stack.settle()
    before = state(zabbix, hostids.values())
    jobs_before = db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"]

    code, out, err = nzc(stack, "import", "hosts", "--all", "--dry-run", wait=False)
    assert code == 0, err
    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    assert lines[0] == f"dry run: {HOSTS} to adopt, 4 refused; nothing was written"
    adopted = {f"dcim.device:{d}" for d in devices.values()}
    assert {line.split()[1] for line in lines if line.startswith("adopt ")} == adopted
    refusals = {line.split()[1]: line for line in lines if line.startswith("refuse ")}
    twins = [f"dcim.device:{twin_device}", f"virtualization.virtualmachine:{twin_vm}"]
    for target in twins:
        assert (
            f"Zabbix host 'twin' ({hostids['twin']}) matches 2 NetBox objects" in refusals[target]
        )
    assert (
        "uses IP 10.0.81.99, which NetBox does not have on "
        f"dcim.device:{stray}: add the address to the object in NetBox"
    ) in refusals[f"dcim.device:{stray}"]
    assert "is already owned by dcim.device:9999" in refusals[f"dcim.device:{owned}"]
    # The dry run wrote nothing, in Zabbix or in Postgres (not even a job row).
    assert state(zabbix, hostids.values()) == before
    assert db.execute("SELECT count(*) AS n FROM host_configs").fetchone()["n"] == 0
    assert db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"] == jobs_before

    calls = Counter(runtime.zabbix.calls)
    code, out, err = nzc(stack, "import", "hosts", "--all")
    assert code == 1, (out, err)  # some hosts could not be adopted
    assert out.startswith(f"adopted {HOSTS}, refused 4\n"), out
    made = Counter(runtime.zabbix.calls) - calls
    assert made["host.update"] == 1  # every ownership tag in one call
    assert sum(made.values()) <= 6, made  # a handful of calls, not one per host

    after = state(zabbix, hostids.values())
    for name, device in devices.items():
        hostid = hostids[name]
        host, interfaceids, itemids, tags = after[hostid]
        assert (host, interfaceids, itemids) == before[hostid][:3]
        assert tags == sorted([("netbox-object", f"dcim.device:{device}"), ("owner", "team-a")])
    for name in ("twin", "stray-ip", "owned-elsewhere"):
        assert after[hostids[name]] == before[hostids[name]]
    configs = {r["target"]: r for r in db.execute("SELECT * FROM host_configs").fetchall()}
    assert set(configs) == adopted
    first = configs[f"dcim.device:{devices['imp-000']}"]
    assert (first["hostid"], first["host"]) == (hostids["imp-000"], "imp-000")
    assert (first["owned_groups"], first["owned_templates"]) == ([], [])
    logged = db.execute(
        "SELECT message FROM event_log WHERE target = %s ORDER BY id",
        [f"dcim.device:{stray}"],
    ).fetchall()
    assert "ImportHost: not adopted: Zabbix host 'stray-ip'" in logged[-1]["message"]

    # A NetBox change afterwards updates the adopted host in place.
    sim.sender.dropped = lambda _body: False
    sim.sim.update_device(devices["imp-007"], name="imp-007-renamed")
    renamed = wait_for(lambda: one_host(zabbix, "imp-007-renamed"), "the rename")
    stack.settle()
    assert renamed["hostid"] == hostids["imp-007"]
    host, interfaceids, itemids, _ = state(zabbix, [renamed["hostid"]])[renamed["hostid"]]
    assert host == "imp-007-renamed"
    assert interfaceids == before[hostids["imp-007"]][1]
    hand_made = zabbix.call(
        "item.get",
        {"hostids": [renamed["hostid"]], "filter": {"key_": "hand.made"}, "output": ["itemid"]},
    )
    assert len(hand_made) == 1 and hand_made[0]["itemid"] in before[hostids["imp-007"]][2]
    # What the host had when adopted is not the service's: the reconcile added the
    # mapping's template and group and kept the hand-linked ones.
    after = one_host(zabbix, "imp-007-renamed")
    assert {"Zabbix agent", "ICMP Ping"} <= {t["host"] for t in after["parentTemplates"]}
    groups = after.get("hostgroups") or after.get("groups")
    assert {"Linux servers", "NetBox devices"} <= {g["name"] for g in groups}


def test_a_large_import_goes_on_in_further_runs_each_holding_few_locks(stack, db, monkeypatch):
    from handlers.jobs import imports

    monkeypatch.setattr(imports, "ADOPT_PER_RUN", 2)  # the worker runs in this process
    sim, runtime, zabbix = stack
    sim.sender.dropped = lambda _body: True
    names = [f"big-{n}" for n in range(5)]
    for n, name in enumerate(names):
        sim.sim.create_device(name, ip=f"10.0.82.{n + 1}/24")
    hostids = by_hand(zabbix, [(name, [f"10.0.82.{n + 1}"], []) for n, name in enumerate(names)])
    mirror_afresh(stack)  # it knows the hand-linked template
    stack.settle()

    code, out, err = nzc(stack, "import", "hosts", "--all")
    assert code == 0, (out, err)
    assert out.startswith("adopted 5, refused 0\n"), out
    configs = db.execute("SELECT hostid FROM host_configs").fetchall()
    assert {r["hostid"] for r in configs} == set(hostids.values())
    runs = db.execute(
        "SELECT result FROM jobs WHERE actor = 'import_hosts' AND enqueued_at >= %s",
        [stack.since],
    ).fetchall()
    assert sorted(len(r["result"]["adopted"]) for r in runs) == [1, 2, 2]
