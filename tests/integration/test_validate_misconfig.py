"""ValidateHost names the misconfigurations an operator asked for, besides differences."""

import pytest

from tests.integration.test_host_jobs import mirror_afresh, nzc
from tests.waiting import wait_for

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("zabbix_version", ["6.0", "7.0"])
def test_validate_names_a_template_linked_twice_and_one_needing_a_missing_interface(stack, db):
    sim, runtime, zabbix = stack
    base = zabbix.call("template.create", {"host": "NZC Base", "groups": [{"groupid": "1"}]})
    base_id = base["templateids"][0]
    zabbix.call(
        "item.create",
        {
            "hostid": base_id,
            "name": "ping",
            "key_": "agent.ping",
            "type": 0,
            "value_type": 3,
            "delay": "1m",
        },
    )
    zabbix.call(
        "template.create",
        {"host": "NZC Child", "groups": [{"groupid": "1"}], "templates": [{"templateid": base_id}]},
    )
    mirror_afresh(stack)
    dev = sim.sim.create_device(
        "misfit-01",
        ip="10.0.63.1/24",
        custom_fields={
            "zabbix_templates": ["NZC Child", "NZC Base"],
            "zabbix_interface_type": ["snmpv2c"],
        },
    )
    target = f"dcim.device:{dev}"
    wait_for(
        lambda: db.execute(
            "SELECT 1 FROM jobs WHERE %s = ANY(targets) AND actor = 'reconcile'"
            " AND status IN ('succeeded', 'partial')",
            [target],
        ).fetchone(),
        "the reconcile run",
    )
    stack.settle()

    code, out, err = nzc(stack, "validate", target)
    assert code == 1
    assert (
        f"{target}: templates 'NZC Child' and 'NZC Base' conflict: 'NZC Child' already links "
        "'NZC Base', and Zabbix refuses to link a template twice; drop 'NZC Base'" in err
    ), err
    assert (
        f"{target}: template 'NZC Base' needs an agent interface, but NetBox wants snmpv2c "
        "interfaces only" in err
    ), err
    # Its inherited item may count as its own (Zabbix lists inherited items on the child).
    assert f"{target}: template 'NZC Child' needs an agent interface" in err, err
