"""The host jobs of the catalogue, one target at a time, for operators and the CLI.

Events do not come here: they mark targets dirty and a reconcile run applies the same
decisions (:mod:`handlers.jobs.reconcile`) to many targets at once. These functions run one
job by hand (``nzc provision``, ``nzc validate``, ``nzc hosts ...``) on the same planner, so
a job started by hand and a reconcile run never disagree. Each is idempotent: run twice,
the second run finds the host in step and writes nothing.
"""

from __future__ import annotations

from typing import Any

from handlers.decide.desired import interface_types_problem
from handlers.decide.host_state import interface_kind
from handlers.decide.mirror import misconfigurations
from handlers.decide.payloads import interface_changes
from handlers.decide.plan import (
    CREATE,
    DELETE,
    MISSING,
    REFUSE,
    SKIP,
    Plan,
    TargetPlan,
    delete_plan,
)
from handlers.decide.plan import problems as plan_problems
from handlers.gateways import host_configs, mirrors, target_failures, zabbix_hosts
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixGateway
from handlers.jobs.reconcile import plan_targets, summary, write
from handlers.runner import Job, Refused


def _refused(job_name: str, target: str, why: str, **data: Any) -> Refused:
    """The refusal of a job by hand: its name, its target and why, for the job row."""
    return Refused(f"{job_name} {target}: {why}", data={"target": target, **data})


def _step(plan: Plan, target: str, job_name: str) -> TargetPlan:
    """The target's decision; a job by hand fails loudly where a reconcile run would log."""
    step = plan.steps[target]
    if step.action in (SKIP, REFUSE):
        raise _refused(job_name, target, step.reason)
    if step.action == DELETE:
        raise _refused(
            job_name,
            target,
            f"{step.reason}; `nzc hosts delete {target}` removes its Zabbix host",
        )
    if step.action == MISSING:
        raise _refused(job_name, target, step.reason)
    return step


def _converge(job: Job, zbx: ZabbixGateway, plan: Plan, target: str, job_name: str) -> dict:
    _step(plan, target, job_name)
    outcome = write(job, zbx, plan)
    counts = summary(job, plan, outcome)
    if target in outcome.failed:  # Zabbix refused the write
        raise _refused(job_name, target, outcome.failed[target])
    config = host_configs.load_host_configs(job.conn, [target])[target]
    return {"target": target, "hostid": config["hostid"], "host": config["host"], **counts}


def create_host(job: Job, zbx: ZabbixGateway, netbox: Any, target: str) -> dict:
    """CreateZabbixHost: one ``host.create`` with everything; a host that exists and carries
    our ownership tag is adopted and brought in line instead."""
    plan = plan_targets(job.conn, zbx, netbox, [target])
    return _converge(job, zbx, plan, target, "CreateZabbixHost")


def update_host(job: Job, zbx: ZabbixGateway, netbox: Any, target: str) -> dict:
    """UpdateZabbixHost: one ``host.update`` with what changed, none when nothing did."""
    if not host_configs.load_host_configs(job.conn, [target]):
        raise _refused(
            "UpdateZabbixHost",
            target,
            "it has no host config, so no Zabbix host to update; create one with "
            f"`nzc provision agent {target}` or `nzc hosts create {target}`",
        )
    plan = plan_targets(job.conn, zbx, netbox, [target])
    return _converge(job, zbx, plan, target, "UpdateZabbixHost")


def provision(job: Job, zbx: ZabbixGateway, netbox: Any, target: str, kinds: list[str]) -> dict:
    """ProvisionAgent / ProvisionSNMP: create (or bring in line) the host with the given
    interface types and keep that choice in the host config, over the mapping's."""
    job_name = "ProvisionAgent" if kinds == ["agent"] else "ProvisionSNMP"
    if problem := interface_types_problem(kinds):
        raise _refused(job_name, target, problem, interface_types=kinds)
    plan = plan_targets(job.conn, zbx, netbox, [target], provisioned={target: kinds})
    step = _step(plan, target, job_name)
    if step.no_primary_ip:
        raise _refused(job_name, target, step.reason)
    got = [interface_kind(i) for i in step.desired.interfaces]
    if got != kinds:
        raise _refused(
            job_name,
            target,
            "the object's own override (custom field zabbix_interface_type or config context "
            f"zabbix.interface_type) asks for {', '.join(got)}; change it in NetBox to "
            f"provision {', '.join(kinds)}",
            interface_types=kinds,
            override=got,
        )
    return _converge(job, zbx, plan, target, job_name)


def delete_host(
    job: Job, zbx: ZabbixGateway, target: str, mode: str | None = None
) -> dict[str, Any]:
    """DeleteZabbixHost: soft (archive: suffix, graveyard group, disabled, history kept) or
    hard (``host.delete``), per ``mode`` or the settings; the host config goes either way.
    Nothing to delete is success, so a retried or duplicate delete converges."""
    configs = host_configs.load_host_configs(job.conn, [target])
    if not configs:
        return {"target": target, "deleted": False, "reason": "it has no host config"}
    settings = read_settings(job.conn)
    mode = mode or settings["delete_mode"]
    config = configs[target]
    ids = zabbix_hosts.read_ids(zbx, (settings["graveyard_group"],), ())
    found = zabbix_hosts.get_hosts(zbx, hostids=(config["hostid"],))
    actual = zabbix_hosts.actual_host(zbx.dialect, found[0], ids) if found else None
    plan = delete_plan(target, config, actual, ids, settings, mode)
    outcome = write(job, zbx, plan)
    if target in outcome.failed:
        raise Refused(f"DeleteZabbixHost {target}: {outcome.failed[target]}", data=config)
    return {"target": target, "deleted": True, "mode": mode}


def _host_in_step_or_changed(plan: Plan, target: str, job_name: str) -> TargetPlan:
    step = _step(plan, target, job_name)
    if not step.config:
        raise _refused(
            job_name,
            target,
            f"it has no host config; create the host first (`nzc provision agent {target}`)",
        )
    if step.action == CREATE:
        raise _refused(
            job_name,
            target,
            f"{step.note or 'its Zabbix host is missing'}; "
            f"recreate it with `nzc hosts create {target}`",
        )
    return step


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
    step = _host_in_step_or_changed(plan, target, job_name)
    to_create, to_update = interface_changes(step.desired, step.actual)
    payload = to_create if create else to_update
    ids = zbx.call(method, payload)["interfaceids"] if payload else []
    if ids:
        job.log(
            "info",
            f"{target}: {job_name}: {verb} {', '.join(map(interface_kind, payload))}",
            target=target,
            data={"interfaceids": ids, "pre_data": list(step.actual.interfaces)},
        )
    return {"target": target, verb: len(ids), "interfaceids": ids}


def validate(job: Job, zbx: ZabbixGateway, netbox: Any, targets: list[str]) -> dict:
    """ValidateHost: compare Zabbix with what NetBox and the host configs say, writing
    nothing; raise with every difference and misconfiguration when there is any."""
    plan = plan_targets(job.conn, zbx, netbox, targets)
    problems = plan_problems(plan)
    templates = mirrors.load(job.conn, "templates")
    for target, step in plan.steps.items():
        found = []
        if step.desired is not None:
            found += misconfigurations(step.desired.templates, step.desired.interfaces, templates)
        if step.actual is not None:  # two interfaces on one address, made by hand
            found += misconfigurations((), step.actual.interfaces, {}, where="Zabbix has")
        for sentence in dict.fromkeys(found):
            if sentence not in problems.get(target, []):
                problems.setdefault(target, []).append(sentence)
    for target, failure in target_failures.load(job.conn, targets).items():
        problems.setdefault(target, []).append(
            f"its last reconcile run ({failure['job_id']}) failed: {failure['error']}"
        )
    problems = dict(sorted(problems.items()))
    if problems:
        lines = [f"{len(problems)} of {len(targets)} hosts differ from NetBox:"]
        for target, found in problems.items():
            lines += [f"  {target}: {p}" for p in found]
        raise Refused("\n".join(lines), data={"problems": problems})
    return {"validated": len(targets), "problems": 0}
