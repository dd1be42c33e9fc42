"""The Dramatiq actors: one declaration per job (queue, targets, what is not retried).

Each job's work lives in :mod:`handlers.jobs`; the runner (:mod:`handlers.runner`) wraps it
in its transaction and locks. Host jobs run by hand raise ``Refused`` when retrying cannot
help (a misconfiguration, differences found): straight to the dead-letter queue, to be
replayed once fixed; anything else (Zabbix or NetBox unreachable) is retried.
"""

from __future__ import annotations

import dramatiq
from periodiq import cron

from handlers.broker import QUEUE_EVENTS, QUEUE_HOSTS, QUEUE_SYSTEM
from handlers.decide.translate import handle_event_targets, handle_events_targets
from handlers.gateways import dirty_targets
from handlers.gateways.zabbix import ZabbixUnavailable
from handlers.jobs import (
    changelog,
    coalescing,
    host_jobs,
    imports,
    maintenance,
    schedules,
    sync,
    system,
)
from handlers.jobs import events as events_job
from handlers.jobs.reconcile import DEFAULT_BATCH
from handlers.jobs.reconcile import reconcile as reconcile_batch
from handlers.runner import Job, Refused, job_actor
from handlers.runtime import get_runtime


def one_target(target: str, *_args: object, **_kwargs: object) -> list[str]:
    """The targets of a host job: its one target."""
    return [target]


def each_target(targets: list[str]) -> list[str]:
    """The targets of a job over several targets."""
    return list(targets)


def nudge_if_dirty() -> None:
    """Send a reconcile run when unclaimed dirty targets wait (an extra run finds little to
    do; a missing one would leave them to the minute's periodic run): the follow-up of the
    jobs that mark targets, redone when their message comes again after the job ended (the
    worker may have died before sending it)."""
    with get_runtime().store.connection() as conn:
        if coalescing.run_wanted_after_run(conn):
            reconcile.send()


#: How host jobs run by hand are declared.
HOST_JOB = {"queue": QUEUE_HOSTS, "targets": one_target, "refuses": (Refused,)}


@job_actor(queue=QUEUE_SYSTEM, max_retries=0)
def ping(job: Job, token: str = "") -> dict:
    """Proves the round trip web/CLI → RabbitMQ → worker → Postgres."""
    return system.ping(job, token)


@job_actor(queue=QUEUE_SYSTEM, periodic=cron("17 * * * *"))
def purge_event_log(job: Job) -> dict:
    """Hourly: delete event-log entries older than the retention setting."""
    return system.purge_event_log(job)


@job_actor(queue=QUEUE_SYSTEM, refuses=(Refused,))
def import_zabbix_settings(job: Job) -> dict:
    """ImportZabbixSettings: mirror Zabbix's templates, host groups, proxies and proxy
    groups; refused (changing nothing) past the max_deletions limit."""
    return system.import_zabbix_settings(job, get_runtime().zabbix)


@job_actor(queue=QUEUE_SYSTEM, periodic=cron("* * * * *"), max_retries=0)
def schedule_tick(job: Job) -> dict:
    """Every minute: enqueue the system jobs whose interval (in the settings) has passed;
    not retried, as the next tick comes a minute later."""
    return schedules.tick(job, get_runtime().broker)


#: Reconcile runs a sync starts at once at most, for the workers to share its targets.
SYNC_PARALLEL_RUNS = 8


# No targets to lock: the job only marks targets dirty, and reconcile runs lock them.
@job_actor(queue=QUEUE_SYSTEM, resume=nudge_if_dirty)
def sync_hosts(job: Job, allow_deletions: int | None = None) -> dict:
    """SyncHostsNow: compare every NetBox device and VM with every Zabbix host of ours and
    mark what differs for the reconcile runs; deletions past the limit are held back."""
    rt = get_runtime()
    result = sync.sync_hosts(job, rt.zabbix, rt.netbox, allow_deletions)
    runs = min(SYNC_PARALLEL_RUNS, -(-result["marked"] // DEFAULT_BATCH))
    for _ in range(runs):
        # In parallel: these runs do not wait for each other (gather=False).
        job.after_commit(lambda: reconcile.send(gather=False))
    return result


@job_actor(queue=QUEUE_SYSTEM)
def host_config_sync_refresh(job: Job) -> dict:
    """HostConfigSyncRefresh: recompute the sync state of host configs not checked lately."""
    rt = get_runtime()
    return sync.refresh_sync_state(job, rt.zabbix, rt.netbox)


# No host lock: the job only marks its targets dirty (rows a reconcile run claims with a
# committed lease), so it must never wait for a run that holds a target's lock. The
# targets are still recorded on the job row.
@job_actor(queue=QUEUE_EVENTS, targets=handle_events_targets, locks=False, resume=nudge_if_dirty)
def handle_events(job: Job, events: list) -> dict:
    """Translate the NetBox events of a batch (webhooks the web edge committed together);
    mark their hosts dirty for the next reconcile run."""
    decisions, run_wanted, reads = events_job.handle_events(job, events)
    _after_events(job, run_wanted, reads)
    return {"events": len(events), "decisions": decisions}


# Messages of one event each, queued (or spooled, or dead-lettered) by versions before the
# batches: still run, and replayable.
@job_actor(queue=QUEUE_EVENTS, targets=handle_event_targets, locks=False, resume=nudge_if_dirty)
def handle_event(job: Job, event: dict) -> dict:
    """Translate one NetBox event; mark its host dirty for the next reconcile run."""
    decisions, run_wanted, reads = events_job.handle_events(job, [event])
    _after_events(job, run_wanted, reads)
    return decisions[0]


def _after_events(job: Job, run_wanted: bool, reads: list[str]) -> None:
    if run_wanted:
        job.after_commit(reconcile.send)  # at once: coalescing is leading-edge
    for request_id in reads:
        # Its job row names the request, as the webhooks' do.
        job.after_commit(
            lambda rid=request_id: read_netbox_request.send_with_options(
                args=(rid,), request_id=rid
            )
        )


# Not retried: an accelerator. Whatever it could not read, the request's webhooks bring.
@job_actor(queue=QUEUE_EVENTS, locks=False, max_retries=0, resume=nudge_if_dirty)
def read_netbox_request(job: Job, request_id: str) -> dict:
    """Read a NetBox request's change log and mark every host it changed dirty at once (a
    bulk edit), ahead of its webhooks."""
    runtime = get_runtime()
    return changelog.read_request(
        job, runtime.store, runtime.netbox, request_id, send_run=reconcile.send
    )


@job_actor(queue=QUEUE_HOSTS, periodic=cron("* * * * *"), resume=nudge_if_dirty)
def reconcile(job: Job, batch: int = DEFAULT_BATCH, gather: bool = True) -> dict:
    """Bring up to ``batch`` dirty targets in line with NetBox; every minute as well, so
    nothing marked is left behind. With ``gather``, a run due while another is in progress
    leaves the targets to the run that one sends when it ends."""
    runtime = get_runtime()
    with runtime.store.connection() as conn:
        # A message delivered again after its worker died: its own claims hold nothing back.
        dirty_targets.release_claims(conn, job.job_id)
        if not coalescing.start_run(conn, gather):
            return {"claimed": 0, "gathered": "a run is in progress; its end sends the next"}
    result = reconcile_batch(job, runtime.zabbix, runtime.netbox, runtime.store, batch)
    if result["claimed"] >= batch:  # more wait: the next batch now, beside the others
        job.after_commit(lambda: reconcile.send(gather=False))
    else:
        job.after_commit(nudge_if_dirty)
    return result


@job_actor(**HOST_JOB)
def provision_agent(job: Job, target: str) -> dict:
    """ProvisionAgent: the host with a Zabbix agent interface, kept over the mapping's."""
    rt = get_runtime()
    return host_jobs.provision(job, rt.zabbix, rt.netbox, target, ["agent"])


@job_actor(**HOST_JOB)
def provision_snmp(job: Job, target: str, version: str = "snmpv2c") -> dict:
    """ProvisionSNMP: the host with an SNMP (``snmpv1``, ``snmpv2c``, ``snmpv3``) interface."""
    rt = get_runtime()
    return host_jobs.provision(job, rt.zabbix, rt.netbox, target, [version])


@job_actor(**HOST_JOB)
def create_zabbix_host(job: Job, target: str) -> dict:
    """CreateZabbixHost."""
    rt = get_runtime()
    return host_jobs.create_host(job, rt.zabbix, rt.netbox, target)


@job_actor(**HOST_JOB)
def update_zabbix_host(job: Job, target: str) -> dict:
    """UpdateZabbixHost."""
    rt = get_runtime()
    return host_jobs.update_host(job, rt.zabbix, rt.netbox, target)


@job_actor(**HOST_JOB)
def delete_zabbix_host(job: Job, target: str, mode: str | None = None) -> dict:
    """DeleteZabbixHost (soft or hard)."""
    return host_jobs.delete_host(job, get_runtime().zabbix, target, mode)


@job_actor(**HOST_JOB)
def create_zabbix_interface(job: Job, target: str) -> dict:
    """CreateZabbixInterface."""
    rt = get_runtime()
    return host_jobs.interface_job(job, rt.zabbix, rt.netbox, target, create=True)


@job_actor(**HOST_JOB)
def update_zabbix_interface(job: Job, target: str) -> dict:
    """UpdateZabbixInterface."""
    rt = get_runtime()
    return host_jobs.interface_job(job, rt.zabbix, rt.netbox, target, create=False)


@job_actor(**{**HOST_JOB, "targets": each_target})
def validate_host(job: Job, targets: list[str]) -> dict:
    """ValidateHost: fails, listing every difference, when Zabbix is not what NetBox says."""
    rt = get_runtime()
    return host_jobs.validate(job, rt.zabbix, rt.netbox, targets)


# Targets locked as found (job.lock): with every=True they are not known up front.
@job_actor(queue=QUEUE_HOSTS)
def import_hosts(
    job: Job, targets: list[str], every: bool = False, match: list[str] | None = None
) -> dict:
    """ImportHost: adopt the existing Zabbix hosts of NetBox objects without a host config
    (``targets``, or all of them with ``every``), matched by name and/or primary IP."""
    rt = get_runtime()
    chosen = frozenset(match or ["name"])
    return imports.import_hosts(job, rt.zabbix, rt.netbox, list(targets), every, chosen)


@job_actor(queue=QUEUE_SYSTEM, refuses=(Refused,), resume=nudge_if_dirty)
def maintenance_window(job: Job, window_id: int, action: str = "apply") -> dict:
    """Write a maintenance window to Zabbix (``apply``: resolved to its hosts afresh), end it
    now (``end``), or delete it from Zabbix and Postgres (``delete``)."""
    rt = get_runtime()
    result = maintenance.window_job(job, rt.zabbix, rt.netbox, window_id, action)
    job.after_commit(nudge_if_dirty)
    return result


@job_actor(queue=QUEUE_SYSTEM, resume=nudge_if_dirty)
def maintenance_cleanup(job: Job) -> dict:
    """SystemJobMaintenanceCleanup: end the windows past their end in Zabbix and Postgres,
    resolve the live ones again, purge the expired ones past the retention. Zabbix
    unreachable: the windows due say ``failed`` with why, and the next run tries again."""
    rt = get_runtime()
    try:
        zbx, unreachable = rt.zabbix, None
    except ZabbixUnavailable as exc:
        zbx, unreachable = None, exc
    result = maintenance.cleanup(job, zbx, rt.netbox, unreachable)
    job.after_commit(nudge_if_dirty)
    return result


#: Every actor, for binding to the process's broker (handlers.broker.bind_actors).
ACTORS: list[dramatiq.Actor] = [
    ping,
    purge_event_log,
    import_zabbix_settings,
    schedule_tick,
    sync_hosts,
    host_config_sync_refresh,
    handle_events,
    handle_event,
    read_netbox_request,
    reconcile,
    provision_agent,
    provision_snmp,
    create_zabbix_host,
    update_zabbix_host,
    delete_zabbix_host,
    create_zabbix_interface,
    update_zabbix_interface,
    validate_host,
    import_hosts,
    maintenance_window,
    maintenance_cleanup,
]
