"""The scheduler's tick against real Postgres and RabbitMQ: intervals come from the settings
row at every tick, and a due job is enqueued once even when two schedulers tick at once."""

import threading

import psycopg
import pytest
from click.testing import CliRunner

from consumer.cli import cli
from handlers.gateways.settings import update_settings
from handlers.jobs.schedules import SCHEDULES, tick
from handlers.runner import Job
from tests.conftest import make_env
from tests.waiting import wait_for

pytestmark = pytest.mark.integration

IMPORT = "import_zabbix_settings"


@pytest.fixture
def schedules(db):
    """Every schedule enqueued just now (none due); the settings restored afterwards."""
    before = db.execute("SELECT * FROM settings").fetchone()
    db.execute("UPDATE schedules SET last_enqueued_at = now(), last_job_id = NULL")
    yield db
    intervals = {setting: before[setting] for setting in SCHEDULES.values()}
    db.execute("UPDATE settings SET " + ", ".join(f"{k} = %({k})s" for k in intervals), intervals)


def run_tick(database_url, broker, *, ticked=None, commit=None):
    """One scheduler tick in its own transaction. With ``ticked`` and ``commit`` (Events),
    it says when it has ticked and holds its commit until told."""
    with psycopg.connect(database_url, row_factory=psycopg.rows.dict_row) as conn:
        with conn.transaction():
            result = tick(Job(conn, "tick", [], 1), broker)
            if commit is not None:
                ticked.set()
                commit.wait(30)
    return result["enqueued"]


def enqueued_since(db, since, actor=IMPORT):
    return db.execute(
        "SELECT count(*) AS n FROM jobs WHERE actor = %s AND enqueued_at >= %s", [actor, since]
    ).fetchone()["n"]


def test_a_changed_interval_applies_at_the_next_tick_without_a_restart(
    schedules, database_url, rabbit_runtime
):
    db, broker = schedules, rabbit_runtime.broker
    since = db.execute("SELECT clock_timestamp() AS t").fetchone()["t"]
    assert run_tick(database_url, broker) == []
    # Enqueued ten minutes ago, every 60 minutes: not due.
    db.execute(
        "UPDATE schedules SET last_enqueued_at = now() - interval '10 minutes' WHERE name = %s",
        [IMPORT],
    )
    assert run_tick(database_url, broker) == []
    update_settings(db, {"import_settings_interval_min": 5})
    assert run_tick(database_url, broker) == [IMPORT]
    assert run_tick(database_url, broker) == []
    # The job row (written when RabbitMQ confirmed the message) is the schedule's last job.
    row = db.execute("SELECT * FROM schedules WHERE name = %s", [IMPORT]).fetchone()
    wait_for(lambda: enqueued_since(db, since) == 1, "the import's job row")
    assert (
        db.execute("SELECT actor FROM jobs WHERE id = %s", [row["last_job_id"]]).fetchone()["actor"]
        == IMPORT
    )


def test_two_schedulers_ticking_at_once_enqueue_a_due_job_once(
    schedules, database_url, rabbit_runtime
):
    db, broker = schedules, rabbit_runtime.broker
    since = db.execute("SELECT clock_timestamp() AS t").fetchone()["t"]
    db.execute("UPDATE schedules SET last_enqueued_at = NULL WHERE name = %s", [IMPORT])
    ticked, first_commits, results = threading.Event(), threading.Event(), {}

    def first():
        results["first"] = run_tick(database_url, broker, ticked=ticked, commit=first_commits)

    def second():
        results["second"] = run_tick(database_url, broker)

    one = threading.Thread(target=first)
    one.start()
    # The first tick has claimed the schedule and holds its transaction open...
    assert ticked.wait(30), "the first tick did not tick"
    two = threading.Thread(target=second)
    two.start()
    # ...so the second one waits for that row lock.
    wait_for(
        lambda: (
            db.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO schedules%%'"
            ).fetchone()["n"]
            == 1
        ),
        "the second tick to wait for the first one's claim",
    )
    first_commits.set()
    one.join(30)
    two.join(30)
    assert results == {"first": [IMPORT], "second": []}
    wait_for(lambda: enqueued_since(db, since) >= 1, "the import's job row")
    assert enqueued_since(db, since) == 1


def test_nzc_schedules_lists_every_system_job_and_refuses_bad_intervals(
    schedules, database_url, rabbit_runtime
):
    runner = CliRunner()
    env = make_env(database_url)
    out = runner.invoke(cli, ["schedules"], env=env, catch_exceptions=False).output
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["JOB", "EVERY"]
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(SCHEDULES)
    assert any(line.startswith(IMPORT) and " 60 min " in line for line in lines)

    for bad in ("0", "20000"):
        result = runner.invoke(cli, ["settings", "set", "sync_hosts_interval_min", bad], env=env)
        assert result.exit_code == 1
        assert "sync_hosts_interval_min: must be a whole number of minutes from 1 to 10080" in (
            result.output
        )
    result = runner.invoke(cli, ["schedules", "run", "nightly_backup"], env=env)
    assert result.exit_code == 2 and "the scheduled ones are import_zabbix_settings" in (
        result.output
    )
    result = runner.invoke(cli, ["schedules", "run", IMPORT, "--wait", "0"], env=env)
    assert result.exit_code == 0 and "queued" in result.output
    job_id = result.output.split()[1]
    assert (
        schedules.execute("SELECT last_job_id FROM schedules WHERE name = %s", [IMPORT]).fetchone()[
            "last_job_id"
        ]
        == job_id
    )
