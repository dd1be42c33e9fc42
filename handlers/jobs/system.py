"""System jobs: the ping round trip and the event-log purge."""

from __future__ import annotations

from typing import Any

from handlers.gateways import job_records
from handlers.gateways.settings import read_settings
from handlers.runner import Job


def ping(job: Job, token: str) -> dict[str, Any]:
    """Proves the round trip web/CLI -> RabbitMQ -> worker -> Postgres."""
    job.log("info", "pong", data={"token": token})
    return {"pong": token}


def purge_event_log(job: Job) -> dict[str, Any]:
    """Delete event-log entries older than the retention setting."""
    days = read_settings(job.conn)["event_log_retention_days"]
    return {"deleted": job_records.purge_event_log(job.conn, days), "retention_days": days}
