"""The suite's one way to wait: poll an observable condition until it holds.

Tests never sleep to let something happen; they wait for what proves it happened (a job
row, a host in Zabbix, a message in a queue), with a generous deadline so that a slow
machine only takes longer, never fails.
"""

import time

#: Seconds between two looks at the condition.
POLL_S = 0.05


def wait_for(predicate, what, timeout=30.0):
    """Call ``predicate`` until it returns something true and return that; fail naming
    ``what`` and the last value seen once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")
        time.sleep(POLL_S)  # the poll interval, not a synchronisation point


def job_in(db, job_id, statuses, timeout=30.0):
    """The job row of ``job_id`` once its status is one of ``statuses``."""

    def row():
        found = db.execute("SELECT * FROM jobs WHERE id = %s", [job_id]).fetchone()
        return found if found and found["status"] in statuses else None

    return wait_for(row, f"job {job_id} to be {'/'.join(sorted(statuses))}", timeout)
