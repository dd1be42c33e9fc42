"""The host jobs of the catalogue, one target at a time, for operators and the CLI.

Events do not come here: they mark targets dirty and a reconcile run applies the same
decisions (:mod:`handlers.reconcile`) to many targets at once. These functions run one job
by hand (``nzc provision``, ``nzc validate``, ``nzc hosts ...``) on the same planning code,
so a job started by hand and a reconcile run never disagree. Each is idempotent: run twice,
the second run finds the host in step and writes nothing.
"""

from __future__ import annotations

from typing import Any

from handlers import hosts_store
from handlers.desired import INTERFACE_TYPES, DesiredHost, describe_differences, interface_kind
from handlers.reconcile import Plan, apply_plan, delete_hosts, plan_targets, summary
from handlers.runner import Job, Refused
from handlers.settings_store import read_settings
from handlers.zabbix import ZabbixGateway
from handlers.zabbix_hosts import interface_changes, resolve


def _refuse_unless_plannable(plan: Plan, target: str, job_name: str) -> None:
    """A job by hand fails loudly where a reconcile run would only log."""
    reason = plan.failed.get(target) or plan.skipped.get(target)
    if reason:
        raise Refused(f"{job_name} {target}: {reason}", data={"target": target})
    if any(c["target"] == target for c in plan.delete):
        raise Refused(
            f"{job_name} {target}: it is not in NetBox (or has a removal status); "
            f"`nzc hosts delete {target}` removes its Zabbix host",
            data={"target": target},
        )


def _converge(job: Job, zbx: ZabbixGateway, plan: Plan, target: str, job_name: str) -> dict:
    _refuse_unless_plannable(plan, target, job_name)
    counts = summary(job, plan, apply_plan(job, zbx, plan))
    if target in plan.failed:  # Zabbix refused the write
        raise Refused(f"{job_name} {target}: {plan.failed[target]}", data={"target": target})
    config = hosts_store.load_host_configs(job.conn, [target])[target]
    return {"target": target, "hostid": config["hostid"], "host": config["host"], **counts}


def create_host(job: Job, zbx: ZabbixGateway, netbox: Any, target: str) -> dict:
    """CreateZabbixHost: one ``host.create`` with everything; a host that exists and carries
    our ownership tag is adopted and brought in line instead."""
    plan = plan_targets(job.conn, zbx, netbox, [target])
    return _converge(job, zbx, plan, target, "CreateZabbixHost")


def update_host(job: Job, zbx: ZabbixGateway, netbox: Any, target: str) -> dict:
    """UpdateZabbixHost: one ``host.update`` with what changed, none when nothing did."""
    if not hosts_store.load_host_configs(job.conn, [target]):
        raise Refused(
            f"UpdateZabbixHost {target}: it has no host config, so no Zabbix host to update; "
            f"create one with `nzc provision agent {target}` or `nzc hosts create {target}`",
            data={"target": target},
        )
    plan = plan_targets(job.conn, zbx, netbox, [target])
    return _converge(job, zbx, plan, target, "UpdateZabbixHost")


def provision(job: Job, zbx: ZabbixGateway, netbox: Any, target: str, kinds: list[str]) -> dict:
    """ProvisionAgent / ProvisionSNMP: create (or bring in line) the host with the given
    interface types and keep that choice in the host config, over the mapping's."""
    job_name = "ProvisionAgent" if kinds == ["agent"] else "ProvisionSNMP"
    unknown = [k for k in kinds if k not in INTERFACE_TYPES]
    if unknown or not kinds:
        raise Refused(
            f"{job_name} {target}: interface types {kinds!r} must be of "
            f"{', '.join(INTERFACE_TYPES)}",
            data={"target": target, "interface_types": kinds},
        )
    plan = plan_targets(job.conn, zbx, netbox, [target], provisioned={target: kinds})
    _refuse_unless_plannable(plan, target, job_name)
    desired = _desired_of(plan, target)
    got = [interface_kind(i) for i in desired.interfaces]
    if got != kinds:
        raise Refused(
            f"{job_name} {target}: the object's own override (custom field "
            f"zabbix_interface_type or config context zabbix.interface_type) asks for "
            f"{', '.join(got)}; change it in NetBox to provision {', '.join(kinds)}",
            data={"target": target, "interface_types": kinds, "override": got},
        )
    return _converge(job, zbx, plan, target, job_name)


def delete_host(
    job: Job, zbx: ZabbixGateway, target: str, mode: str | None = None
) -> dict[str, Any]:
    """DeleteZabbixHost: soft (archive: suffix, graveyard group, disabled, history kept) or
    hard (``host.delete``), per ``mode`` or the settings; the host config goes either way.
    Nothing to delete is success, so a retried or duplicate delete converges."""
    configs = hosts_store.load_host_configs(job.conn, [target])
    if not configs:
        return {"target": target, "deleted": False, "reason": "it has no host config"}
    settings = read_settings(job.conn)
    plan = Plan(settings, configs, delete=list(configs.values()))
    # Only whether the host still exists matters here: a light read, not get_hosts.
    found = zbx.call("host.get", {"output": ["hostid"], "hostids": [configs[target]["hostid"]]})
    plan.by_id = {h["hostid"]: h for h in found}
    if (mode or settings["delete_mode"]) == "soft":
        plan.ids, _ = resolve(zbx, [], extra_groups=(settings["graveyard_group"],))
    delete_hosts(job, zbx, plan, mode)
    if target in plan.failed:
        raise Refused(f"DeleteZabbixHost {target}: {plan.failed[target]}", data=configs[target])
    return {"target": target, "deleted": True, "mode": mode or settings["delete_mode"]}


def _desired_of(plan: Plan, target: str) -> DesiredHost:
    return next(
        entry[0]
        for entry in (*plan.create, *plan.update, *plan.in_step)
        if entry[0].target == target
    )


def _host_in_step_or_changed(plan: Plan, target: str, job_name: str) -> tuple[DesiredHost, Any]:
    _refuse_unless_plannable(plan, target, job_name)
    if not plan.configs.get(target):
        raise Refused(
            f"{job_name} {target}: it has no host config; create the host first "
            f"(`nzc provision agent {target}`)",
            data={"target": target},
        )
    for desired, actual, *_ in (*plan.update, *plan.in_step):
        if desired.target == target:
            return desired, actual
    raise Refused(
        f"{job_name} {target}: {plan.notes.get(target, 'its Zabbix host is missing')}; "
        f"recreate it with `nzc hosts create {target}`",
        data={"target": target},
    )


def interface_job(
    job: Job, zbx: ZabbixGateway, netbox: Any, target: str, *, create: bool
) -> dict[str, Any]:
    """CreateZabbixInterface (``create``): add the interfaces the host config wants and the
    host lacks, one ``hostinterface.create``. UpdateZabbixInterface: bring the existing
    ones in line, one ``hostinterface.update``. Neither writes when nothing is to do."""
    job_name, method, verb = (
        ("CreateZabbixInterface", "hostinterface.create", "added")
        if create
        else ("UpdateZabbixInterface", "hostinterface.update", "updated")
    )
    plan = plan_targets(job.conn, zbx, netbox, [target])
    desired, actual = _host_in_step_or_changed(plan, target, job_name)
    to_create, to_update = interface_changes(desired, actual)
    payload = to_create if create else to_update
    ids = zbx.call(method, payload)["interfaceids"] if payload else []
    if ids:
        job.log(
            "info",
            f"{target}: {job_name}: {verb} {', '.join(map(interface_kind, payload))}",
            target=target,
            data={"interfaceids": ids, "pre_data": list(actual.interfaces)},
        )
    return {"target": target, verb: len(ids), "interfaceids": ids}


def problems_of(plan: Plan) -> dict[str, list[str]]:
    """Per target, what differs between NetBox, the host config and Zabbix, as sentences."""
    problems: dict[str, list[str]] = {}
    for desired, _ in plan.create:
        problems[desired.target] = [
            plan.notes.get(desired.target, "NetBox wants a Zabbix host for it and there is none")
        ]
    for desired, actual, changes, _ in plan.update:
        problems[desired.target] = describe_differences(desired, actual, changes, plan.settings)
    for config in plan.delete:
        problems[config["target"]] = [
            f"it is not in NetBox (or has a removal status) but its Zabbix host "
            f"{config['host']!r} is still there"
            if config["hostid"] in plan.by_id
            else "it is in neither NetBox nor Zabbix, but its host config remains"
        ]
    for target, reason in {**plan.skipped, **plan.failed}.items():
        config = plan.configs.get(target)
        problems[target] = [
            f"{reason}; yet its host config and Zabbix host {config['host']!r} remain"
            if config
            else reason
        ]
    return dict(sorted(problems.items()))


def validate(job: Job, zbx: ZabbixGateway, netbox: Any, targets: list[str]) -> dict:
    """ValidateHost: compare Zabbix with what NetBox and the host configs say, writing
    nothing; raise with every difference and misconfiguration when there is any."""
    plan = plan_targets(job.conn, zbx, netbox, targets, create_groups=False)
    problems = problems_of(plan)
    if problems:
        lines = [f"{len(problems)} of {len(targets)} hosts differ from NetBox:"]
        for target, found in problems.items():
            lines += [f"  {target}: {p}" for p in found]
        raise Refused("\n".join(lines), data={"problems": problems})
    return {"validated": len(targets), "problems": 0}
