"""The Dramatiq actors. Each one runs its job through the AtomicJobRunner (handlers.runner)."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from consumer.broker import QUEUE_EVENTS, QUEUE_HOSTS, QUEUE_SYSTEM
from handlers import host_jobs, hosts_store, records
from handlers.context import get_runtime
from handlers.reconcile import DEFAULT_BATCH
from handlers.reconcile import reconcile as reconcile_batch
from handlers.runner import Job, Refused, atomic_job
from handlers.settings_store import read_settings
from handlers.translate import IGNORE, handle_event_targets, translate


@dramatiq.actor(queue_name=QUEUE_SYSTEM, max_retries=0)
@atomic_job()
def ping(job: Job, token: str = "") -> dict:
    """Proves the round trip web/CLI → RabbitMQ → worker → Postgres."""
    job.log("info", "pong", data={"token": token})
    return {"pong": token}


@dramatiq.actor(queue_name=QUEUE_SYSTEM, periodic=cron("17 * * * *"))
@atomic_job()
def purge_event_log(job: Job) -> dict:
    """Hourly: delete event-log entries older than the retention setting."""
    days = read_settings(job.conn)["event_log_retention_days"]
    return {"deleted": records.purge_event_log(job.conn, days), "retention_days": days}


#: A reconcile run waits until no event came for this long, milliseconds, so that a burst
#: (a bulk edit, a device-delete cascade) becomes one batch...
RECONCILE_COALESCE_MS = 500
#: ...but never delays the oldest dirty target longer than this, milliseconds.
RECONCILE_MAX_WAIT_MS = 3000


# No host lock: the job only marks its target dirty (a row the reconcile run locks), and
# taking the advisory lock first would deadlock with a run that holds the row and waits
# for the lock. The target is still recorded on the job row.
@dramatiq.actor(queue_name=QUEUE_EVENTS, job_targets=handle_event_targets)
@atomic_job()
def handle_event(job: Job, event: dict) -> dict:
    """Translate one NetBox event; mark its host dirty for the next reconcile run (jobs read
    NetBox afresh, so a burst of events for one host costs one reconciliation)."""
    decision = translate(event, read_settings(job.conn))
    job.log(
        "info",
        f"{decision.action} {decision.target or '-'}: {decision.reason}",
        target=decision.target,
        data={**decision.asdict(), "request_id": event.get("request_id")},
    )
    if decision.action != IGNORE:
        hosts_store.mark_dirty(job.conn, decision.target, decision.reason, event.get("request_id"))
        if hosts_store.request_reconcile(job.conn):
            job.after_commit(lambda: reconcile.send_with_options(delay=RECONCILE_COALESCE_MS))
    return decision.asdict()


@dramatiq.actor(queue_name=QUEUE_HOSTS, periodic=cron("* * * * *"))
@atomic_job()
def reconcile(job: Job, batch: int = DEFAULT_BATCH) -> dict:
    """Bring up to ``batch`` dirty targets in line with NetBox; every minute as well, so
    nothing marked is left behind."""
    runtime = get_runtime()
    with runtime.store.connection() as conn:
        ages = hosts_store.dirty_ages_ms(conn)
        if ages and ages[0] < RECONCILE_COALESCE_MS and ages[1] < RECONCILE_MAX_WAIT_MS:
            # Events are still arriving: wait for the burst (the request stays pending).
            job.after_commit(lambda: reconcile.send_with_options(delay=RECONCILE_COALESCE_MS))
            return {"deferred_ms": RECONCILE_COALESCE_MS}
        hosts_store.reconcile_started(conn)
    result = reconcile_batch(job, runtime.zabbix, runtime.netbox, runtime.store, batch)
    if result["claimed"] >= batch:
        job.after_commit(reconcile.send)
    else:
        job.after_commit(_nudge_if_dirty)
    return result


def _nudge_if_dirty() -> None:
    """After a run: targets marked while it ran (or whose event saw a run still pending just
    before this one started) get a run now, not at the next minute."""
    with get_runtime().store.connection() as conn:
        if hosts_store.dirty_ages_ms(conn) is not None and hosts_store.request_reconcile(conn):
            reconcile.send_with_options(delay=RECONCILE_COALESCE_MS)


# Host jobs run by hand (nzc provision / validate / hosts). Refused means retrying cannot
# help (a misconfiguration, differences found): straight to the dead-letter queue, to be
# replayed once fixed; anything else (Zabbix or NetBox unreachable) is retried.
def _target(target: str, *_args: object, **_kwargs: object) -> list[str]:
    return [target]


def _targets(targets: list[str]) -> list[str]:
    return list(targets)


HOST_JOB = {"queue_name": QUEUE_HOSTS, "throws": (Refused,), "job_targets": _target}


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def provision_agent(job: Job, target: str) -> dict:
    """ProvisionAgent: the host with a Zabbix agent interface, kept over the mapping's."""
    rt = get_runtime()
    return host_jobs.provision(job, rt.zabbix, rt.netbox, target, ["agent"])


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def provision_snmp(job: Job, target: str, version: str = "snmpv2c") -> dict:
    """ProvisionSNMP: the host with an SNMP (``snmpv1``, ``snmpv2c``, ``snmpv3``) interface."""
    rt = get_runtime()
    return host_jobs.provision(job, rt.zabbix, rt.netbox, target, [version])


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def create_zabbix_host(job: Job, target: str) -> dict:
    rt = get_runtime()
    return host_jobs.create_host(job, rt.zabbix, rt.netbox, target)


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def update_zabbix_host(job: Job, target: str) -> dict:
    rt = get_runtime()
    return host_jobs.update_host(job, rt.zabbix, rt.netbox, target)


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def delete_zabbix_host(job: Job, target: str, mode: str | None = None) -> dict:
    return host_jobs.delete_host(job, get_runtime().zabbix, target, mode)


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def create_zabbix_interface(job: Job, target: str) -> dict:
    rt = get_runtime()
    return host_jobs.interface_job(job, rt.zabbix, rt.netbox, target, create=True)


@dramatiq.actor(**HOST_JOB)
@atomic_job(_target)
def update_zabbix_interface(job: Job, target: str) -> dict:
    rt = get_runtime()
    return host_jobs.interface_job(job, rt.zabbix, rt.netbox, target, create=False)


@dramatiq.actor(**{**HOST_JOB, "job_targets": _targets})
@atomic_job(_targets)
def validate_host(job: Job, targets: list[str]) -> dict:
    """ValidateHost: fails, listing every difference, when Zabbix is not what NetBox says."""
    rt = get_runtime()
    return host_jobs.validate(job, rt.zabbix, rt.netbox, targets)


#: Every actor, for binding to the process's broker (consumer.broker.bind_actors).
ACTORS: list[dramatiq.Actor] = [
    ping,
    purge_event_log,
    handle_event,
    reconcile,
    provision_agent,
    provision_snmp,
    create_zabbix_host,
    update_zabbix_host,
    delete_zabbix_host,
    create_zabbix_interface,
    update_zabbix_interface,
    validate_host,
]
