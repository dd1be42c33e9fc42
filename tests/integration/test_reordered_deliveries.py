"""R4: webhooks duplicated, reordered and dropped. A hypothesis state machine changes a few
devices in the simulator (create, rename, status, IP address, delete) while holding their
webhooks back; it delivers them one at a time in an order it picks, some twice, some never,
then a sync heals what was dropped; Zabbix must end as the simulator's final state requires.
"""

import hashlib
import itertools
import json

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    precondition,
    rule,
)

from tests.integration.conftest import FINAL
from tests.waiting import job_in

pytestmark = pytest.mark.integration

#: NetBox statuses the machine sets, and what each means for the host with the default
#: settings: monitored (Zabbix status 0), disabled (1), removed (no host).
STATUSES = {"active": "0", "offline": "1", "decommissioning": None}
#: Examples (each a fresh set of devices) and steps per example: the whole stack runs each.
EXAMPLES, STEPS = 10, 30

_examples = itertools.count()


def zabbix_state(zabbix, prefix):
    """Each host named ``prefix...``: name -> (status, the IP addresses of its interfaces)."""
    hosts = zabbix.call(
        "host.get",
        {
            "output": ["host", "status"],
            "search": {"host": prefix},
            "startSearch": True,
            "selectInterfaces": ["ip"],
        },
    )
    return {h["host"]: (h["status"], sorted(i["ip"] for i in h["interfaces"])) for h in hosts}


def wanted_state(sim, prefix):
    """What Zabbix must hold for the simulator's devices named ``prefix...`` now."""
    wanted = {}
    for device in sim.sim.objects["device"].values():
        status = STATUSES[device["status"]["value"]]
        if not device["name"].startswith(prefix) or status is None:
            continue
        ip = sim.sim.objects["ipaddress"][device["primary_ip"]["id"]]["address"]
        wanted[device["name"]] = (status, [ip.split("/")[0]])
    return wanted


def without(state, names):
    return {name: value for name, value in state.items() if name not in names}


def device_of(body):
    """The id of the device a webhook is about: itself, its interface's, its IP's."""
    data = body["data"]
    kind = body.get("model") or body.get("object_type", "").split(".")[-1]
    if kind == "device":
        return data["id"]
    if kind == "interface":
        return (data.get("device") or {}).get("id")
    assigned = data.get("assigned_object") or {}
    return (assigned.get("device") or {}).get("id")


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_r4_duplicated_reordered_and_dropped_webhooks_converge(stack, db):
    sim, runtime, zabbix = stack
    db.execute("UPDATE settings SET delete_mode = 'hard'")  # the stack puts it back
    figures = {"examples": 0, "changes": 0, "delivered": 0, "duplicated": 0, "dropped": 0}

    class Deliveries(RuleBasedStateMachine):
        devices = Bundle("devices")

        @initialize()
        def start(self):
            self.n = next(_examples)
            self.prefix = f"r4-{self.n}-"
            self.names = itertools.count()
            self.pending, self.delivered = [], []
            #: Devices some of whose webhooks were dropped (only a sync brings them in
            #: line), and every name each device had.
            self.lost, self.names_of = set(), {}
            sim.sim.emit = self.pending.append  # NetBox's webhooks, held back
            figures["examples"] += 1

        def _name(self):
            return f"{self.prefix}{next(self.names)}"

        def _ip(self):
            return f"10.71.{self.n % 250}.{next(self.names) % 250 + 1}/24"

        @rule(target=devices)
        def create(self):
            figures["changes"] += 1
            name = self._name()
            device = sim.sim.create_device(name, ip=self._ip())
            self.names_of[device] = {name}
            return device

        @rule(device=devices)
        def rename(self, device):
            figures["changes"] += 1
            name = self._name()
            sim.sim.update_device(device, name=name)
            self.names_of[device].add(name)

        @rule(device=devices, status=st.sampled_from(sorted(STATUSES)))
        def set_status(self, device, status):
            figures["changes"] += 1
            sim.sim.update_device(device, status=status)

        @rule(device=devices)
        def change_ip(self, device):
            figures["changes"] += 1
            primary = sim.sim.objects["device"][device]["primary_ip"]["id"]
            sim.sim.update_ip(primary, address=self._ip())

        @rule(device=consumes(devices))
        def delete(self, device):
            figures["changes"] += 1
            sim.sim.delete_device(device)

        @precondition(lambda self: self.pending)
        @rule(pick=st.integers(min_value=0))
        def deliver(self, pick):
            """The next delivery is any webhook still held: NetBox's order is not kept."""
            body = self.pending.pop(pick % len(self.pending))
            self._send(body)
            self.delivered.append(body)

        @precondition(lambda self: self.delivered)
        @rule(pick=st.integers(min_value=0))
        def deliver_again(self, pick):
            """A webhook again, past the edge's de-duplication (as after its 10 minutes),
            so the worker handles it twice."""
            figures["duplicated"] += 1
            body = self.delivered[pick % len(self.delivered)]
            db.execute(
                "DELETE FROM webhook_dedupe WHERE body_sha256 = %s",
                [hashlib.sha256(json.dumps(body).encode()).digest()],
            )
            self._send(body)

        @precondition(lambda self: self.pending)
        @rule(pick=st.integers(min_value=0))
        def drop(self, pick):
            figures["dropped"] += 1
            self.lost.add(device_of(self.pending.pop(pick % len(self.pending))))

        @precondition(lambda self: self.pending)
        @rule(device=devices)
        def lose_all_about(self, device):
            """NetBox fails every delivery about one device held so far (down for a while):
            only a sync can bring it in line."""
            kept = [body for body in self.pending if device_of(body) != device]
            figures["dropped"] += len(self.pending) - len(kept)
            if len(kept) < len(self.pending):
                self.lost.add(device)
            self.pending[:] = kept

        def _send(self, body):
            figures["delivered"] += 1
            sim.sender(body)
            sim.sender.wait()

        def teardown(self):
            sim.sim.emit = sim.sender
            for body in self.pending:  # what is still held goes, in NetBox's order
                self._send(body)
            stack.settle(timeout=120)
            # The webhooks alone, duplicated and in any order, bring in line every device
            # none of whose webhooks was dropped.
            lost = set().union(*(self.names_of[d] for d in self.lost if d in self.names_of))
            assert without(zabbix_state(zabbix, self.prefix), lost) == without(
                wanted_state(sim, self.prefix), lost
            )
            # A sync heals the dropped ones, as the periodic one would.
            message = runtime.broker.get_actor("sync_hosts").send()
            job = job_in(db, message.message_id, FINAL, timeout=120)
            assert job["status"] == "succeeded", job["error"]
            stack.settle(timeout=120)
            assert zabbix_state(zabbix, self.prefix) == wanted_state(sim, self.prefix)

    Deliveries.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,  # each run explores afresh; the stack's state is not replayable
    )
    try:
        Deliveries.TestCase().runTest()
    finally:
        sim.sim.emit = sim.sender
    print(
        f"R4 duplicated, reordered and dropped webhooks: {figures['examples']} examples, "
        f"{figures['changes']} changes, {figures['delivered']} deliveries "
        f"({figures['duplicated']} duplicates, the rest in the order hypothesis picked), "
        f"{figures['dropped']} dropped and healed by a sync; Zabbix equal to NetBox after "
        "each"
    )
