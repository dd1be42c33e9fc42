"""SyncHostsNow from the API: queue a full sync, or plan one and answer the plan."""

from __future__ import annotations

from collections import Counter
from typing import Any

from consumer.api.operations import Operations
from consumer.state import app_state
from handlers.decide.sync import describe
from handlers.jobs.sync import dry_run
from schemas.admin import QueuedSchema, SyncPlanSchema, SyncSchema

operations = Operations("sync")

#: The actor of a full sync.
SYNC_ACTOR = "sync_hosts"


@operations.route(
    "POST",
    "/sync",
    body=SyncSchema(),
    answers={202: QueuedSchema(), 200: SyncPlanSchema()},
    errors=(400, 502, 503),
)
def sync_now(body: dict[str, Any]) -> tuple[int, Any]:
    """Start a full sync, or plan one. A sync compares every NetBox device and VM with
    every Zabbix host of ours and repairs what differs (202: the queued job). With
    dry_run the web process plans the sync in a read-only transaction and answers the
    plan (200): nothing is written, and the answer takes as long as reading NetBox and
    Zabbix does."""
    runtime = app_state().runtime
    if not body["dry_run"]:
        message = runtime.broker.get_actor(SYNC_ACTOR).send(body["allow_deletions"])
        return 202, {"job_id": message.message_id, "actor": SYNC_ACTOR}
    plan, marked = dry_run(runtime.store, runtime.zabbix, runtime.netbox, body["allow_deletions"])
    actions = Counter(step.action for step in plan.steps.values())
    return 200, {
        "dry_run": True,
        "compared": len(plan.steps),
        "actions": dict(sorted(actions.items())),
        "to_reconcile": marked.reasons,
        "lines": describe(plan, marked.reasons),
        "held": marked.held,
        "deletions_held": len(marked.deletions) if marked.held else 0,
    }
