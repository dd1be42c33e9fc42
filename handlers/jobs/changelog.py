"""Bulk edits at the speed of one request: the change log of a NetBox request names every
object it changed, committed before its first webhook left, while its webhooks arrive one
at a time. Reading it marks every host of the bulk dirty at once.

An accelerator, never a dependency: without permission to read the change log, or on any
error, the webhooks alone still bring every change (each marks its own target), and jobs
read NetBox afresh whatever marked them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pynetbox
import requests

from handlers.decide.changelog import targets_of_changes, unresolved_interfaces
from handlers.gateways import dirty_targets, netbox_requests
from handlers.gateways.postgres import Store
from handlers.jobs import coalescing
from handlers.metrics import CHANGELOG_READS
from handlers.runner import Job

log = logging.getLogger(__name__)

#: Outcomes of one read (the ``outcome`` label of nzc_changelog_reads).
READ, FORBIDDEN, FAILED = "read", "forbidden", "failed"


def read_request(
    job: Job, store: Store, netbox: Any, request_id: str, send_run: Callable[[], Any]
) -> dict:
    """Read ``request_id``'s change log page by page, marking the hosts each page names dirty
    in a short transaction of its own, committed before the next page is asked for, and
    sending the reconcile run it calls for at once (``send_run``): a later page, or a
    failure, never holds back the hosts already marked."""
    changes = marked = 0
    outcome, error = READ, None
    try:
        for page in netbox.request_changes(request_id):
            owners = {
                kind: netbox.interface_owners(kind, ids)
                for kind, ids in unresolved_interfaces(page).items()
            }
            targets = targets_of_changes(page, owners)
            if targets:
                with store.connection() as conn, conn.transaction():
                    dirty_targets.mark_each(
                        conn, {t: (f"{why} (change log)", request_id) for t, why in targets.items()}
                    )
                    run_wanted = coalescing.run_wanted_after_event(conn)
                if run_wanted:
                    send_run()
            changes += len(page)
            marked += len(targets)
    except (pynetbox.RequestError, pynetbox.ContentError, requests.RequestException) as exc:
        status = getattr(getattr(exc, "req", None), "status_code", None)
        outcome = FORBIDDEN if status == 403 else FAILED
        error = f"{type(exc).__name__}: {getattr(exc, 'error', None) or exc}"[:500]
        netbox.warn_changelog(exc, "a bulk edit's hosts follow its webhooks one at a time")
    CHANGELOG_READS.labels(outcome).inc()
    netbox_requests.record_read(
        job.conn, request_id, outcome=outcome, changes=changes, targets=marked, error=error
    )
    job.log(
        "info" if outcome == READ else "warning",
        f"NetBox request {request_id}: {changes} change(s) read, {marked} host(s) marked"
        + (
            f"; the change log could not be read ({error}), webhooks alone bring it"
            if error
            else ""
        ),
        data={"request_id": request_id, "outcome": outcome, "changes": changes, "marked": marked},
    )
    return {"request_id": request_id, "outcome": outcome, "changes": changes, "marked": marked}
