"""The Dramatiq actors. Each one runs its job through the AtomicJobRunner (handlers.runner)."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from consumer.broker import QUEUE_SYSTEM
from handlers import records
from handlers.runner import Job, atomic_job
from handlers.settings_store import read_settings


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


#: Every actor, for binding to the process's broker (consumer.broker.bind_actors).
ACTORS: list[dramatiq.Actor] = [ping, purge_event_log]
