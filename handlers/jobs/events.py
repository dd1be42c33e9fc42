"""The event job: a NetBox event becomes a dirty mark on its host target.

Jobs read NetBox afresh, so a burst of events for one host costs one reconciliation; the
decision itself is :func:`handlers.decide.translate.translate` (pure).
"""

from __future__ import annotations

from typing import Any

from handlers.decide.translate import DELETE, IGNORE, translate
from handlers.gateways import deletion_evidence, dirty_targets
from handlers.gateways.settings import read_settings
from handlers.jobs import coalescing
from handlers.runner import Job


def handle_event(job: Job, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Translate ``event``, log the decision, mark its target dirty. Returns the decision and
    whether a reconcile run should be sent once the job commits."""
    decision = translate(event, read_settings(job.conn))
    job.log(
        "info",
        f"{decision.action} {decision.target or '-'}: {decision.reason}",
        target=decision.target,
        data={**decision.asdict(), "request_id": event.get("request_id")},
    )
    if decision.action == IGNORE:
        return decision.asdict(), False
    if decision.action == DELETE and event["event"] == "deleted":
        # The evidence a delete needs: the web edge checked this webhook's signature.
        deletion_evidence.record(
            job.conn, decision.target, "a signed deleted webhook", event.get("request_id")
        )
    dirty_targets.mark_dirty(job.conn, decision.target, decision.reason, event.get("request_id"))
    return decision.asdict(), coalescing.run_wanted_after_event(job.conn)
