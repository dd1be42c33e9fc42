"""The event job: NetBox events become dirty marks on their host targets.

Jobs read NetBox afresh, so a burst of events for one host costs one reconciliation; the
decision itself is :func:`handlers.decide.translate.translate` (pure). The web edge sends
the events that arrived together as one batch: one transaction, one statement for the
dirty marks and one for the event-log entries, whatever its size.
"""

from __future__ import annotations

from typing import Any

from handlers.decide.changelog import wants_read
from handlers.decide.translate import DELETE, IGNORE, translate
from handlers.gateways import deletion_evidence, dirty_targets, job_records, netbox_requests
from handlers.gateways.settings import read_settings
from handlers.jobs import coalescing
from handlers.runner import Job


def handle_events(
    job: Job, events: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], bool, list[str]]:
    """Translate each of ``events`` (in order), log each decision against its target, mark
    the targets dirty. Returns the decisions, whether a reconcile run should be sent once
    the job commits, and the NetBox requests seen for the first time whose change log is
    to be read (:mod:`handlers.jobs.changelog`)."""
    settings = read_settings(job.conn)
    decisions = []
    entries = []
    marks: dict[str, tuple[str, str | None]] = {}
    deleted: dict[str, str | None] = {}
    for event in events:
        decision = translate(event, settings)
        request_id = event.get("request_id")
        decisions.append(decision.asdict())
        entries.append(
            (
                "info",
                f"{decision.action} {decision.target or '-'}: {decision.reason}",
                decision.target,
                {**decision.asdict(), "request_id": request_id},
            )
        )
        if decision.action == IGNORE:
            continue
        if decision.action == DELETE and event["event"] == "deleted":
            deleted[decision.target] = request_id
        marks[decision.target] = (decision.reason, request_id)
    job_records.log_events(job.conn, job.job_id, entries)
    # The evidence a delete needs: the web edge checked these webhooks' signatures.
    deletion_evidence.record_many(job.conn, deleted, "a signed deleted webhook")
    dirty_targets.mark_each(job.conn, marks)
    setting = settings["changelog_reads"]
    reads = netbox_requests.remember(
        job.conn, [e["request_id"] for e in events if wants_read(e, setting)]
    )
    return decisions, bool(marks) and coalescing.run_wanted_after_event(job.conn), reads
