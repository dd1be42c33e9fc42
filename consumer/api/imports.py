"""ImportHost from the API: queue an import of existing Zabbix hosts, or plan one."""

from __future__ import annotations

from typing import Any

from consumer.api.operations import Operations
from consumer.state import app_state
from handlers.decide.adopt import parse_match
from handlers.jobs.imports import dry_run
from schemas.admin import ImportHostsSchema, ImportPlanSchema, QueuedSchema

operations = Operations("import")

#: The actor of an import.
IMPORT_ACTOR = "import_hosts"


@operations.route(
    "POST",
    "/import/hosts",
    body=ImportHostsSchema(),
    answers={202: QueuedSchema(), 200: ImportPlanSchema()},
    errors=(400, 502, 503),
)
def import_hosts(body: dict[str, Any]) -> tuple[int, Any]:
    """Adopt the Zabbix hosts that exist already for NetBox devices and VMs without a host
    config (targets, or all), keeping their hostids, interfaces, items and history (202:
    the queued job; its result lists what was adopted and what refused, with why). With
    dry_run the web process plans the import in a read-only transaction and answers the
    plan (200): nothing is written."""
    runtime = app_state().runtime
    match = parse_match(body["match"])
    if not body["dry_run"]:
        message = runtime.broker.get_actor(IMPORT_ACTOR).send(
            body["targets"], every=body["all"], match=sorted(match)
        )
        return 202, {"job_id": message.message_id, "actor": IMPORT_ACTOR}
    plan, lines = dry_run(
        runtime.store, runtime.zabbix, runtime.netbox, body["targets"], body["all"], match
    )
    return 200, {
        "dry_run": True,
        "adopt": {t: a.actual.hostid for t, a in plan.adopt.items()},
        "refused": plan.refused,
        "not_found": list(plan.not_found),
        "lines": lines,
    }
