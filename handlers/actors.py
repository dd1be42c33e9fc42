"""The Dramatiq actors. Each one runs its job through the AtomicJobRunner (handlers.runner)."""

from __future__ import annotations

import dramatiq
from periodiq import cron

from consumer.broker import QUEUE_EVENTS, QUEUE_SYSTEM
from handlers import records
from handlers.runner import Job, atomic_job
from handlers.settings_store import read_settings
from handlers.translate import handle_event_targets, translate


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


@dramatiq.actor(queue_name=QUEUE_EVENTS, job_targets=handle_event_targets)
@atomic_job(handle_event_targets)
def handle_event(job: Job, event: dict) -> dict:
    """Translate one normalised NetBox event and record the decision in the event log."""
    decision = translate(event, read_settings(job.conn))
    job.log(
        "info",
        f"{decision.action} {decision.target or '-'}: {decision.reason}",
        target=decision.target,
        data={**decision.asdict(), "request_id": event.get("request_id")},
    )
    return decision.asdict()


#: Every actor, for binding to the process's broker (consumer.broker.bind_actors).
ACTORS: list[dramatiq.Actor] = [ping, purge_event_log, handle_event]
