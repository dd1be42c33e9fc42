"""Maintenance windows on real Zabbix 6.0 and 7.0 (and the 7.2 rules of the stand-in):
written by an operator, followed by reconcile runs as devices come, move and go, driven by
NetBox tags, and cleaned up when they end, also when Zabbix was unreachable at the time."""

from datetime import UTC, datetime, timedelta

import pytest

from handlers.jobs import maintenance
from tests.conftest import ZABBIX_VERSIONS
from tests.faults import CuttableProxy
from tests.integration.conftest import FINAL
from tests.integration.zabbix_stack import one_host
from tests.netbox_sim.model import site_ref
from tests.waiting import job_in, wait_for

pytestmark = pytest.mark.integration

BOTH = pytest.mark.parametrize(
    "zabbix_version", ["6.0", "7.0", "7.2"], ids=["zabbix6.0", "zabbix7.0", "zabbix7.2-standin"]
)


@pytest.fixture
def windows(db):
    """No window from an earlier test; the maintenance settings put back afterwards."""
    db.execute("DELETE FROM maintenance_windows")
    before = db.execute(
        "SELECT maintenance_tags, delete_mode, delete_during_maintenance FROM settings"
    ).fetchone()
    yield
    db.execute("DELETE FROM maintenance_windows")
    db.execute(
        "UPDATE settings SET maintenance_tags = %(maintenance_tags)s, delete_mode ="
        " %(delete_mode)s, delete_during_maintenance = %(delete_during_maintenance)s",
        before,
    )


def iso(at):
    return at.isoformat()


def now():
    return datetime.now(UTC).replace(second=0, microsecond=0)


def run(stack, actor, *args):
    """Send a job and wait until it is final; its row."""
    message = stack.runtime.broker.get_actor(actor).send(*args)
    return job_in(stack.db, message.message_id, FINAL, timeout=60)


def create(stack, **body):
    """An operator's window, checked and recorded, then written to Zabbix by its job."""
    with stack.runtime.store.connection() as conn:
        row = maintenance.create_window(conn, stack.runtime.netbox, body, "test")
    job = run(stack, "maintenance_window", row["id"])
    assert job["status"] == "succeeded", job["error"]
    return row


def in_zabbix(zabbix, name):
    """The Zabbix maintenance named ``name`` with its hosts and periods, or None."""
    found = zabbix.call(
        "maintenance.get",
        {
            "output": "extend",
            "filter": {"name": [name]},
            "selectHosts": ["hostid"],
            "selectTimeperiods": "extend",
        },
    )
    return found[0] if found else None


def hostids(zabbix, name):
    found = in_zabbix(zabbix, name)
    return sorted(h["hostid"] for h in found["hosts"]) if found else []


def hostid(stack, target):
    row = stack.db.execute("SELECT hostid FROM host_configs WHERE target = %s", [target]).fetchone()
    return row["hostid"] if row else None


def window_row(stack, name):
    return stack.db.execute("SELECT * FROM maintenance_windows WHERE name = %s", [name]).fetchone()


@BOTH
def test_site_window_follows_devices_that_join_and_leave_the_site(stack, windows):
    sim, _, zabbix = stack
    devs = [
        sim.sim.create_device(f"mw-{n}", ip=f"10.0.80.{n}/24", site=site_ref("dc2"))
        for n in (1, 2, 3)
    ]
    other = sim.sim.create_device("mw-other", ip="10.0.80.9/24", site=site_ref("dc3"))
    stack.settle()
    ids = {d: hostid(stack, f"dcim.device:{d}") for d in [*devs, other]}
    assert all(ids.values())
    start = now() + timedelta(hours=1)
    create(stack, name="dc2 works", start=iso(start), duration="2h", sites=["dc2"])

    found = in_zabbix(zabbix, "dc2 works")
    assert found["maintenance_type"] == "0"  # with data collection
    assert (found["active_since"], found["active_till"]) == (
        str(int(start.timestamp())),
        str(int(start.timestamp()) + 7200),
    )
    (period,) = found["timeperiods"]
    assert (period["timeperiod_type"], period["period"]) == ("0", "7200")
    assert period["start_date"] == str(int(start.timestamp()))
    assert hostids(zabbix, "dc2 works") == sorted(ids[d] for d in devs)
    assert window_row(stack, "dc2 works")["status"] == "pending"

    # A fourth device added to the site joins; one moved away leaves.
    fourth = sim.sim.create_device("mw-4", ip="10.0.80.4/24", site=site_ref("dc2"))
    stack.settle()
    ids[fourth] = hostid(stack, f"dcim.device:{fourth}")
    assert hostids(zabbix, "dc2 works") == sorted(ids[d] for d in [*devs, fourth])
    sim.sim.update_device(devs[0], site=site_ref("dc3"))
    stack.settle()
    assert hostids(zabbix, "dc2 works") == sorted(ids[d] for d in [*devs[1:], fourth])
    members = stack.db.execute(
        "SELECT target FROM maintenance_members m JOIN maintenance_windows w"
        " ON w.id = m.window_id WHERE w.name = 'dc2 works' ORDER BY target"
    ).fetchall()
    assert [m["target"] for m in members] == sorted(f"dcim.device:{d}" for d in [*devs[1:], fourth])


@BOTH
def test_weekly_window_without_data_collection(stack, windows):
    sim, _, zabbix = stack
    dev = sim.sim.create_device("mw-weekly", ip="10.0.81.1/24")
    stack.settle()
    start = now()
    create(
        stack,
        name="weekend",
        start=iso(start),
        duration="14d",
        collect_data=False,
        periods=[
            {"kind": "weekly", "days": ["sat", "sun"], "start_time": "02:00", "duration": "4h"}
        ],
        hosts=[f"dcim.device:{dev}"],
    )
    found = in_zabbix(zabbix, "weekend")
    assert found["maintenance_type"] == "1"  # no data collection
    (period,) = found["timeperiods"]
    assert (period["timeperiod_type"], period["every"], period["dayofweek"]) == ("3", "1", "96")
    assert (period["start_time"], period["period"]) == (str(2 * 3600), str(4 * 3600))
    assert hostids(zabbix, "weekend") == [hostid(stack, f"dcim.device:{dev}")]
    assert window_row(stack, "weekend")["status"] == "active"


@BOTH
def test_tagging_a_device_puts_its_host_into_the_services_window(stack, windows):
    sim, _, zabbix = stack
    stack.db.execute("UPDATE settings SET maintenance_tags = '{maintenance}'")
    a = sim.sim.create_device("mw-tag-a", ip="10.0.82.1/24")
    b = sim.sim.create_device("mw-tag-b", ip="10.0.82.2/24")
    stack.settle()
    name = "NetBox tag maintenance"
    assert in_zabbix(zabbix, name) is None

    sim.sim.update_device(a, tags=["maintenance"])
    wanted = [hostid(stack, f"dcim.device:{a}")]
    wait_for(lambda: hostids(zabbix, name) == wanted, "the tagged host in the window", 30)
    found = in_zabbix(zabbix, name)
    assert found["active_till"] == "2147464800"  # open-ended: Zabbix's last date
    sim.sim.update_device(b, tags=["maintenance"])
    both = sorted([*wanted, hostid(stack, f"dcim.device:{b}")])
    wait_for(lambda: hostids(zabbix, name) == both, "both tagged hosts in the window", 30)

    # The type of the service's windows follows maintenance_collect_data (at the clean-up).
    stack.db.execute("UPDATE settings SET maintenance_collect_data = false")
    assert run(stack, "maintenance_cleanup")["status"] == "succeeded"
    assert in_zabbix(zabbix, name)["maintenance_type"] == "1"

    sim.sim.update_device(a, tags=[])
    stack.settle()
    assert hostids(zabbix, name) == [hostid(stack, f"dcim.device:{b}")]
    # The last host leaving removes the Zabbix maintenance; the window stays for the next.
    sim.sim.update_device(b, tags=[])
    stack.settle()
    assert in_zabbix(zabbix, name) is None
    row = window_row(stack, name)
    assert (row["owner"], row["maintenanceid"], row["status"]) == ("netbox", None, "active")

    # The tag leaves the settings: its window ends; back in them, the window lives again.
    stack.db.execute("UPDATE settings SET maintenance_tags = '{}'")
    assert run(stack, "maintenance_cleanup")["result"]["expired"] == 1
    assert window_row(stack, name)["status"] == "expired"
    stack.db.execute("UPDATE settings SET maintenance_tags = '{maintenance}'")
    sim.sim.update_device(a, tags=["maintenance"])
    wait_for(lambda: hostids(zabbix, name) == wanted, "the tagged host in the window again", 30)
    stack.settle()  # Zabbix is written before the run's row commits
    assert window_row(stack, name)["status"] == "active"


class TestCleanup:
    """The worker reaches Zabbix through a proxy the test can cut."""

    @pytest.fixture
    def zabbix_proxy(self, zabbix_version):
        proxy = CuttableProxy(("127.0.0.1", ZABBIX_VERSIONS[zabbix_version][0])).start()
        yield proxy
        proxy.close()

    @pytest.fixture
    def stack_env(self, zabbix_proxy):
        return {"NZC_ZABBIX_URL": f"http://127.0.0.1:{zabbix_proxy.port}/api_jsonrpc.php"}

    @pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"], ids=["zabbix6.0", "zabbix7.0"])
    def test_cleanup_expires_ended_windows_and_retries_when_zabbix_was_unreachable(
        self, stack, windows, zabbix_proxy
    ):
        sim, _, zabbix = stack
        dev = sim.sim.create_device("mw-end", ip="10.0.83.1/24")
        stack.settle()
        for name in ("ends first", "ends later"):
            create(
                stack,
                name=name,
                start=iso(now() - timedelta(hours=1)),
                duration="3h",
                hosts=[f"dcim.device:{dev}"],
            )
            assert in_zabbix(zabbix, name) is not None
        # Time passes: the first window's end is now behind us.
        stack.db.execute(
            "UPDATE maintenance_windows SET ends_at = now() - interval '1 minute'"
            " WHERE name = 'ends first'"
        )
        job = run(stack, "maintenance_cleanup")
        assert job["status"] == "succeeded", job["error"]
        assert job["result"]["expired"] == 1
        assert in_zabbix(zabbix, "ends first") is None
        row = window_row(stack, "ends first")
        assert (row["status"], row["maintenanceid"], row["expired_at"] is not None) == (
            "expired",
            None,
            True,
        )
        assert in_zabbix(zabbix, "ends later") is not None

        # Zabbix unreachable when the second one ends: failed, with why, and retried.
        stack.db.execute(
            "UPDATE maintenance_windows SET ends_at = now() - interval '1 minute'"
            " WHERE name = 'ends later'"
        )
        zabbix_proxy.cut()
        job = run(stack, "maintenance_cleanup")
        assert job["status"] == "partial"
        row = window_row(stack, "ends later")
        assert row["status"] == "failed" and "did not answer" in row["error"]
        assert in_zabbix(zabbix, "ends later") is not None  # nothing forgotten
        zabbix_proxy.restore()
        job = run(stack, "maintenance_cleanup")
        assert job["status"] == "succeeded", job["error"]
        assert in_zabbix(zabbix, "ends later") is None
        assert window_row(stack, "ends later")["status"] == "expired"
        assert (
            stack.db.execute("SELECT count(*) AS n FROM maintenance_members").fetchone()["n"] == 0
        )


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_a_host_in_an_active_window_is_disabled_and_deleted_when_the_window_ends(stack, windows):
    sim, _, zabbix = stack
    stack.db.execute("UPDATE settings SET delete_mode = 'hard'")
    dev = sim.sim.create_device("mw-keep", ip="10.0.84.1/24", site=site_ref("dc5"))
    other = sim.sim.create_device("mw-stays", ip="10.0.84.2/24", site=site_ref("dc5"))
    stack.settle()
    target = f"dcim.device:{dev}"
    kept = hostid(stack, target)
    row = create(
        stack,
        name="rack move",
        start=iso(now() - timedelta(minutes=5)),
        duration="2h",
        sites=["dc5"],
    )
    both = sorted([kept, hostid(stack, f"dcim.device:{other}")])
    sim.sim.delete_device(dev)
    stack.settle()
    host = one_host(zabbix, "mw-keep")
    assert (host["hostid"], host["status"]) == (kept, "1")  # disabled, not deleted
    assert hostid(stack, target) == kept
    assert hostids(zabbix, "rack move") == both
    # NetBox no longer lists it in the site: the clean-up and a full sync keep it all the same.
    assert run(stack, "maintenance_cleanup")["status"] == "succeeded"
    assert run(stack, "sync_hosts")["status"] == "succeeded"
    stack.settle()
    assert hostids(zabbix, "rack move") == both
    assert one_host(zabbix, "mw-keep")["status"] == "1"

    with stack.runtime.store.connection() as conn:
        maintenance.windows.end_now(conn, row["id"])
    job = run(stack, "maintenance_window", row["id"], "end")
    assert job["status"] == "succeeded", job["error"]
    stack.settle()
    assert one_host(zabbix, "mw-keep") is None
    assert hostid(stack, target) is None
    assert window_row(stack, "rack move")["status"] == "expired"
