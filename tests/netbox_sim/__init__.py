"""A NetBox simulator for tests, the ``make run`` demo and benchmarks (NetBox itself cannot be
installed from the package registries). It answers the REST calls the service makes and sends
signed webhooks, both shaped like the NetBox 4.4 captures in tests/fixtures.

Not NetBox: point ``NZC_NETBOX_URL`` at a real NetBox to use one.
"""

from tests.netbox_sim.model import NetBoxSim
from tests.netbox_sim.server import SimServer

__all__ = ["NetBoxSim", "SimServer"]
