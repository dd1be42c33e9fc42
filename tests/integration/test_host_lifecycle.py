"""NetBox changes become Zabbix hosts: simulator webhooks through the real web edge,
RabbitMQ and a worker, into real Zabbix 6.0 and 7.0."""

import pytest

from tests.integration.zabbix_stack import host_get, one_host, tags
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


def reconcile_runs(db):
    """Reconcile runs that claimed at least one target, so far."""
    return db.execute(
        "SELECT count(*) AS n FROM jobs WHERE actor = 'reconcile' AND status = 'succeeded'"
        " AND (result->>'claimed')::int > 0"
    ).fetchone()["n"]


def agent_interfaceid(zabbix, hostid):
    found = zabbix.call(
        "hostinterface.get", {"hostids": [hostid], "output": ["interfaceid", "type"]}
    )
    return next(i["interfaceid"] for i in found if i["type"] == "1")


def test_full_device_lifecycle(stack, zabbix_version, db):
    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("sw-core-01", ip="10.0.10.11/24", tags=["core"], serial="FOC1")

    host = wait_for(lambda: one_host(zabbix, "sw-core-01"), "the host to be created")
    assert host["status"] == "0"
    assert [g["name"] for g in host[zabbix.dialect.group_key]] == ["NetBox devices"]
    assert [t["host"] for t in host["parentTemplates"]] == ["ICMP Ping"]
    assert ("netbox-object", f"dcim.device:{dev}") in tags(host)
    assert ("netbox-tag", "core") in tags(host)
    assert host["inventory"]["serialno_a"] == "FOC1"
    assert [(i["type"], i["ip"], i["port"]) for i in host["interfaces"]] == [
        ("1", "10.0.10.11", "10050")
    ]
    hostid = host["hostid"]
    # One device with its interface, IP and primary IP (4 webhooks) = one host.create.
    stack.settle()
    assert runtime.zabbix.calls["host.create"] == 1
    target = f"dcim.device:{dev}"

    # A tag added by hand in Zabbix survives our updates.
    current = zabbix.call(
        "host.get", {"hostids": [hostid], "selectTags": ["tag", "value"], "output": ["hostid"]}
    )[0]
    zabbix.call(
        "host.update",
        {"hostid": hostid, "tags": [*current["tags"], {"tag": "owner", "value": "noc"}]},
    )

    # An interface added in NetBox: the host is reconciled and nothing is written.
    stack.settle()
    runs = len(stack.runs_for(target))
    updates_before = runtime.zabbix.calls["host.update"]
    eth1 = sim.sim.add_interface("device", dev, "eth1")
    stack.settle()
    after = stack.runs_for(target)
    assert len(after) == runs + 1  # the interface's webhook caused exactly one run
    assert after[-1]["result"]["in_step"] == 1 and after[-1]["result"]["updated"] == 0
    assert runtime.zabbix.calls["host.update"] == updates_before

    # Its IP address becomes the primary IP: the Zabbix interface follows, in place.
    interfaceid = agent_interfaceid(zabbix, hostid)
    new_ip = sim.sim.add_ip("device", eth1, "10.0.10.50/24", primary=True)
    wait_for(
        lambda: one_host(zabbix, "sw-core-01")["interfaces"][0]["ip"] == "10.0.10.50",
        "the new primary IP",
    )
    assert agent_interfaceid(zabbix, hostid) == interfaceid

    # The primary IP's address is edited.
    sim.sim.update_ip(new_ip, address="10.0.10.99/24")
    wait_for(
        lambda: one_host(zabbix, "sw-core-01")["interfaces"][0]["ip"] == "10.0.10.99",
        "the edited primary IP",
    )

    sim.sim.update_device(dev, name="sw-core-01-ams")
    host = wait_for(lambda: one_host(zabbix, "sw-core-01-ams"), "the rename")
    assert host["hostid"] == hostid

    sim.sim.update_device(dev, tags=["core", "zabbix"])
    host = wait_for(
        lambda: (
            ("netbox-tag", "zabbix") in tags(one_host(zabbix, "sw-core-01-ams"))
            and one_host(zabbix, "sw-core-01-ams")
        ),
        "the new tag",
    )
    assert ("owner", "noc") in tags(host)

    sim.sim.update_device(dev, status="offline")
    wait_for(lambda: one_host(zabbix, "sw-core-01-ams")["status"] == "1", "the host to be disabled")

    stack.settle()
    runs, updates_before = len(stack.runs_for(target)), runtime.zabbix.calls["host.update"]
    sim.sim.update_device(dev, comments="rack moved")  # nothing Zabbix shows changes
    stack.settle()
    after = stack.runs_for(target)
    assert len(after) == runs + 1  # the change was reconciled...
    assert after[-1]["result"]["in_step"] == 1  # ...and found in step
    assert runtime.zabbix.calls["host.update"] == updates_before

    sim.sim.delete_device(dev)
    archived = wait_for(lambda: one_host(zabbix, "sw-core-01-ams (archived)"), "the soft delete")
    assert archived["hostid"] == hostid and archived["status"] == "1"
    assert archived["host"] == "sw-core-01-ams-archived"
    assert [g["name"] for g in archived[zabbix.dialect.group_key]] == ["NetBox graveyard"]
    wait_for(
        lambda: db.execute("SELECT count(*) AS n FROM host_configs").fetchone()["n"] == 0,
        "the host config to be removed",
    )

    again = sim.sim.create_device("sw-core-01-ams", ip="10.0.10.12/24")
    reborn = wait_for(lambda: one_host(zabbix, "sw-core-01-ams"), "the recreated host")
    assert reborn["hostid"] != hostid

    db.execute("UPDATE settings SET delete_mode = 'hard'")
    sim.sim.delete_device(again)
    wait_for(lambda: one_host(zabbix, "sw-core-01-ams") is None, "the hard delete")
    assert one_host(zabbix, "sw-core-01-ams (archived)")["hostid"] == hostid


def test_vm_lifecycle_and_non_ascii_name(stack):
    sim, runtime, zabbix = stack
    vm = sim.sim.create_vm("app-été-01", ip="10.0.20.11/24")
    host = wait_for(lambda: host_get(zabbix, name=["app-été-01"]), "the VM host")[0]
    assert host["host"].startswith("app-ete-01-")
    assert [g["name"] for g in host[zabbix.dialect.group_key]] == ["NetBox virtual machines"]
    sim.sim.update_vm(vm, status="offline")
    wait_for(lambda: host_get(zabbix, name=["app-été-01"])[0]["status"] == "1", "the VM disabled")
    sim.sim.delete_vm(vm)
    wait_for(lambda: host_get(zabbix, name=["app-été-01 (archived)"]), "the VM soft-deleted")


def test_a_bulk_create_of_200_devices_dirty_at_once_takes_one_host_create_call(stack, db):
    """Held still: every webhook is accepted and every event marked before any reconcile
    run may start, so the whole bulk is one batch. How many runs a bulk takes while its
    webhooks are still arriving depends on machine speed: bench/e2e measures that."""
    sim, runtime, zabbix = stack
    stack.hold()
    sim.sender.set_threads(4)  # NetBox with several RQ workers delivers concurrently
    for n in range(200):
        sim.sim.create_device(f"bulk-{n:03d}", ip=f"10.1.{n // 250}.{n % 250 + 1}/16")
    sim.sender.wait()
    assert sim.sender.statuses == {202: 800}

    stack.start_worker(queues={"nzc-events"})  # events only: reconcile runs wait
    wait_for(
        lambda: db.execute(
            "SELECT coalesce(sum(jsonb_array_length(args->0)), 0) = 800 AS done FROM jobs"
            " WHERE actor = 'handle_events' AND status = 'succeeded' AND enqueued_at >= %s",
            [stack.since],
        ).fetchone()["done"],
        "800 events marked dirty",
        timeout=120,
    )
    assert db.execute("SELECT count(*) AS n FROM dirty_targets").fetchone()["n"] == 200

    stack.start_worker(queues={"nzc-hosts"})
    stack.settle(timeout=120)
    hosts = zabbix.call("host.get", {"output": ["hostid"], "search": {"host": "bulk-"}})
    assert len(hosts) == 200
    assert runtime.zabbix.calls["host.create"] == 1, runtime.zabbix.calls
    runs = db.execute(
        "SELECT result FROM jobs WHERE actor = 'reconcile' AND (result->>'claimed')::int > 0"
        " AND enqueued_at >= %s",
        [stack.since],
    ).fetchall()
    assert [r["result"]["created"] for r in runs] == [200]


def test_a_create_that_fails_after_host_create_leaves_no_host_and_the_retry_converges(
    stack, db, monkeypatch
):
    """Fault injection in our own store (as if Postgres failed mid-job); Zabbix is real."""
    from handlers.gateways import host_configs

    sim, runtime, zabbix = stack
    real_save = host_configs.save_host_config

    def failing_save(*args, **kwargs):
        raise RuntimeError("disk full while recording the host config")

    monkeypatch.setattr(host_configs, "save_host_config", failing_save)
    sim.sim.create_device("half-made-01", ip="10.0.30.1/24")
    failed = wait_for(
        lambda: db.execute(
            "SELECT * FROM jobs WHERE actor = 'reconcile' AND status = 'failed'"
            " AND error LIKE '%%disk full%%'"
        ).fetchone(),
        "the reconcile run to fail",
    )
    assert "which were removed" in failed["error"]
    assert runtime.zabbix.calls["host.create"] >= 1
    assert one_host(zabbix, "half-made-01") is None
    assert db.execute("SELECT count(*) AS n FROM dirty_targets").fetchone()["n"] == 1

    monkeypatch.setattr(host_configs, "save_host_config", real_save)
    # Dramatiq retries the run (first backoff 5 s); it now converges.
    wait_for(
        lambda: one_host(zabbix, "half-made-01"), "the retried run to create the host", timeout=45
    )


def test_an_update_that_fails_after_host_update_is_undone_and_the_retry_converges(
    stack, db, monkeypatch
):
    """Compensation covers updates too: the rename written to Zabbix is put back when the
    run fails afterwards, so Zabbix never runs ahead of the host configs."""
    from handlers.gateways import host_configs

    sim, runtime, zabbix = stack
    dev = sim.sim.create_device("undo-01", ip="10.0.31.1/24", serial="U1")
    hostid = wait_for(lambda: one_host(zabbix, "undo-01"), "the host")["hostid"]
    stack.settle()
    real_save = host_configs.save_host_config

    def failing_save(*args, **kwargs):
        raise RuntimeError("disk full while recording the host config")

    monkeypatch.setattr(host_configs, "save_host_config", failing_save)
    updates = runtime.zabbix.calls["host.update"]
    sim.sim.update_device(dev, name="undo-01-renamed")
    failed = wait_for(
        lambda: db.execute(
            "SELECT * FROM jobs WHERE actor = 'reconcile' AND status = 'failed'"
            " AND error LIKE '%%disk full%%' AND enqueued_at >= %s",
            [stack.since],
        ).fetchone(),
        "the reconcile run to fail",
    )
    assert "1 other write(s), undone" in failed["error"], failed["error"]
    assert runtime.zabbix.calls["host.update"] == updates + 2  # the rename and its undo
    host = one_host(zabbix, "undo-01")
    assert host["hostid"] == hostid and host["host"] == "undo-01"
    assert host["inventory"]["serialno_a"] == "U1"
    assert one_host(zabbix, "undo-01-renamed") is None

    monkeypatch.setattr(host_configs, "save_host_config", real_save)
    renamed = wait_for(
        lambda: one_host(zabbix, "undo-01-renamed"), "the retried run to rename", timeout=45
    )
    assert renamed["hostid"] == hostid


def test_a_mapping_puts_hosts_on_a_proxy_with_snmp_v2c_and_v3_interfaces(stack, db, zabbix_version):
    sim, runtime, zabbix = stack
    dialect = zabbix.dialect
    if dialect.version >= (7, 0):
        proxyid = zabbix.call("proxy.create", {"name": "proxy-ams-01", "operating_mode": 0})[
            "proxyids"
        ][0]
    else:
        proxyid = zabbix.call("proxy.create", {"host": "proxy-ams-01", "status": 5})["proxyids"][0]
    db.execute(
        """INSERT INTO mappings
               (name, object_type, tags, templates, host_groups, proxy, interface_types)
           VALUES ('snmp via proxy', 'dcim.device', '{snmp}', '{Generic by SNMP}',
                   '{SNMP devices}', 'proxy-ams-01', '{snmpv2c,snmpv3}')"""
    )
    try:
        sim.sim.create_device("sw-snmp-01", ip="10.0.40.1/24", tags=["snmp"])
        host = wait_for(lambda: one_host(zabbix, "sw-snmp-01"), "the SNMP host")
        raw = zabbix.call(
            "host.get",
            {
                "hostids": [host["hostid"]],
                "output": dialect.host_proxy_output,
                "selectInterfaces": ["type", "ip", "port", "details"],
            },
        )[0]
        assert dialect.monitoring_of(raw) == (proxyid, None)
        assert [t["host"] for t in host["parentTemplates"]] == ["Generic by SNMP"]
        details = sorted((i["details"]["version"], i["port"]) for i in raw["interfaces"])
        assert details == [("2", "161"), ("3", "161")]
        v3 = next(i for i in raw["interfaces"] if i["details"]["version"] == "3")
        assert v3["details"]["securityname"] == "{$SNMPV3_SECURITYNAME}"
    finally:
        db.execute("DELETE FROM mappings WHERE name = 'snmp via proxy'")


def test_a_mapping_puts_hosts_on_a_proxy_group_in_70(stack, db, zabbix_version):
    sim, runtime, zabbix = stack
    if zabbix_version == "6.0":
        pytest.skip("proxy groups exist from Zabbix 7.0")
    groupid = zabbix.call(
        "proxygroup.create", {"name": "ams", "failover_delay": "1m", "min_online": "1"}
    )["proxy_groupids"][0]
    # A proxy in a group needs its local address and port.
    zabbix.call(
        "proxy.create",
        {
            "name": "proxy-ams-02",
            "operating_mode": 0,
            "proxy_groupid": groupid,
            "local_address": "127.0.0.1",
            "local_port": "10051",
        },
    )
    db.execute(
        "INSERT INTO mappings (name, object_type, tags, templates, host_groups, proxy_group)"
        " VALUES ('via proxy group', 'dcim.device', '{grouped}', '{ICMP Ping}', '{Grouped}', 'ams')"
    )
    try:
        sim.sim.create_device("sw-grouped-01", ip="10.0.41.1/24", tags=["grouped"])
        host = wait_for(lambda: one_host(zabbix, "sw-grouped-01"), "the host on the proxy group")
        raw = zabbix.call(
            "host.get", {"hostids": [host["hostid"]], "output": zabbix.dialect.host_proxy_output}
        )[0]
        assert zabbix.dialect.monitoring_of(raw) == (None, groupid)
    finally:
        db.execute("DELETE FROM mappings WHERE name = 'via proxy group'")


def test_a_mapping_change_swaps_templates_and_clears_the_old_ones_items(stack, db):
    sim, runtime, zabbix = stack
    db.execute(
        "INSERT INTO mappings (name, object_type, tags, templates, host_groups)"
        " VALUES ('linux', 'dcim.device', '{linux}', '{Linux by Zabbix agent}', '{Linux}')"
    )
    try:
        dev = sim.sim.create_device("srv-01", ip="10.0.42.1/24")
        hostid = wait_for(lambda: one_host(zabbix, "srv-01"), "the host")["hostid"]
        stack.settle()
        runs, lookups = reconcile_runs(db), runtime.zabbix.calls["template.get"]

        sim.sim.update_device(dev, tags=["linux"])
        host = wait_for(
            lambda: (
                [t["host"] for t in one_host(zabbix, "srv-01")["parentTemplates"]]
                == ["Linux by Zabbix agent"]
                and one_host(zabbix, "srv-01")
            ),
            "the templates swapped",
        )
        assert host["hostid"] == hostid
        icmp = zabbix.call(
            "item.get", {"hostids": [hostid], "output": ["key_"], "search": {"key_": "icmpping"}}
        )
        assert icmp == []  # unlinked and cleared, not left behind as host items
        # At most one template lookup per run (names read within a minute need none);
        # unlinking needed none of its own.
        stack.settle()
        assert reconcile_runs(db) > runs
        assert 1 <= runtime.zabbix.calls["template.get"] - lookups <= reconcile_runs(db) - runs
    finally:
        db.execute("DELETE FROM mappings WHERE name = 'linux'")
