"""What a full sync marks, holds back and says, from a plan (pure functions)."""

from dataclasses import replace

from handlers.decide.plan import decide
from handlers.decide.sync import describe, marks, sync_states
from handlers.decide.targets import is_target
from tests.unit.test_plan import (
    HOSTID,
    ONE,
    WEBHOOK,
    actual,
    config,
    desired_for,
    device,
    reading,
    target,
    view,
)
from tests.unit.test_plan import mapping as base_mapping_with


def in_step_config(tgt=ONE, hostid=HOSTID):
    return {**config(tgt, hostid), "host": f"sw-{tgt.split(':')[1].zfill(2)}"} | {
        "name": f"sw-{tgt.split(':')[1].zfill(2)}",
        "missing_since": None,
    }


def test_only_what_a_run_must_change_is_marked_and_a_host_in_step_is_not():
    hosts = [actual(desired_for(device(n)), hostid=f"1000{n}") for n in (1, 2)]
    renamed = device(2, name="sw-02-new")
    configs = [in_step_config(target(n), f"1000{n}") for n in (1, 2)]
    plan = decide(reading({ONE: device(1), target(2): renamed}, configs=configs), view(*hosts))
    got = marks(plan, limit=50)
    assert got.reasons == {target(2): "full sync: update"} and got.held is None
    states = sync_states(plan, {c["target"]: c for c in configs})
    assert states[ONE] == []
    assert any("sw-02-new" in s for s in states[target(2)])
    lines = describe(plan, got.reasons)
    assert lines[0] == "update   dcim.device:2 'sw-02-new'"


def test_a_host_in_step_whose_host_config_is_stale_or_missing_is_marked():
    host = actual(desired_for(device(1)))
    lost = decide(reading({ONE: device(1)}), replace(view(), owned={ONE: (host,)}))
    assert "no host config names it" in marks(lost, limit=50).reasons[ONE]
    stale = {**in_step_config(), "missing_since": "2026-12-01"}
    back = decide(reading({ONE: device(1)}, configs=[stale]), view(host))
    assert "no longer says missing" in marks(back, limit=50).reasons[ONE]


def test_deletions_past_the_limit_are_all_held_back_and_the_rest_still_marked():
    hosts = [actual(desired_for(device(n)), hostid=f"1000{n}") for n in (1, 2, 3)]
    configs = [in_step_config(target(n), f"1000{n}") for n in (1, 2, 3)]
    gone = {target(n): WEBHOOK for n in (1, 2)}
    renamed = device(3, name="sw-03-new")
    plan = decide(
        reading(
            {target(3): renamed},
            targets=[target(n) for n in (1, 2, 3)],
            configs=configs,
            deleted=gone,
        ),
        view(*hosts),
    )
    held = marks(plan, limit=1)
    assert held.reasons == {target(3): "full sync: update"}
    assert held.deletions == (target(1), target(2))
    assert "would delete 2 Zabbix hosts, more than max_deletions (1)" in held.held
    assert "nzc sync now --allow-deletions 2" in held.held
    allowed = marks(plan, limit=1, allowed=2)
    assert set(allowed.reasons) == {target(1), target(2), target(3)} and allowed.held is None
    assert "more than --allow-deletions (1)" in marks(plan, limit=50, allowed=1).held


def test_a_failed_target_is_marked_again_unless_refused_again_for_the_same_reason():
    missing_template = [{**base_mapping_with(templates=["Nope"])}]
    plan = decide(
        reading({ONE: device(1), target(2): device(2)}, mappings=missing_template), view()
    )
    reason = plan.steps[ONE].reason
    got = marks(plan, limit=50, failures={ONE: reason, target(2): "Zabbix refused host.create"})
    assert got.reasons == {target(2): "full sync: refuse"}
    gone = decide(reading({}, targets=[target(5)]), view())
    assert marks(gone, limit=50, failures={target(5): "boom"}).reasons == {
        target(5): "full sync: its last run failed"
    }


def test_only_canonical_targets_are_targets():
    assert is_target("dcim.device:42") and is_target("virtualization.virtualmachine:7")
    for typed in ("", "device:42", "dcim.device:", "dcim.device:042", "dcim.interface:5", "x"):
        assert not is_target(typed)
