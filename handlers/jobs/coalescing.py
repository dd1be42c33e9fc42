"""When a reconcile run starts: the coalescing policy that turns a burst of events into
few batches.

An event marks its target dirty and asks for a run (one run pending at a time); the run
waits while events keep arriving, but never makes the oldest dirty target wait too long.
The actors send the runs; this module says when.
"""

from __future__ import annotations

import psycopg

from handlers.gateways import dirty_targets

#: A reconcile run waits until no event came for this long, milliseconds, so that a burst
#: (a bulk edit, a device-delete cascade) becomes one batch...
COALESCE_MS = 500
#: ...but never delays the oldest dirty target longer than this, milliseconds.
MAX_WAIT_MS = 3000


def run_wanted_after_event(conn: psycopg.Connection) -> bool:
    """An event marked its target: whether to send a run (none is pending yet)."""
    return dirty_targets.request_reconcile(conn)


def start_run(conn: psycopg.Connection) -> bool:
    """A run is due: True when it should go ahead now (and events from now on ask for the
    next one); False when events are still arriving and it should wait :data:`COALESCE_MS`."""
    ages = dirty_targets.dirty_ages_ms(conn)
    if ages and ages[0] < COALESCE_MS and ages[1] < MAX_WAIT_MS:
        return False
    dirty_targets.reconcile_started(conn)
    return True


def run_wanted_after_run(conn: psycopg.Connection) -> bool:
    """A run ended: whether targets marked while it ran (or whose event saw a run still
    pending just before this one started) need another run now, not at the next minute."""
    return dirty_targets.dirty_ages_ms(conn) is not None and dirty_targets.request_reconcile(conn)
