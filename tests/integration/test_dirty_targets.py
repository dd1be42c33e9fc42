"""The dirty-target queue that feeds reconcile runs, on real Postgres."""

import psycopg
import pytest

from handlers.gateways import dirty_targets

pytestmark = pytest.mark.integration


@pytest.fixture
def clean(db):
    db.execute("DELETE FROM dirty_targets")
    yield db
    db.execute("DELETE FROM dirty_targets")


def connect(database_url):
    return psycopg.connect(database_url, row_factory=psycopg.rows.dict_row)


def test_marking_a_claimed_target_does_not_wait_for_the_run_and_keeps_it_dirty(clean, database_url):
    db = clean
    dirty_targets.mark_dirty(db, "dcim.device:1", "created", None)
    dirty_targets.mark_dirty(db, "dcim.device:2", "created", None)
    claimed = dirty_targets.claim_dirty(db, 10, "run-1")
    assert claimed == {"dcim.device:1": 1, "dcim.device:2": 1}
    assert dirty_targets.claim_dirty(db, 10, "run-2") == {}  # a second run takes nothing

    with connect(database_url) as run:  # the run's transaction stays open meanwhile
        run.execute("SELECT 1")
        db.execute("SET lock_timeout = '500ms'")
        dirty_targets.mark_dirty(db, "dcim.device:2", "updated", None)  # no wait, no error
        db.execute("RESET lock_timeout")
        dirty_targets.clear_dirty(run, claimed, "run-1")
        run.commit()

    left = db.execute("SELECT target, generation, claimed_by FROM dirty_targets").fetchall()
    assert left == [{"target": "dcim.device:2", "generation": 2, "claimed_by": None}]
    assert dirty_targets.claim_dirty(db, 10, "run-3") == {"dcim.device:2": 2}


def test_a_failed_run_hands_its_targets_back_and_an_abandoned_claim_expires(clean):
    db = clean
    dirty_targets.mark_dirty(db, "dcim.device:3", "created", None)
    dirty_targets.claim_dirty(db, 10, "run-1")
    assert dirty_targets.run_in_progress(db, 30)
    assert not dirty_targets.take_unclaimed(db)  # nothing waits for a run
    dirty_targets.release_claims(db, "run-1")
    assert not dirty_targets.run_in_progress(db, 30)
    assert dirty_targets.take_unclaimed(db)
    assert db.execute("SELECT pending FROM reconcile_state").fetchone()["pending"]
    assert dirty_targets.claim_dirty(db, 10, "run-2") == {"dcim.device:3": 1}

    # run-2's worker died: once the lease is over, another run takes the target.
    db.execute(
        "UPDATE dirty_targets SET claimed_at = now() - make_interval(secs => %s)",
        [dirty_targets.CLAIM_LEASE_S + 1],
    )
    assert dirty_targets.claim_dirty(db, 10, "run-3") == {"dcim.device:3": 1}


def test_a_run_that_served_a_held_back_request_leaves_none_pending(clean):
    """A run in progress held back another (its request stays pending); the run took that
    request's target, so as it ends nothing waits and nothing stays pending: the next
    event sends a run rather than counting on one that will never come."""
    db = clean
    db.execute("UPDATE reconcile_state SET pending = false")
    dirty_targets.mark_dirty(db, "dcim.device:5", "created", None)
    assert dirty_targets.request_reconcile(db)  # the event sends a run
    dirty_targets.reconcile_started(db)
    claimed = dirty_targets.claim_dirty(db, 10, "run-1")
    dirty_targets.mark_dirty(db, "dcim.device:6", "created", None)
    assert dirty_targets.request_reconcile(db)  # sent, then held back: run-1 is in progress
    assert dirty_targets.claim_dirty(db, 10, "run-1") == {"dcim.device:6": 1}  # run-1 takes it
    dirty_targets.clear_dirty(db, {**claimed, "dcim.device:6": 1}, "run-1")
    assert not dirty_targets.take_unclaimed(db)
    assert not db.execute("SELECT pending FROM reconcile_state").fetchone()["pending"]
    dirty_targets.mark_dirty(db, "dcim.device:7", "created", None)
    assert dirty_targets.request_reconcile(db)


def test_a_run_ending_locks_its_targets_in_the_order_events_mark_them(clean, database_url):
    """An event batch marks targets in target order (mark_each); a run's end takes the rows
    it claimed in that order too, so the two never wait for each other in a circle (the
    soak met the deadlock before). Held still: the event holds the first target, and while
    the run's end waits for it, the second target is still free."""
    import threading

    from tests.waiting import wait_for

    db = clean
    first, second = "dcim.device:501", "dcim.device:502"
    dirty_targets.mark_many(db, {first: "created", second: "created"})
    # The run names its claims second first: its end must still lock the first first.
    claimed = dict(reversed(dirty_targets.claim_dirty(db, 10, "run-9").items()))
    assert list(claimed) == [second, first]
    with connect(database_url) as event, connect(database_url) as run:
        event.execute("SELECT 1")
        dirty_targets.mark_each(event, {first: ("updated", None)})  # holds the first, open
        pid = run.execute("SELECT pg_backend_pid() AS pid").fetchone()["pid"]
        ended = threading.Event()

        def end_run():
            dirty_targets.clear_dirty(run, claimed, "run-9")
            run.commit()
            ended.set()

        threading.Thread(target=end_run, daemon=True).start()
        try:
            wait_for(
                lambda: db.execute(
                    "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity"
                    " WHERE pid = %s",
                    [pid],
                ).fetchone()["waiting"],
                "the run's end waiting for the event's lock",
            )
            # Waiting for the first target, it holds no lock on the second (NOWAIT would
            # raise; this autocommit connection lets go at once).
            db.execute(
                "SELECT target FROM dirty_targets WHERE target = %s FOR UPDATE NOWAIT", [second]
            )
        finally:
            event.commit()  # the run's end goes on, whatever was found
            wait_for(ended.is_set, "the run's end")
    left = db.execute("SELECT target, generation, claimed_by FROM dirty_targets").fetchall()
    # The second was cleared; the first, marked again meanwhile, waits for the next run.
    assert left == [{"target": first, "generation": 2, "claimed_by": None}]
