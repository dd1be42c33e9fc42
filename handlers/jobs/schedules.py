"""The scheduler's tick: enqueue each recurring system job that is due.

The periodiq process sends one tick a minute; the tick reads every interval from the
settings row (so a changed interval applies at the next tick, with no restart) and claims
each due schedule in Postgres before enqueueing its job, so a due job is enqueued once even
when two schedulers run by mistake.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dramatiq
import psycopg

from handlers.gateways import schedules
from handlers.gateways.postgres import database_now
from handlers.gateways.settings import read_settings
from handlers.runner import Job

log = logging.getLogger(__name__)

#: System job (its actor's name) -> the setting that holds its interval, minutes.
SCHEDULES = {
    "import_zabbix_settings": "import_settings_interval_min",
    "sync_hosts": "sync_hosts_interval_min",
    "host_config_sync_refresh": "sync_refresh_interval_min",
    "maintenance_cleanup": "maintenance_cleanup_interval_min",
}


def tick(job: Job, broker: dramatiq.Broker) -> dict[str, Any]:
    """Enqueue every due system job, each claimed and published in a savepoint of its own:
    if publishing one fails, its claim rolls back (the next tick tries again), the others
    stand, and the tick is ``partial``. Only a failure of the tick's own commit, after
    publishing, can let the next tick enqueue a job again: at least once, never lost."""
    settings = read_settings(job.conn)
    enqueued, failed = [], {}
    for name, setting in SCHEDULES.items():
        message = broker.get_actor(name).message()
        try:
            with job.conn.transaction():
                if not schedules.claim_due(job.conn, name, settings[setting], message.message_id):
                    continue
                broker.enqueue(message)
        except Exception as exc:  # noqa: BLE001 -- the other schedules still run; recorded
            log.exception("could not enqueue the system job %s", name)
            failed[name] = f"{type(exc).__name__}: {exc}"
            continue
        enqueued.append(name)
    if failed:
        job.partial = True
        job.log("error", f"schedule tick: could not enqueue {', '.join(failed)}", data=failed)
    return {"enqueued": enqueued, **({"failed": failed} if failed else {})}


def run_now(conn: psycopg.Connection, broker: dramatiq.Broker, name: str) -> dramatiq.Message:
    """Enqueue system job ``name`` now (``nzc schedules run``); its interval counts from now."""
    if name not in SCHEDULES:
        raise ValueError(
            f"no system job named {name!r}; the scheduled ones are {', '.join(SCHEDULES)}"
        )
    message = broker.get_actor(name).message()
    schedules.record_enqueued(conn, name, message.message_id)
    broker.enqueue(message)
    return message


@dataclass(frozen=True)
class ScheduleState:
    """One recurring system job as an operator sees it (``nzc schedules``, the admin API).

    Parameters:
      name: the system job (its actor's name).
      interval_min: its interval, minutes, from the settings row.
      last_run_at: when its last job finished (else started, else was enqueued); None if never.
      last_status: that job's status, or None.
      next_run_at: when it comes due; None when it is due now (at the next tick).
      last_job_id: the last job's id, or None.
      last_error: the last job's error, or None.
    """

    name: str
    interval_min: int
    last_run_at: datetime | None
    last_status: str | None
    next_run_at: datetime | None
    last_job_id: str | None
    last_error: str | None


def overview(conn: psycopg.Connection) -> list[ScheduleState]:
    """Every schedule with its interval, last run and next due time, in name order."""
    settings = read_settings(conn)
    now = database_now(conn)
    states = []
    for row in schedules.load(conn):
        interval = settings[SCHEDULES[row["name"]]]
        enqueued = row["last_enqueued_at"]
        due = enqueued + timedelta(minutes=interval) if enqueued else None
        states.append(
            ScheduleState(
                name=row["name"],
                interval_min=interval,
                last_run_at=row["last_finished_at"] or row["last_started_at"] or enqueued,
                last_status=row["last_status"],
                next_run_at=due if due and due > now else None,
                last_job_id=row["last_job_id"],
                last_error=row["last_error"],
            )
        )
    return states
