"""Reconcile runs: bring a batch of dirty targets in line with NetBox, with array calls.

A run claims up to ``batch`` dirty targets (a committed lease, so events marking them
again never wait for the run), reads them from NetBox (one filtered request per kind) and
Zabbix (one ``host.get`` per lookup), decides per target (create, update, disable,
delete, nothing), then writes: one ``host.create`` carrying every new host, one
``host.update`` carrying every changed one, deletes likewise. A batch call Zabbix refuses is
retried host by host, so one bad host does not block the others. Each target's outcome goes
to the event log under that target.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from handlers import hosts_store
from handlers.desired import (
    OWNER_TAG,
    DesiredHost,
    NotMonitorable,
    build_desired,
    diff,
    select_mapping,
    status_of,
)
from handlers.runner import Job, JobError
from handlers.settings_store import read_settings
from handlers.store import Store
from handlers.zabbix import ZabbixAPIException, ZabbixGateway
from handlers.zabbix_hosts import (
    Ids,
    actual_host,
    create_payload,
    get_hosts,
    owner_of,
    resolve,
    update_payload,
)

log = logging.getLogger(__name__)

#: Targets one reconcile run claims at most.
DEFAULT_BATCH = 200


@dataclass
class Plan:
    """What a run will do, per target, and what it read to decide."""

    settings: dict[str, Any]
    configs: dict[str, dict[str, Any]]
    ids: Ids = field(default_factory=Ids)
    #: Zabbix hosts read for the batch, by hostid.
    by_id: dict[str, Any] = field(default_factory=dict)
    #: Interface types chosen by hand for this run (``nzc provision``), by target.
    provisioned: dict[str, list[str]] = field(default_factory=dict)
    create: list[tuple[DesiredHost, int | None]] = field(default_factory=list)
    update: list[tuple[DesiredHost, Any, dict[str, Any], int | None]] = field(default_factory=list)
    delete: list[dict[str, Any]] = field(default_factory=list)
    in_step: list[tuple[DesiredHost, Any, int | None]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    #: Things worth telling an operator that do not stop the run, by target.
    notes: dict[str, str] = field(default_factory=dict)


def _split(target: str) -> tuple[str, int]:
    object_type, object_id = target.split(":")
    return object_type, int(object_id)


def reconcile(
    job: Job, zbx: ZabbixGateway, netbox: Any, store: Store, batch: int = DEFAULT_BATCH
) -> dict[str, Any]:
    """One reconcile run. Returns counts; the caller re-nudges when targets remain."""
    with store.connection() as side:  # the claim commits at once (see claim_dirty)
        claimed = hosts_store.claim_dirty(side, batch, job.job_id)
    if not claimed:
        return {"claimed": 0}
    try:
        job.lock(list(claimed))
        plan = plan_targets(job.conn, zbx, netbox, list(claimed))
        created = apply_plan(job, zbx, plan)
        hosts_store.clear_dirty(job.conn, claimed, job.job_id)
    except BaseException:
        with store.connection() as side:  # the job rolls back; the targets stay dirty
            hosts_store.release_claims(side, job.job_id)
        raise
    return {"claimed": len(claimed), **summary(job, plan, created)}


def summary(job: Job, plan: Plan, created: int) -> dict[str, Any]:
    """Log what was skipped or refused, per target, and count the outcomes."""
    for target, reason in plan.skipped.items():
        job.log("info", f"{target}: {reason}", target=target)
    for target, error in plan.failed.items():
        job.log("error", f"{target}: {error}", target=target)
    for target, note in plan.notes.items():
        job.log("warning", f"{target}: {note}", target=target)
    return {
        "created": created,
        "updated": len(plan.update),
        "deleted": len(plan.delete),
        "in_step": len(plan.in_step),
        "skipped": len(plan.skipped),
        "failed": len(plan.failed),
    }


def plan_targets(
    conn: Any,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    provisioned: dict[str, list[str]] | None = None,
    *,
    create_groups: bool = True,
) -> Plan:
    """Read ``targets`` from NetBox (one request per kind) and Zabbix (one ``host.get`` per
    lookup) and decide, per target: create, update, delete, nothing, or why not. With
    ``create_groups`` false, nothing is written (missing host groups stay missing)."""
    settings = read_settings(conn)
    mappings = hosts_store.load_mappings(conn)
    plan = Plan(
        settings, hosts_store.load_host_configs(conn, targets), provisioned=provisioned or {}
    )
    configs = plan.configs

    found: dict[str, dict[str, Any]] = {}
    by_kind: dict[str, list[int]] = {}
    for target in targets:
        kind, object_id = _split(target)
        by_kind.setdefault(kind, []).append(object_id)
    for kind, ids in by_kind.items():
        for object_id, entry in netbox.fetch_hosts(kind, ids).items():
            found[f"{kind}:{object_id}"] = entry

    wanted: dict[str, tuple[DesiredHost, int | None]] = {}
    for target in sorted(targets):
        entry = found.get(target)
        config = configs.get(target)
        if entry is None or status_of(entry["obj"]) in settings["removed_statuses"]:
            if config:
                plan.delete.append(config)
            else:
                plan.skipped[target] = "not in NetBox (or removed) and not in Zabbix: nothing to do"
            continue
        kind, _ = _split(target)
        mapping = select_mapping(entry["obj"], kind, mappings)
        chosen = plan.provisioned.get(target) or (config or {}).get("interface_types")
        try:
            desired = build_desired(
                target, entry["obj"], entry["ips"], mapping, settings, provisioned=chosen
            )
        except NotMonitorable as exc:
            plan.skipped[target] = f"not monitored: {exc}"
            continue
        wanted[target] = (desired, mapping["id"] if mapping else None)

    plan.ids, problems = resolve(
        zbx,
        [d for d, _ in wanted.values()],
        extra_groups=(settings["graveyard_group"],),
        create_groups=create_groups,
    )
    for target, problem in problems.items():
        plan.failed[target] = problem
        del wanted[target]
    existing = get_hosts(
        zbx,
        hostids=[c["hostid"] for c in configs.values() if c["hostid"]],
        names=[d.host for d, _ in wanted.values()],
    )
    plan.by_id = {h["hostid"]: h for h in existing}
    by_name = {h["host"]: h for h in existing}
    owner_tag = f"{settings['tag_prefix']}{OWNER_TAG}"
    for target, (desired, mapping_id) in wanted.items():
        config = configs.get(target)
        raw = plan.by_id.get(config["hostid"]) if config else None
        if raw is None:
            if config:
                plan.notes[target] = (
                    f"its host config names Zabbix host {config['hostid']}, which is gone "
                    "(deleted by hand?)"
                )
            raw = by_name.get(desired.host)
            if raw is not None and owner_of(raw, owner_tag) != target:
                plan.failed[target] = (
                    f"a Zabbix host named {desired.host!r} already exists and is not ours "
                    f"(no {owner_tag}={target} tag): import it with `nzc import {target}`, "
                    "or rename one of them"
                )
                continue
        if raw is None:
            plan.create.append((desired, mapping_id))
            continue
        actual = actual_host(zbx, raw, plan.ids)
        changes = diff(desired, actual, settings)
        if changes:
            plan.update.append((desired, actual, changes, mapping_id))
        else:
            plan.in_step.append((desired, actual, mapping_id))
    return plan


def _batched(
    zbx: ZabbixGateway, method: str, payloads: list[dict[str, Any]], targets: list[str], plan: Plan
) -> list[str | None]:
    """Call ``method`` with every payload at once; if Zabbix refuses the batch, one by one.
    Returns the id per payload (None where it failed; the failure goes to ``plan.failed``)."""
    if not payloads:
        return []
    try:
        return list(zbx.call(method, payloads)["hostids"])
    except ZabbixAPIException as exc:
        if len(payloads) == 1:
            plan.failed[targets[0]] = f"Zabbix refused {method}: {exc}"
            return [None]
        log.warning("%s of %d hosts refused; retrying one by one", method, len(payloads))
    out: list[str | None] = []
    for payload, target in zip(payloads, targets, strict=True):
        out.extend(_batched(zbx, method, [payload], [target], plan))
    return out


def apply_plan(job: Job, zbx: ZabbixGateway, plan: Plan) -> int:
    """Write the plan to Zabbix with array calls and record host configs; returns the number
    of hosts created. If anything fails after ``host.create``, the hosts this run created
    are removed (compensation) and the job fails."""
    ids = plan.ids
    create_targets = [d.target for d, _ in plan.create]
    hostids = _batched(
        zbx,
        "host.create",
        [create_payload(zbx, d, ids) for d, _ in plan.create],
        create_targets,
        plan,
    )
    made = [h for h in hostids if h]
    try:
        for (desired, mapping_id), hostid in zip(plan.create, hostids, strict=True):
            if hostid is None:
                continue
            _save(job, plan, desired, hostid, mapping_id)
            job.log(
                "info",
                f"{desired.target}: CreateZabbixHost: created host {desired.host!r} ({hostid})",
                target=desired.target,
                data={"hostid": hostid},
            )
        update_targets = [d.target for d, *_ in plan.update]
        payloads = [
            update_payload(zbx, actual, changes, d, ids) for d, actual, changes, _ in plan.update
        ]
        updated = _batched(zbx, "host.update", payloads, update_targets, plan)
        for (desired, actual, changes, mapping_id), hostid in zip(
            plan.update, updated, strict=True
        ):
            if hostid is None:
                continue
            changed = _jsonable(changes)
            _save(job, plan, desired, actual.hostid, mapping_id, changed)
            job.log(
                "info",
                f"{desired.target}: UpdateZabbixHost: updated {', '.join(sorted(changes))}",
                target=desired.target,
                data={"hostid": actual.hostid, "changes": changed},
            )
        for desired, actual, mapping_id in plan.in_step:
            _save(job, plan, desired, actual.hostid, mapping_id)
        delete_hosts(job, zbx, plan)
    except Exception as exc:
        # Compensation: hosts this run created must not outlive its rolled-back records.
        if made:
            try:
                zbx.call("host.delete", made)
            except Exception:  # noqa: BLE001 -- report the original error
                log.exception("could not remove hosts %s after a failed run", made)
        raise JobError(
            f"reconcile failed after creating {len(made)} host(s), which were removed: {exc}",
            data={"removed_hostids": made},
        ) from exc
    return len(made)


def _save(
    job: Job,
    plan: Plan,
    desired: DesiredHost,
    hostid: str,
    mapping_id: int | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """Record the host config of a target the run brought in line."""
    hosts_store.save_host_config(
        job.conn,
        target=desired.target,
        hostid=hostid,
        host=desired.host,
        name=desired.name,
        mapping_id=mapping_id,
        last_diff=changes,
        interface_types=plan.provisioned.get(desired.target),
    )


def delete_hosts(job: Job, zbx: ZabbixGateway, plan: Plan, mode: str | None = None) -> None:
    """DeleteZabbixHost for every config in ``plan.delete``: soft (archive) or hard
    (``host.delete``) per ``mode`` or the settings; either way the host config goes."""
    settings, by_id = plan.settings, plan.by_id
    mode = mode or settings["delete_mode"]
    present = [c for c in plan.delete if c["hostid"] in by_id]
    done: list[dict[str, Any]] = [c for c in plan.delete if c["hostid"] not in by_id]
    if mode == "hard":
        if present:
            zbx.call("host.delete", [c["hostid"] for c in present])
        done += present
    elif present:
        payloads = _archive_payloads(zbx, present, plan.ids, settings)
        hostids = _batched(zbx, "host.update", payloads, [c["target"] for c in present], plan)
        done += [c for c, h in zip(present, hostids, strict=True) if h]
    for config in done:
        hosts_store.delete_host_config(job.conn, config["target"])
        job.log(
            "info",
            f"{config['target']}: DeleteZabbixHost: deleted host {config['host']!r} ({mode})",
            target=config["target"],
            data={"hostid": config["hostid"], "mode": mode},
        )


def _archive_payloads(
    zbx: ZabbixGateway, configs: list[dict[str, Any]], ids: Ids, settings: dict[str, Any]
) -> list[dict[str, Any]]:
    """Soft delete: rename with the suffix (the technical name gets it without the characters
    Zabbix refuses there), unique among existing hosts; graveyard group; disabled."""
    suffix = settings["archived_suffix"]
    tech_suffix = "-" + (re.sub(r"[^0-9A-Za-z._-]+", "-", suffix).strip("-") or "archived")
    wanted_hosts = [c["host"] + tech_suffix for c in configs]
    wanted_names = [c["name"] + suffix for c in configs]
    taken_hosts = {
        h["host"]
        for h in zbx.call("host.get", {"output": ["host"], "filter": {"host": wanted_hosts}})
    }
    taken_names = {
        h["name"]
        for h in zbx.call("host.get", {"output": ["name"], "filter": {"name": wanted_names}})
    }
    graveyard = ids.groups[settings["graveyard_group"]]
    payloads = []
    for config, host, name in zip(configs, wanted_hosts, wanted_names, strict=True):
        n = 2
        base_host, base_name = host, name
        while host in taken_hosts or name in taken_names:
            host, name = f"{base_host}-{n}", f"{base_name} {n}"
            n += 1
        taken_hosts.add(host)
        taken_names.add(name)
        payloads.append(
            {
                "hostid": config["hostid"],
                "host": host,
                "name": name,
                "status": 1,
                zbx.dialect.group_param: [{"groupid": graveyard}],
            }
        )
    return payloads


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
