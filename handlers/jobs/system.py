"""System jobs: the ping round trip, the event-log purge and ImportZabbixSettings."""

from __future__ import annotations

from typing import Any

from handlers.decide.mirror import KINDS, mirror_changes, refusal
from handlers.gateways import job_records, mirrors, netbox_requests
from handlers.gateways.settings import read_settings
from handlers.gateways.zabbix import ZabbixGateway
from handlers.gateways.zabbix_catalog import read_catalog
from handlers.runner import Job, Refused


def ping(job: Job, token: str) -> dict[str, Any]:
    """Proves the round trip web/CLI -> RabbitMQ -> worker -> Postgres."""
    job.log("info", "pong", data={"token": token})
    return {"pong": token}


def purge_event_log(job: Job) -> dict[str, Any]:
    """Delete event-log entries older than the retention setting, and forget the NetBox
    requests seen more than a day ago."""
    days = read_settings(job.conn)["event_log_retention_days"]
    return {
        "deleted": job_records.purge_event_log(job.conn, days),
        "retention_days": days,
        "requests_forgotten": netbox_requests.purge(job.conn),
    }


def import_zabbix_settings(job: Job, zbx: ZabbixGateway) -> dict[str, Any]:
    """ImportZabbixSettings: mirror Zabbix's templates (with their parents and the interfaces
    their items need), host groups, proxies and proxy groups into Postgres. Rows gone from
    Zabbix are removed, unless there are more than ``max_deletions``: then nothing changes
    and the job is refused, naming the count and the limit."""
    found = read_catalog(zbx)
    changes = mirror_changes(mirrors.load_all(job.conn), found)
    if problem := refusal(changes, read_settings(job.conn)["max_deletions"]):
        raise Refused(f"ImportZabbixSettings: {problem}", data={"removals": changes.removals})
    mirrors.apply(job.conn, changes)
    counts = {kind: len(rows) for kind, rows in found.items()}
    job.log(
        "info",
        "ImportZabbixSettings: "
        + ", ".join(
            f"{counts[k]} {k} ({len(changes.upserts[k])} new or changed, "
            f"{len(changes.removals[k])} removed)"
            for k in KINDS
        ),
        data={"removals": changes.removals},
    )
    return {
        "imported": counts,
        "written": {k: len(v) for k, v in changes.upserts.items()},
        "removed": {k: len(v) for k, v in changes.removals.items()},
    }
