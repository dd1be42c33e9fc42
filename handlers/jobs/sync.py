"""SyncHostsNow and HostConfigSyncRefresh: the full comparison that heals what NetBox failed
to send and what people changed in Zabbix by hand.

A full read costs one NetBox request per page of devices, of VMs and of their IP
addresses, and a handful of Zabbix calls: one light ``host.get`` for the ids of every host
carrying our ownership tag, then one per thousand hosts, plus the name -> id lookups. The
planner (:func:`handlers.decide.plan.decide`) then says, for every target, what a reconcile
run would do. SyncHostsNow marks the targets that need a run dirty, so the ordinary
batched reconcile runs repair them, spread over every worker; it writes nothing to Zabbix
itself. HostConfigSyncRefresh records each host config's sync state and marks nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from handlers.decide.desired import owner_tag_name
from handlers.decide.group_names import mapping_uses
from handlers.decide.host_state import ActualHost, Ids
from handlers.decide.plan import (
    CREATE,
    DELETE,
    DISABLE,
    MISSING,
    MISSING_REASON,
    UPDATE,
    Plan,
    Reading,
    ZabbixView,
    decide,
    lookups,
)
from handlers.decide.sync import SyncMarks, marks, sync_states
from handlers.decide.targets import target_of
from handlers.gateways import (
    deletion_evidence,
    dirty_targets,
    host_configs,
    mappings,
    target_failures,
    zabbix_hosts,
)
from handlers.gateways.postgres import Store, read_only
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixGateway
from handlers.jobs import maintenance
from handlers.jobs.reconcile import DEFAULT_BATCH, deletion_proofs, plan_targets
from handlers.runner import Job
from schemas.netbox import HOST_TYPES

#: Names per ``host.get`` when looking up who holds the names of hosts to be created.
NAMES_PER_CALL = 1000
#: A refresh of more stale host configs than this reads everything at once (a few calls
#: per thousand hosts) rather than in batches by id (a few calls per batch of 200).
FULL_READ_ABOVE = 2000


def every_object(netbox: Any, rules: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """target -> every NetBox device and VM, in pages, with the related fields the host-group
    templates of ``rules`` read."""
    uses = mapping_uses(rules)
    return {
        target_of(kind, object_id): entry
        for kind in HOST_TYPES
        for object_id, entry in netbox.all_hosts(kind, uses).items()
    }


def compare_all(
    conn: Any, zbx: ZabbixGateway, netbox: Any, also: Iterable[str] = ()
) -> tuple[Plan, Reading]:
    """Read every NetBox device and VM, every host config and every Zabbix host of ours,
    and decide on each target (and on the targets ``also`` names); writes nothing."""
    settings = read_settings(conn)
    rules = mappings.load_mappings(conn)
    objects = every_object(netbox, rules)
    configs = host_configs.load_all(conn)
    owner_tag = owner_tag_name(settings)
    proxies = zabbix_hosts.read_proxies(zbx)
    hosts = zabbix_hosts.every_owned_host(zbx, owner_tag, proxies)
    # Hosts our configs name that lost the ownership tag (removed by hand) are read too,
    # so the plan repairs them rather than creating a second host.
    untagged = sorted({c["hostid"] for c in configs.values()} - {h.hostid for h in hosts})
    hosts += zabbix_hosts.hosts_by_id(zbx, untagged, proxies)
    view = _view(zbx, proxies, hosts, owner_tag)
    targets = sorted(set(objects) | set(configs) | set(view.owned) | set(also))
    reading = Reading(
        targets=targets,
        objects=objects,
        configs=configs,
        settings=settings,
        mappings=rules,
        deleted=deletion_proofs(conn, netbox, targets, objects, set(configs) | set(view.owned)),
        # Deletes an active window holds back are not counted against max_deletions.
        protected=maintenance.run_windows(conn, targets, settings)[1],
    )
    wanted = lookups(reading)
    ids = zabbix_hosts.read_ids(zbx, wanted.groups, wanted.templates, proxies)
    plan = decide(reading, replace(view, ids=ids))
    # The names a host to be created (or renamed) would take may be held by hosts that are
    # not ours: look those names up, then decide on these targets again.
    unsure = [
        s.target
        for s in plan.steps.values()
        if s.action == CREATE
        or (s.action in (UPDATE, DISABLE) and {"host", "name"} & set(s.changes))
    ]
    if unsure:
        sub = replace(reading, targets=unsure)
        names = lookups(sub)
        found = []
        for start in range(0, max(len(names.host_names), len(names.visible_names)), NAMES_PER_CALL):
            found += zabbix_hosts.get_hosts(
                zbx,
                names=names.host_names[start : start + NAMES_PER_CALL],
                visible_names=names.visible_names[start : start + NAMES_PER_CALL],
            )
        others = [zabbix_hosts.actual_host(zbx.dialect, h, proxies) for h in found]
        view = _view(zbx, ids, [*hosts, *others], owner_tag)
        plan = replace(plan, steps={**plan.steps, **decide(sub, view).steps})
    return plan, reading


def _view(zbx: ZabbixGateway, ids: Ids, hosts: list[ActualHost], owner_tag: str) -> ZabbixView:
    """The planner's view of everything read: every host by id and by its names."""
    return zabbix_hosts.view_of(
        zbx, ids, hosts, names=None, visible_names=None, owner_tag=owner_tag, owned=hosts
    )


def _record_state(conn: Any, plan: Plan, configs: dict[str, Any], targets: set[str]) -> int:
    """Record the sync state of the host configs of ``targets``; how many differ."""
    states = {t: found for t, found in sync_states(plan, configs).items() if t in targets}
    host_configs.record_sync_state(conn, states)
    missing = [s.target for s in plan.of(MISSING) if s.target in configs and s.target in targets]
    host_configs.mark_missing(conn, missing, MISSING_REASON)
    return sum(1 for found in states.values() if found) + len(missing)


def plan_sync(
    conn: Any, zbx: ZabbixGateway, netbox: Any, allow_deletions: int | None = None
) -> tuple[Plan, Reading, SyncMarks]:
    """What a sync would do (``nzc sync now --dry-run`` prints it); writes nothing."""
    failures = {t: f["error"] for t, f in target_failures.load(conn).items()}
    plan, reading = compare_all(conn, zbx, netbox, also=failures)
    limit = plan.settings["max_deletions"]
    return plan, reading, marks(plan, limit, allowed=allow_deletions, failures=failures)


def dry_run(
    store: Store, zbx: ZabbixGateway, netbox: Any, allow_deletions: int | None = None
) -> tuple[Plan, SyncMarks]:
    """What a sync would do, planned in a read-only transaction, so that nothing can be
    written (``nzc sync now --dry-run``, ``POST /api/v1/sync`` with ``dry_run``)."""
    with store.connection() as conn, conn.transaction():
        read_only(conn)
        plan, _, marked = plan_sync(conn, zbx, netbox, allow_deletions)
    return plan, marked


def sync_hosts(
    job: Job, zbx: ZabbixGateway, netbox: Any, allow_deletions: int | None = None
) -> dict[str, Any]:
    """SyncHostsNow: compare everything, mark what differs, is missing in Zabbix or is
    orphaned for the reconcile runs, and record every host config's sync state. Past the
    deletion limit no deletion is marked, the run is ``partial`` and says how to proceed."""
    plan, reading, marked = plan_sync(job.conn, zbx, netbox, allow_deletions)
    # The proof the sync found (the change log) goes with each deletion it marks, so the
    # reconcile run acts on it too (a host of ours that no host config names included).
    for target in sorted(marked.reasons):  # in target order, as every evidence writer
        if plan.steps[target].action == DELETE:
            deletion_evidence.record(job.conn, target, reading.deleted[target], None)
    dirty_targets.mark_many(job.conn, marked.reasons)
    differ = _record_state(job.conn, plan, reading.configs, set(reading.configs))
    actions = Counter(step.action for step in plan.steps.values())
    if marked.held:
        job.partial = True
        job.log("error", f"SyncHostsNow: {marked.held}", data={"deletions": marked.deletions})
    job.log(
        "info",
        f"SyncHostsNow: compared {len(plan.steps)} targets; "
        + ", ".join(f"{n} {action}" for action, n in sorted(actions.items()))
        + f"; marked {len(marked.reasons)} for reconcile runs",
        data={"marked": marked.reasons},
    )
    return {
        "compared": len(plan.steps),
        "actions": dict(sorted(actions.items())),
        "marked": len(marked.reasons),
        "host_configs_differing": differ,
        "deletions_held": len(marked.deletions) if marked.held else 0,
        **({"held": marked.held} if marked.held else {}),
    }


def refresh_sync_state(job: Job, zbx: ZabbixGateway, netbox: Any) -> dict[str, Any]:
    """HostConfigSyncRefresh: recompute the sync state of the host configs not checked within
    ``sync_refresh_cutoff_min`` (by id, in batches, or with a full read for many); writes
    nothing to Zabbix and marks nothing."""
    cutoff = read_settings(job.conn)["sync_refresh_cutoff_min"]
    stale = host_configs.stale_targets(job.conn, cutoff)
    if not stale:
        return {"checked": 0, "differing": 0, "cutoff_min": cutoff}
    if len(stale) > FULL_READ_ABOVE:
        plan, reading = compare_all(job.conn, zbx, netbox)
        differ = _record_state(job.conn, plan, reading.configs, set(stale))
    else:
        differ = 0
        for start in range(0, len(stale), DEFAULT_BATCH):
            chunk = stale[start : start + DEFAULT_BATCH]
            plan = plan_targets(job.conn, zbx, netbox, chunk)
            configs = {t: s.config for t, s in plan.steps.items() if s.config}
            differ += _record_state(job.conn, plan, configs, set(chunk))
    job.log("info", f"HostConfigSyncRefresh: checked {len(stale)} host configs, {differ} differ")
    return {"checked": len(stale), "differing": differ, "cutoff_min": cutoff}
