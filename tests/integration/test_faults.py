"""What is lost when things break (nothing): faults of the tests' own making on the real
services, through the proxies of tests/faults.py. Each scenario prints its figure (sent,
accepted, in Zabbix, duplicates, lost) and asserts that nothing is lost or duplicated.

The machine's own services are never stopped: the service under test reaches Postgres
through a proxy the test cuts.
"""

import time

import pytest

from tests.faults import CuttableProxy
from tests.waiting import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("zabbix_version", ["7.0"])]

#: Seconds the Postgres cut lasts (the scenario's R6), at least: it ends once every webhook
#: sent during it was answered.
PG_CUT_S = 10


@pytest.fixture
def pg_proxy():
    proxy = CuttableProxy(("127.0.0.1", 5432)).start()
    yield proxy
    proxy.close()


@pytest.fixture
def stack_env(pg_proxy, database_url):
    """The service reaches its database through the proxy; the test observes it directly."""
    head, _, tail = database_url.partition("@127.0.0.1:5432/")
    return {
        "NZC_DATABASE_URL": f"{head}@127.0.0.1:{pg_proxy.port}/{tail}",
        "NZC_JOB_MIN_BACKOFF_MS": "500",  # retries within the test's patience
    }


def hosts_named(zabbix, prefix):
    hosts = zabbix.call("host.get", {"output": ["host"], "search": {"host": prefix}})
    return [h["host"] for h in hosts]


def test_r6_postgres_cut_loses_nothing(stack, pg_proxy, db):
    """Postgres unreachable for the service for 10 s while devices are created: every
    webhook is still answered (RabbitMQ keeps it, unrecorded), the jobs fail and retry, and
    once Postgres is back every host exists once."""
    sim, _runtime, zabbix = stack
    pg_proxy.cut()
    cut_at = time.monotonic()
    sent = 10
    for n in range(sent):
        sim.sim.create_device(f"r6-{n:02d}", ip=f"10.66.0.{n + 1}/24")
    sim.sender.wait()
    accepted = sim.sender.statuses.get(202, 0)
    # The fault lasts its ten seconds (the scenario), not a synchronisation point.
    time.sleep(max(0.0, PG_CUT_S - (time.monotonic() - cut_at)))
    pg_proxy.restore()
    names = [f"r6-{n:02d}" for n in range(sent)]
    wait_for(lambda: set(names) <= set(hosts_named(zabbix, "r6-")), "every host in Zabbix", 180)
    stack.settle(timeout=180)
    found = hosts_named(zabbix, "r6-")
    duplicates = len(found) - len(set(found))
    lost = len(set(names) - set(found))
    print(
        f"R6 Postgres cut {PG_CUT_S} s: sent {sent} devices ({sum(sim.sender.statuses.values())}"
        f" webhooks), accepted {accepted}, in Zabbix {len(set(found))}, duplicates "
        f"{duplicates}, lost {lost}"
    )
    assert accepted == sum(sim.sender.statuses.values())  # every webhook answered 202
    assert (lost, duplicates) == (0, 0)
