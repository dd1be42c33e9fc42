"""Reconcile runs: bring a batch of dirty targets in line with NetBox, with array calls.

A run claims up to ``batch`` dirty targets (a committed lease, so events marking them
again never wait for the run), then goes through three steps in order:

1. **read** (gateways): the targets from NetBox (one filtered request per kind), their host
   configs, the mappings and settings from Postgres, then what Zabbix has (one call per
   kind of name, one ``host.get`` per lookup);
2. **decide** (:func:`handlers.decide.plan.decide`, pure): per target, create, update,
   disable, delete, in step, skipped or refused;
3. **write** (gateways): host groups and interface switches first, then one ``host.create``
   carrying every new host, one ``host.update`` carrying every changed one, deletes likewise,
   each host config recorded. A batch Zabbix refuses is retried host by host, so one bad host
   does not block the others. If the run fails part way, the Zabbix writes it made are
   undone, newest first (compensation), and the job fails. Not undone: host groups (they are
   harmless), the interfaces of a type switch once the host's update dropped the old ones
   (they cannot come back with their ids; the retry converges on them), and the items a
   ``templates_clear`` removed (linking the template again recreates them, without their
   history).

Each target's outcome goes to the event log under that target.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handlers.decide.archive import archive_payloads, archived_names, unarchive_payload
from handlers.decide.group_names import mapping_uses
from handlers.decide.host_state import Ids
from handlers.decide.maintenance import uses as maintenance_uses
from handlers.decide.ownership import link_refused
from handlers.decide.payloads import (
    create_payload,
    interfaces_with_ids,
    item_moves,
    undo_update_payload,
    update_payload,
)
from handlers.decide.plan import (
    CREATE,
    DELETE,
    IN_STEP,
    MISSING,
    MISSING_REASON,
    REFUSE,
    SKIP,
    InterfaceSwitch,
    Plan,
    Reading,
    TargetPlan,
    ZabbixView,
    decide,
    lookups,
)
from handlers.decide.targets import split_target, target_of
from handlers.gateways import (
    deletion_evidence,
    dirty_targets,
    host_configs,
    mappings,
    target_failures,
    zabbix_hosts,
)
from handlers.gateways.postgres import Store
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixGateway
from handlers.jobs import maintenance
from handlers.metrics import RECONCILE_BATCH
from handlers.runner import Job, JobError

log = logging.getLogger(__name__)

#: Targets one reconcile run claims at most.
DEFAULT_BATCH = 200


def reconcile(
    job: Job, zbx: ZabbixGateway, netbox: Any, store: Store, batch: int = DEFAULT_BATCH
) -> dict[str, Any]:
    """One reconcile run. Returns counts; the caller re-nudges when targets remain."""
    with store.connection() as side:  # the claim commits at once (see claim_dirty)
        claimed = dirty_targets.claim_dirty(side, batch, job.job_id)
    if not claimed:
        return {"claimed": 0}
    RECONCILE_BATCH.observe(len(claimed))
    try:
        job.lock(list(claimed))
        plan = plan_targets(job.conn, zbx, netbox, list(claimed))
        outcome = write(job, zbx, plan)
        dirty_targets.clear_dirty(job.conn, claimed, job.job_id)
    except BaseException:
        with store.connection() as side:  # the job rolls back; the targets stay dirty
            # Not waiting for the rows this run's own transaction locked: it is still open.
            dirty_targets.release_claims(side, job.job_id, skip_locked=True)
        with store.connection() as side:
            dirty_targets.clear_pending(side)
        raise
    return {"claimed": len(claimed), **summary(job, plan, outcome)}


def read(
    conn: Any,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    provisioned: dict[str, list[str]] | None = None,
) -> tuple[Reading, ZabbixView]:
    """Everything the planner needs about ``targets``, from Postgres, NetBox and Zabbix."""
    by_kind: dict[str, list[int]] = {}
    for target in targets:
        kind, object_id = split_target(target)
        by_kind.setdefault(kind, []).append(object_id)
    rules = mappings.load_mappings(conn)
    settings = read_settings(conn)
    live, held = maintenance.run_windows(conn, targets, settings)
    uses = mapping_uses(rules) | maintenance_uses(live)
    objects = {
        target_of(kind, object_id): entry
        for kind, ids in by_kind.items()
        for object_id, entry in netbox.fetch_hosts(kind, ids, uses).items()
    }
    configs = host_configs.load_host_configs(conn, targets)
    reading = Reading(
        targets=list(targets),
        objects=objects,
        configs=configs,
        settings=settings,
        mappings=rules,
        provisioned=provisioned or {},
        deleted=deletion_proofs(conn, netbox, targets, objects, set(configs)),
        windows=live,
        protected=held,
    )
    return reading, zabbix_hosts.read(zbx, lookups(reading))


def deletion_proofs(
    conn: Any, netbox: Any, targets: list[str], objects: dict[str, Any], with_hosts: set[str]
) -> dict[str, str]:
    """What proves that targets were deleted: a signed deleted webhook (every recorded one,
    so that stale ones can be dropped), else, for those of ``with_hosts`` (a host config,
    or a host of ours) that NetBox did not return, NetBox's change log (a request per
    object type and chunk of ids)."""
    evidence = deletion_evidence.load(conn, targets)
    unproven: dict[str, list[int]] = {}
    for target in sorted(with_hosts):
        if target not in objects and target not in evidence:
            kind, object_id = split_target(target)
            unproven.setdefault(kind, []).append(object_id)
    for kind, ids in unproven.items():
        for object_id in netbox.deleted_ids(kind, ids):
            evidence[target_of(kind, object_id)] = "NetBox's change log records its deletion"
    return evidence


def plan_targets(
    conn: Any,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    provisioned: dict[str, list[str]] | None = None,
) -> Plan:
    """Read ``targets`` and decide what to do with each; writes nothing."""
    return decide(*read(conn, zbx, netbox, targets, provisioned))


@dataclass
class Outcome:
    """What the write step did, per target."""

    created: dict[str, str] = field(default_factory=dict)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    #: Targets whose write Zabbix refused, with its error.
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class Journal:
    """The Zabbix writes of a run that can be undone, newest last."""

    undo: dict[str, Callable[[], Any]] = field(default_factory=dict)

    def add(self, key: str, action: Callable[[], Any]) -> None:
        self.undo[key] = action

    def forget(self, key: str) -> None:
        self.undo.pop(key, None)

    def rollback(self) -> list[str]:
        """Undo every write, newest first; returns what could not be undone."""
        failed = []
        for key, action in reversed(list(self.undo.items())):
            try:
                action()
            except Exception:  # noqa: BLE001 -- undo the rest; the caller reports the original
                log.exception("could not undo %s after a failed run", key)
                failed.append(key)
        return failed


def write(job: Job, zbx: ZabbixGateway, plan: Plan) -> Outcome:
    """Carry out ``plan`` in Zabbix and record the host configs in the job's transaction.

    Each Zabbix write goes into the journal with its undo as soon as it is known to have
    happened. If anything fails (or the job is interrupted), the journal is undone, newest
    first, and the job fails; the host configs roll back with the job.
    """
    journal, outcome = Journal(), Outcome()
    try:
        ids = plan.ids.with_groups(zabbix_hosts.create_groups(zbx, plan.groups_to_create))
        _create(job, zbx, plan, ids, journal, outcome)
        _update(job, zbx, plan, ids, journal, outcome)
        for step in plan.of(IN_STEP):
            _save(job, plan, step, step.actual.hostid)
        host_configs.mark_missing(job.conn, [s.target for s in plan.of(MISSING)], MISSING_REASON)
        # Before the deletes: Zabbix refuses to delete the last host of a maintenance.
        _follow_windows(job, zbx, plan, outcome, journal)
        _delete(job, zbx, plan, ids, journal, outcome)
        # Evidence that served (hosts deleted) or can prove nothing: one statement.
        deletion_evidence.forget(job.conn, [*plan.forget_evidence, *outcome.deleted])
    except BaseException as exc:
        zbx.ids.forget()  # a stale id may be why: the retry reads them afresh
        left = journal.rollback()
        if not isinstance(exc, Exception):
            raise  # an interrupt (time limit, shutdown): undone, and passed on as it is
        made = list(outcome.created.values())
        raise JobError(
            f"reconcile failed after creating {len(made)} host(s), which were removed, and "
            f"{len(journal.undo) - len(made)} other write(s), undone"
            + (f" except {', '.join(left)}" if left else "")
            + f": {exc}",
            data={"removed_hostids": made, "not_undone": left},
        ) from exc
    if outcome.failed:
        zbx.ids.forget()  # a refusal may come of a stale id: the next run reads them afresh
    return outcome


def _create(
    job: Job, zbx: ZabbixGateway, plan: Plan, ids: Ids, journal: Journal, outcome: Outcome
) -> None:
    steps = plan.of(CREATE)

    def created(index: int, hostid: str) -> None:
        journal.add(f"host.create {hostid}", lambda: zbx.call("host.delete", [hostid]))
        outcome.created[steps[index].target] = hostid

    _, failed = zabbix_hosts.batched(
        zbx,
        "host.create",
        [create_payload(zbx.dialect, s.desired, ids) for s in steps],
        [s.target for s in steps],
        created,
    )
    outcome.failed.update(failed)
    for step in steps:
        hostid = outcome.created.get(step.target)
        if hostid is None:
            continue
        _save(job, plan, step, hostid)
        job.log(
            "info",
            f"{step.target}: CreateZabbixHost: created host {step.desired.host!r} ({hostid})",
            target=step.target,
            data={"hostid": hostid},
        )


def _switch(zbx: ZabbixGateway, switch: InterfaceSwitch, journal: Journal) -> list[str]:
    """Prepare an interface-type switch: create the new interfaces, move the items that work
    through any interface onto the new main one; returns the new interface ids."""
    key = f"interface switch {switch.target}"
    created = zabbix_hosts.create_interfaces(zbx, switch.hostid, switch.new)
    journal.add(key, lambda: zabbix_hosts.delete_interfaces(zbx, created))
    linked = zabbix_hosts.items_on(zbx, switch.hostid, switch.dropped)
    moves, back = item_moves(linked, created[switch.main])
    zabbix_hosts.update_items(zbx, moves)
    journal.add(
        key,
        lambda: (
            zabbix_hosts.update_items(zbx, back),
            zabbix_hosts.delete_interfaces(zbx, created),
        ),
    )
    return created


def _update(
    job: Job, zbx: ZabbixGateway, plan: Plan, ids: Ids, journal: Journal, outcome: Outcome
) -> None:
    steps = plan.changed
    interfaces: dict[str, list[dict[str, Any]]] = {}
    for step in steps:
        items = interfaces_with_ids(step.desired.interfaces, step.actual.interfaces)
        switch = plan.switches.get(step.target)
        if switch:
            new = iter(_switch(zbx, switch, journal))
            items = [i if "interfaceid" in i else {**i, "interfaceid": next(new)} for i in items]
        interfaces[step.target] = items
    payloads, undo = [], []
    for s in steps:
        payloads.append(
            update_payload(zbx.dialect, s.actual, s.changes, s.desired, ids, interfaces[s.target])
        )
        # A switch's update drops the old interfaces for good: those stay as they are.
        kept = None if s.target in plan.switches else interfaces[s.target]
        undo.append(undo_update_payload(zbx.dialect, s.actual, s.changes, ids, kept))

    def updated(index: int, hostid: str) -> None:
        target = steps[index].target
        journal.forget(f"interface switch {target}")  # now part of the update
        journal.add(f"host.update {hostid}", lambda: zbx.call("host.update", undo[index]))
        outcome.updated.append(target)

    _, failed = zabbix_hosts.batched(
        zbx, "host.update", payloads, [s.target for s in steps], updated
    )
    by_target = {s.target: s for s in steps}
    for target, error in failed.items():
        # A refused link next to a template kept on the host says which ones clash.
        s = by_target[target]
        outcome.failed[target] = (
            link_refused(error, s.desired, s.actual, s.owned) if s.owned else error
        )
    for step in steps:
        if step.target not in outcome.updated:
            continue
        changed = _jsonable(step.changes)
        _save(job, plan, step, step.actual.hostid, changed)
        job.log(
            "info",
            f"{step.target}: UpdateZabbixHost: updated {', '.join(sorted(step.changes))}",
            target=step.target,
            data={"hostid": step.actual.hostid, "changes": changed},
        )


def _follow_windows(
    job: Job, zbx: ZabbixGateway, plan: Plan, outcome: Outcome, journal: Journal
) -> None:
    """Move the run's hosts into and out of maintenance windows, as written."""
    wanted, hostids = {}, {}
    for step in plan.steps.values():
        if step.windows is None or step.target in outcome.failed:
            continue
        wanted[step.target] = step.windows
        if step.action == CREATE:
            hostids[step.target] = outcome.created.get(step.target)
        elif step.action != DELETE and step.actual is not None:
            hostids[step.target] = step.actual.hostid
    maintenance.follow_hosts(job, zbx, wanted, hostids, plan.windows, journal.add)


def _delete(
    job: Job, zbx: ZabbixGateway, plan: Plan, ids: Ids, journal: Journal, outcome: Outcome
) -> None:
    """DeleteZabbixHost for every DELETE step: soft (archive) or hard (``host.delete``, last,
    as it cannot be undone); either way the host config goes."""
    steps = plan.of(DELETE)
    present = [s for s in steps if s.actual is not None]
    done = [s for s in steps if s.actual is None]
    if plan.delete_mode == "hard":
        done += present
    elif present:
        wanted = [
            archived_names(s.config["host"], s.config["name"], plan.settings["archived_suffix"])
            for s in present
        ]
        taken = zabbix_hosts.taken_names(zbx, [w[0] for w in wanted], [w[1] for w in wanted])
        payloads = archive_payloads(
            [s.config for s in present],
            [s.actual for s in present],
            plan.settings,
            ids.groups[plan.settings["graveyard_group"]],
            *taken,
        )
        undo = [unarchive_payload(s.actual) for s in present]

        def archived(index: int, hostid: str) -> None:
            journal.add(f"archive {hostid}", lambda: zbx.call("host.update", undo[index]))
            done.append(present[index])

        _, failed = zabbix_hosts.batched(
            zbx, "host.update", payloads, [s.target for s in present], archived
        )
        outcome.failed.update(failed)
    for step in done:
        host_configs.delete_host_config(job.conn, step.target)
        outcome.deleted.append(step.target)
        job.log(
            "info",
            f"{step.target}: DeleteZabbixHost: deleted host {step.config['host']!r} "
            f"({plan.delete_mode}): {step.reason}",
            target=step.target,
            data={"hostid": step.config["hostid"], "mode": plan.delete_mode, "why": step.reason},
        )
    gone = [s.actual.hostid for s in present if plan.delete_mode == "hard"]
    if gone:
        zbx.call("host.delete", gone)


def _save(
    job: Job,
    plan: Plan,
    step: TargetPlan,
    hostid: str,
    changes: dict[str, Any] | None = None,
) -> None:
    """Record the host config of a target the run brought in line."""
    host_configs.save_host_config(
        job.conn,
        target=step.target,
        hostid=hostid,
        host=step.desired.host,
        name=step.desired.name,
        mapping_id=step.mapping_id,
        last_diff=changes,
        interface_types=plan.provisioned.get(step.target),
        owned_groups=step.owned.groups if step.owned else None,
        owned_templates=step.owned.templates if step.owned else None,
    )


def summary(job: Job, plan: Plan, outcome: Outcome) -> dict[str, Any]:
    """Log what was skipped, refused or failed, per target, and count the outcomes. Failed
    targets are recorded (``target_failures``) and make the run ``partial``; the others
    are cleared of earlier failures."""
    for step in plan.of(SKIP):
        job.log("info", f"{step.target}: {step.reason}", target=step.target)
    failed = {s.target: s.reason for s in plan.of(REFUSE)} | outcome.failed
    for target, error in failed.items():
        job.log("error", f"{target}: {error}", target=target)
    target_failures.record(job.conn, job.job_id, failed)
    target_failures.clear(job.conn, [t for t in plan.steps if t not in failed])
    job.partial = job.partial or bool(failed)
    for step in plan.of(MISSING):
        job.log("warning", f"{step.target}: {step.reason}", target=step.target)
    for step in plan.steps.values():
        if step.note:
            job.log("warning", f"{step.target}: {step.note}", target=step.target)
    return {
        "created": len(outcome.created),
        "updated": len(plan.changed),
        "deleted": len(plan.of(DELETE)),
        "in_step": len(plan.of(IN_STEP)),
        "skipped": len(plan.of(SKIP)),
        "missing": len(plan.of(MISSING)),
        "failed": len(failed),
    }


def _jsonable(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}
