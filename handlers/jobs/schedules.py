"""The scheduler's tick: enqueue each recurring system job that is due.

The periodiq process sends one tick a minute; the tick reads every interval from the
settings row (so a changed interval applies at the next tick, with no restart) and claims
each due schedule in Postgres before enqueueing its job, so a due job is enqueued once even
when two schedulers run by mistake.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from handlers.gateways import schedules
from handlers.gateways.settings import read_settings
from handlers.runner import Job

#: System job (its actor's name) -> the setting that holds its interval, minutes.
SCHEDULES = {
    "import_zabbix_settings": "import_settings_interval_min",
    "sync_hosts": "sync_hosts_interval_min",
    "host_config_sync_refresh": "sync_refresh_interval_min",
}


def tick(job: Job, broker: dramatiq.Broker) -> dict[str, Any]:
    """Enqueue every due system job. The message is published before the claim commits: if
    publishing fails, the claim rolls back and the next tick tries again."""
    settings = read_settings(job.conn)
    enqueued = []
    for name, setting in SCHEDULES.items():
        message = broker.get_actor(name).message()
        if schedules.claim_due(job.conn, name, settings[setting], message.message_id):
            broker.enqueue(message)
            enqueued.append(name)
    return {"enqueued": enqueued}


def run_now(conn: Any, broker: dramatiq.Broker, name: str) -> dramatiq.Message:
    """Enqueue system job ``name`` now (``nzc schedules run``); its interval counts from now."""
    if name not in SCHEDULES:
        raise ValueError(
            f"no system job named {name!r}; the scheduled ones are {', '.join(SCHEDULES)}"
        )
    message = broker.get_actor(name).message()
    schedules.record_enqueued(conn, name, message.message_id)
    broker.enqueue(message)
    return message
