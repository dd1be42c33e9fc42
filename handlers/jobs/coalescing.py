"""When a reconcile run starts: the coalescing policy that turns a burst of events into
few batches, and a lone change into a run at once.

Leading edge: the first event after a quiet spell sends a run, which starts at once. Events
that arrive while a run is in progress mark their targets and gather: the run that is busy
sends the next one when it ends, and that one takes everything marked meanwhile. So a lone
change never waits for company, and a burst still becomes few runs (one per run's length).
The actors send the runs; this module says when.
"""

from __future__ import annotations

import psycopg

from handlers.gateways import dirty_targets

#: Seconds a claim counts as a run in progress: a run whose worker died (its claims left
#: behind) stops holding others back after this; the minute's periodic run then goes.
BUSY_S = 30


def run_wanted_after_event(conn: psycopg.Connection) -> bool:
    """An event marked its target: whether to send a run (none is pending yet)."""
    return dirty_targets.request_reconcile(conn)


def start_run(conn: psycopg.Connection, gather: bool = True) -> bool:
    """A run is due: True when it should go ahead now (events from now on ask for the next
    one); False when, with ``gather``, another run is in progress: the request stays
    pending and that run's end sends the next (:func:`run_wanted_after_run`), which takes
    what gathered meanwhile. Without ``gather`` (a full sync's parallel runs) it goes."""
    if gather and dirty_targets.run_in_progress(conn, BUSY_S):
        return False
    dirty_targets.reconcile_started(conn)
    return True


def run_wanted_after_run(conn: psycopg.Connection) -> bool:
    """A run ended: whether targets marked while it ran (or whose run was held back for it)
    need the next run now; if so, it is pending from now on, so events send no other."""
    return dirty_targets.take_unclaimed(conn)
