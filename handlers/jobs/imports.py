"""ImportHost (``nzc import hosts``): adopt the Zabbix hosts that exist already for NetBox
devices and VMs without a host config, keeping their hostids, interfaces, items and history.

Read: every NetBox device and VM (in pages, so a host two objects match is found even when
one target is named), the host configs, the mirror's templates, then the Zabbix hosts with
the candidates' names (and primary IPs, with ``--match ip``) in a handful of calls. Decide:
:func:`handlers.decide.adopt.decide`. Write: one ``host.update`` adding our ownership tag to
every adopted host (with the tags it had), and a host config each. The next reconcile run
brings the host in line with NetBox in place.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from handlers.decide import adopt
from handlers.decide.adopt import AdoptPlan
from handlers.gateways import host_configs, mappings, mirrors, zabbix_hosts
from handlers.gateways.postgres import Store, read_only
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixGateway
from handlers.jobs.reconcile import Journal
from handlers.jobs.sync import every_object
from handlers.runner import Job, JobError, lock_targets
from handlers.runtime import get_runtime

#: Most hosts one run adopts (one advisory lock each, held to its commit).
ADOPT_PER_RUN = 1000
#: The lock that makes imports run one at a time.
IMPORT_LOCK = "nzc:import-hosts"


def plan_import(
    conn: Any,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    every: bool,
    match: frozenset[str],
) -> tuple[AdoptPlan, dict[str, str]]:
    """What an import of ``targets`` (or of every object without a host config, ``every``)
    would do, and the NetBox name of each object; writes nothing."""
    rules = mappings.load_mappings(conn)
    objects = every_object(netbox, rules)  # as a full sync reads them
    configs = host_configs.load_all(conn)
    skipped = {}
    for target in targets:
        if target in configs:
            skipped[target] = (
                f"it has a host config already (Zabbix host {configs[target]['host']!r}, "
                f"{configs[target]['hostid']}): nothing to adopt"
            )
        elif target not in objects:
            skipped[target] = "NetBox does not return it (check the target and the token)"
    chosen = [t for t in objects if t not in configs] if every else targets
    candidates = {t: objects[t] for t in chosen if t not in skipped and t not in configs}
    wanted = adopt.lookups(candidates, match)
    proxies = zabbix_hosts.read_proxies(zbx)
    hosts = zabbix_hosts.hosts_to_adopt(
        zbx, wanted.host_names, wanted.visible_names, wanted.ips, proxies
    )
    plan = adopt.decide(
        list(candidates),
        objects,
        hosts,
        configs,
        set(mirrors.load(conn, "templates")),
        read_settings(conn),
        rules,
        match,
    )
    names = {t: str(e["obj"].get("name") or "") for t, e in objects.items()}
    return AdoptPlan(
        adopt=plan.adopt, refused=plan.refused, not_found=plan.not_found, skipped=skipped
    ), names


def dry_run(
    store: Store,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    every: bool,
    match: frozenset[str],
) -> tuple[AdoptPlan, list[str]]:
    """The plan of an import, made in a read-only transaction so nothing can be written
    (``nzc import hosts --dry-run``, ``POST /api/v1/import/hosts`` with ``dry_run``), and
    its lines in words."""
    with store.connection() as conn, conn.transaction():
        read_only(conn)
        plan, names = plan_import(conn, zbx, netbox, targets, every, match)
    return plan, adopt.describe(plan, names)


def import_hosts(
    job: Job,
    zbx: ZabbixGateway,
    netbox: Any,
    targets: list[str],
    every: bool,
    match: frozenset[str],
) -> dict[str, Any]:
    """ImportHost: adopt what the plan adopts (our ownership tag added in one
    ``host.update``, a host config each); refusals are logged per target and make the run
    ``partial``. A failure after the tags were written puts the old tags back."""
    # One import at a time: two could adopt one Zabbix host for two targets.
    lock_targets(job.conn, [IMPORT_LOCK])
    plan, names = plan_import(job.conn, zbx, netbox, targets, every, match)
    # Postgres holds a few thousand locks at once: a large import goes on in further runs.
    now, later = sorted(plan.adopt)[:ADOPT_PER_RUN], sorted(plan.adopt)[ADOPT_PER_RUN:]
    plan = replace(plan, adopt={t: plan.adopt[t] for t in now})
    job.lock(now)
    # A reconcile run may have given a target (or its Zabbix host) a host config between
    # the plan and the lock.
    taken = host_configs.configured_hostids(job.conn, [plan.adopt[t].actual.hostid for t in now])
    late = set(host_configs.load_host_configs(job.conn, now)) | {
        t for t in now if plan.adopt[t].actual.hostid in taken
    }
    adoptions = [a for t, a in plan.adopt.items() if t not in late]
    tagged = [a for a in adoptions if a.tags is not None]
    journal, refused = Journal(), dict(plan.refused)

    def written(index: int, hostid: str) -> None:
        old = [{"tag": k, "value": v} for k, v in tagged[index].actual.tags]
        journal.add(hostid, lambda: zbx.call("host.update", {"hostid": hostid, "tags": old}))

    try:
        _, failed = zabbix_hosts.batched(
            zbx,
            "host.update",
            [
                {"hostid": a.actual.hostid, "tags": [{"tag": k, "value": v} for k, v in a.tags]}
                for a in tagged
            ],
            [a.target for a in tagged],
            written,
        )
        refused |= failed
        adopted = {}
        for a in adoptions:
            if a.target in failed:
                continue
            host_configs.adopt_host_config(
                job.conn,
                target=a.target,
                hostid=a.actual.hostid,
                host=a.actual.host,
                name=a.actual.name,
                mapping_id=a.mapping_id,
                interface_types=a.interface_types,
                differences=list(a.differences),
            )
            adopted[a.target] = a.actual.hostid
            job.log(
                "info",
                f"{a.target}: ImportHost: adopted Zabbix host {a.actual.host!r} "
                f"({a.actual.hostid}), matched by {a.matched_by}; its interfaces, items and "
                "history are kept"
                + (
                    f"; the next reconcile run changes: {'; '.join(a.differences)}"
                    if a.differences
                    else ""
                ),
                target=a.target,
                data={
                    "hostid": a.actual.hostid,
                    "interfaceids": [i["interfaceid"] for i in a.actual.interfaces],
                    "tags_before": [list(t) for t in a.actual.tags],
                },
            )
    except Exception as exc:
        left = journal.rollback()
        raise JobError(
            f"ImportHost failed after tagging {len(journal.undo)} host(s), whose tags were "
            f"put back{' except ' + ', '.join(left) if left else ''}: {exc}",
            data={"not_undone": left},
        ) from exc
    for target, why in refused.items():
        job.log("error", f"{target}: ImportHost: not adopted: {why}", target=target)
    for target, why in plan.skipped.items():
        job.log("info", f"{target}: ImportHost: {why}", target=target)
    if not every:
        for target in plan.not_found:
            job.log("warning", f"{target}: ImportHost: no Zabbix host matches it", target=target)
    job.partial = job.partial or bool(refused)
    done = AdoptPlan(
        adopt={t: a for t, a in plan.adopt.items() if t in adopted},
        refused=refused,
        not_found=plan.not_found,
        skipped={
            **plan.skipped,
            **{t: "it, or its Zabbix host, got a host config meanwhile" for t in late},
        },
    )
    job.log(
        "info",
        f"ImportHost: adopted {len(adopted)}, refused {len(refused)}, "
        f"{len(plan.not_found)} without a Zabbix host to adopt",
    )
    continued = None
    if later:
        broker = get_runtime().broker
        continued = broker.get_actor("import_hosts").message(
            later, every=False, match=sorted(match)
        )
        job.after_commit(lambda: broker.enqueue(continued))
        job.log("info", f"ImportHost: {len(later)} more to adopt in job {continued.message_id}")
    return {
        "continued_as": continued.message_id if continued else None,
        "candidates": len(plan.adopt) + len(later) + len(plan.refused) + len(plan.not_found),
        "adopted": adopted,
        "refused": refused,
        "not_found": len(plan.not_found),
        "lines": adopt.describe(done, names),
    }
