"""`nzc maintenance` and /api/v1/maintenance on real Postgres and RabbitMQ (test vhost, no
worker), NetBox the simulator: a window is checked whole and refused, with the same
sentences either way, before anything is written; one that passes is listed and shown, and
creating, changing, ending and deleting it queue the maintenance_window job."""

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import tests.integration.test_admin_api as api_tests
from consumer.cli import cli
from tests.conftest import closed_port, make_env
from tests.integration.conftest import TOKEN as NETBOX_TOKEN
from tests.netbox_sim import SimServer
from tests.netbox_sim.model import site_ref
from tests.waiting import job_in

pytestmark = pytest.mark.integration

AUTH = api_tests.AUTH
assert_error = api_tests.assert_error
# The admin API tests' app builder, and the CLI tests' mirrors filled by hand.
make_app = api_tests.make_app
mirror = api_tests.mirror


def _monday_ahead():
    """Midnight UTC of a Monday one to two weeks ahead: a span in the future, whatever
    the day the suite runs."""
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=14 - today.weekday()), time(), UTC)


def at(hours, form="iso"):
    """START plus ``hours``, as the service writes times (ISO 8601, or the CLI's form)."""
    moment = MONDAY + timedelta(hours=hours)
    return moment.isoformat() if form == "iso" else moment.strftime("%Y-%m-%d %H:%M UTC")


MONDAY = _monday_ahead()
#: A span in the future, from a Monday; the day before it, and two days after.
START, END, BEFORE, LATER = at(0), at(24), at(-24), at(48)


@pytest.fixture
def netbox():
    """The NetBox simulator, with site dc1."""
    sim = SimServer(token=NETBOX_TOKEN, webhook_secret=None).start()
    sim.sim.add_org("site", "DC One", slug="dc1")
    yield sim
    sim.stop()


@pytest.fixture
def env(database_url, netbox):
    return make_env(database_url, NZC_NETBOX_URL=netbox.url, NZC_NETBOX_TOKEN=NETBOX_TOKEN)


@pytest.fixture
def nzc(env, rabbit_runtime):
    """``nzc(*args)``: the command run in process; RabbitMQ's queues emptied around the
    test (by ``rabbit_runtime``), so no job sent here reaches a later test's worker."""
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


@pytest.fixture
def api(make_app, netbox, rabbit_runtime):
    """A client of the admin API on the real RabbitMQ and the NetBox simulator."""
    return make_app(stub=False, NZC_NETBOX_URL=netbox.url, NZC_NETBOX_TOKEN=NETBOX_TOKEN)


@pytest.fixture
def names(db):
    """``names()``: a new window name; every window named so is deleted afterwards."""
    made = []

    def name():
        made.append(f"mw-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield name
    db.execute("DELETE FROM maintenance_windows WHERE name = ANY(%s)", [made])


@pytest.fixture
def host(db):
    """A target with a host config and a Zabbix host (removed afterwards)."""
    n = uuid.uuid4().int % 10**8 + 10**9
    target = f"dcim.device:{n}"
    db.execute(
        "INSERT INTO host_configs (target, hostid, host, name) VALUES (%s, %s, %s, %s)",
        [target, str(n), f"mw-host-{n}", f"mw-host-{n}"],
    )
    yield target
    db.execute("DELETE FROM host_configs WHERE target = %s", [target])


@pytest.fixture
def core(mirror):
    """The host group Core in the mirror."""
    mirror("zabbix_host_groups", "Core")
    return "Core"


def cli_refusal(result):
    """The problem lines of a CLI refusal, after checking its exit status and heading."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Error: maintenance window refused:", result.stderr
    return lines[1:]


def create_args(name, *options):
    """`nzc maintenance create NAME` from START with ``options``, queueing without waiting."""
    return ("maintenance", "create", name, "--start", START, *options, "--wait", "0")


def counts(db):
    """Windows, and maintenance_window jobs."""
    return db.execute(
        "SELECT (SELECT count(*) FROM maintenance_windows) AS windows,"
        " (SELECT count(*) FROM jobs WHERE actor = 'maintenance_window') AS jobs"
    ).fetchone()


def queued(db, job_id):
    """The queued job row of ``job_id``: actor and arguments."""
    job = job_in(db, job_id, {"queued"})
    return job["actor"], job["args"]


# Refusals


UNKNOWN = "dcim.device:1999999998"
#: (what is wrong, CLI options, body fields, the problem sentence both give)
REFUSALS = [
    (
        "end before start",
        ["--end", BEFORE, "--host-group", "Core"],
        {"end": BEFORE, "host_groups": ["Core"]},
        f"end: the end ({BEFORE}) must come after the start ({START})",
    ),
    (
        "unknown site",
        ["--end", END, "--site", "dc1", "--site", "atlantis"],
        {"end": END, "sites": ["dc1", "atlantis"]},
        "sites: NetBox has no site 'atlantis' (or the token may not see it)",
    ),
    (
        "unknown host group",
        ["--duration", "1d", "--host-group", "Core", "--host-group", "Nope"],
        {"duration": "1d", "host_groups": ["Core", "Nope"]},
        "host_groups: Zabbix has no host group 'Nope' (run `nzc zabbix import` if it is new)",
    ),
    (
        "host without host config",
        ["--end", END, "--host", UNKNOWN.replace("dcim.", "")],
        {"end": END, "hosts": [UNKNOWN]},
        f"hosts: {UNKNOWN} has no Zabbix host (no host config): nothing to put in maintenance",
    ),
    (
        "weekly period outside the window",
        ["--duration", "1d", "--site", "dc1", "--period", "weekly:sat,sun@02:00/4h"],
        {
            "duration": "1d",
            "sites": ["dc1"],
            "periods": [
                {"kind": "weekly", "days": ["sat", "sun"], "start_time": "02:00", "duration": "4h"}
            ],
        },
        "periods: period 1 (weekly:sat,sun@02:00/240m) never starts between "
        f"{START} and {END}: widen the window or change the days",
    ),
]


@pytest.mark.parametrize(
    ("options", "fields", "problem"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_a_refused_window_names_the_field_and_why_the_same_both_ways_and_writes_nothing(
    nzc, api, db, core, names, options, fields, problem
):
    before = counts(db)
    name = names()
    assert cli_refusal(nzc(*create_args(name, *options))) == [problem]
    resp = api.post(
        "/api/v1/maintenance", headers=AUTH, json={"name": name, "start": START, **fields}
    )
    assert assert_error(resp, 400) == {"error": "maintenance window refused", "detail": [problem]}
    assert counts(db) == before


def test_a_bad_period_is_refused_naming_the_option_or_the_field(nzc, api, db, core, names):
    before = counts(db)
    name = names()
    result = nzc(
        *create_args(name, "--duration", "1d", "--host-group", "Core", "--period", "weekends@02:00")
    )
    assert result.exit_code == 2
    assert (
        "Error: Invalid value for --period: 'weekends@02:00' is not a period: write daily@HH:MM/"
        in (result.stderr)
    )
    result = nzc(
        *create_args(
            name, "--duration", "1d", "--host-group", "Core", "--period", "weekly:caturday@02:00/4h"
        )
    )
    assert result.exit_code == 2
    assert "--period: 'weekly:caturday@02:00/4h': days: item 0: 'caturday' is not a day" in (
        result.stderr
    )
    body = {"name": name, "start": START, "duration": "1d", "host_groups": ["Core"]}
    bad = {**body, "periods": [{"kind": "hourly", "duration": "4h"}]}
    detail = assert_error(api.post("/api/v1/maintenance", headers=AUTH, json=bad), 400)["detail"]
    assert detail == {"periods": {"0": {"kind": ["Must be one of: daily, weekly, monthly."]}}}
    bad = {**body, "periods": [{"kind": "monthly", "days": [32], "duration": "4h"}]}
    detail = assert_error(api.post("/api/v1/maintenance", headers=AUTH, json=bad), 400)["detail"]
    assert "a monthly period needs days of the month (1 to 31); not 32" in str(detail)
    assert counts(db) == before


def test_a_window_out_of_range_is_refused_not_a_server_error(nzc, api, db, core, names):
    before = counts(db)
    name = names()
    late = ["--start", "9999-12-01T00:00:00+00:00", "--duration", "9999999w"]
    problems = cli_refusal(nzc("maintenance", "create", name, *late, "--host-group", "Core"))
    assert problems[0].startswith("start, end, duration: the window must lie within the years")
    body = {
        "name": name,
        "start": "9999-12-01T00:00:00Z",
        "duration": "9999999w",
        "host_groups": ["Core"],
    }
    resp = api.post("/api/v1/maintenance", headers=AUTH, json=body)
    assert assert_error(resp, 400)["detail"] == problems
    assert counts(db) == before


def test_netbox_down_is_said_and_nothing_is_written(database_url, make_app, db, names):
    before = counts(db)
    down = f"http://127.0.0.1:{closed_port()}"
    name = names()
    env = make_env(database_url, NZC_NETBOX_URL=down, NZC_NETBOX_TOKEN=NETBOX_TOKEN)
    args = create_args(name, "--duration", "1h", "--site", "dc1")
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert "NetBox did not answer as expected (ConnectionError" in result.stderr
    assert "nothing was written" in result.stderr
    client = make_app(NZC_NETBOX_URL=down)
    body = {"name": name, "start": START, "duration": "1h", "sites": ["dc1"]}
    resp = client.post("/api/v1/maintenance", headers=AUTH, json=body)
    assert assert_error(resp, 502)["error"] == "upstream unavailable"
    assert counts(db) == before


# Windows written


def test_a_created_window_is_listed_and_shown_and_its_name_taken(nzc, api, db, core, host, names):
    name = names()
    result = nzc(
        *create_args(
            name,
            "--duration",
            "1d",
            "--host",
            host,
            "--host-group",
            "Core",
            "--no-data",
            "--description",
            "kernel upgrades",
            "--period",
            "daily@02:00/2h",
        )
    )
    assert result.exit_code == 0, result.output
    row = db.execute("SELECT * FROM maintenance_windows WHERE name = %s", [name]).fetchone()
    assert row["created_by"].startswith("cli:") and row["collect_data"] is False
    assert row["scope"] == {"hosts": [host], "host_groups": ["Core"]}
    assert row["periods"] == [{"kind": "daily", "start_time": "02:00", "duration": 120, "days": []}]
    lines = result.output.splitlines()
    assert lines[0] == f"maintenance window {row['id']} {name!r} created"
    assert "  periods: daily@02:00/120m" in lines
    job_id = lines[-1].split()[1]
    assert queued(db, job_id) == ("maintenance_window", [row["id"], "apply"])

    listed = nzc("maintenance", "list").output.splitlines()
    assert listed[0].split() == [
        "ID",
        "NAME",
        "OWNER",
        "STATUS",
        "START",
        "END",
        "HOSTS",
        "MAINTENANCEID",
    ]
    (mine,) = [line.split() for line in listed if name in line.split()]
    assert mine[:4] == [str(row["id"]), name, "operator", "pending"] and mine[-2:] == ["0", "-"]
    as_json = nzc("maintenance", "list", "--json").output
    assert f'"name": "{name}"' in as_json

    for key in (name, str(row["id"])):
        shown = nzc("maintenance", "show", key)
        assert shown.exit_code == 0 and '"description": "kernel upgrades"' in shown.output
        assert '"members": []' in shown.output and '"error": null' in shown.output
    missing = nzc("maintenance", "show", "no-such-window")
    assert (
        missing.exit_code == 1 and "no maintenance window named 'no-such-window'" in missing.output
    )

    windows = api.get("/api/v1/maintenance", headers=AUTH).get_json()["windows"]
    (listed,) = [w for w in windows if w["name"] == name]
    assert listed["status"] == "pending" and listed["host_count"] == 0
    one = api.get(f"/api/v1/maintenance/{row['id']}", headers=AUTH).get_json()
    assert one["scope"] == {"hosts": [host], "host_groups": ["Core"]} and one["members"] == []
    assert one["periods"] == row["periods"] and one["collect_data"] is False
    assert_error(api.get("/api/v1/maintenance/2000000000", headers=AUTH), 404)

    before = counts(db)
    taken = f"a maintenance window named {name!r} exists already (id {row['id']})"
    assert cli_refusal(nzc(*create_args(name, "--duration", "1d", "--host-group", "Core"))) == [
        taken
    ]
    resp = api.post(
        "/api/v1/maintenance",
        headers=AUTH,
        json={"name": name, "start": START, "duration": "1d", "host_groups": ["Core"]},
    )
    assert assert_error(resp, 409)["detail"] == [taken]
    assert counts(db) == before


def test_the_api_creates_a_window_and_queues_its_job(api, db, netbox, names):
    name = names()
    body = {"name": name, "start": START, "duration": "4h", "sites": ["dc1"], "periods": []}
    resp = api.post("/api/v1/maintenance", headers=AUTH, json=body)
    assert resp.status_code == 201, resp.get_json()
    answer = resp.get_json()
    window = answer["window"]
    assert (
        window["name"] == name and window["status"] == "pending" and window["owner"] == "operator"
    )
    assert window["ends_at"] == at(4) and window["scope"] == {"sites": ["dc1"]}
    assert window["created_by"] == "api:127.0.0.1"
    assert answer["actor"] == "maintenance_window"
    assert queued(db, answer["job_id"]) == ("maintenance_window", [window["id"], "apply"])


# A command wires the process again (its broker becomes the actors'), so a test that sends
# jobs uses one way in: the CLI, or the API.


def cli_window(nzc, db, name):
    """A window made by `nzc maintenance create`: its id."""
    result = nzc(*create_args(name, "--end", END, "--host-group", "Core"))
    assert result.exit_code == 0, result.output
    return db.execute("SELECT id FROM maintenance_windows WHERE name = %s", [name]).fetchone()["id"]


def api_window(api, name):
    """A window made by POST /api/v1/maintenance: its id."""
    body = {"name": name, "start": START, "end": END, "host_groups": ["Core"]}
    resp = api.post("/api/v1/maintenance", headers=AUTH, json=body)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()["window"]["id"]


def last_job(result):
    """The job id of the last line of a command run with --wait 0 ("job ID queued; ...")."""
    assert result.exit_code == 0, result.output
    return result.output.splitlines()[-1].split()[1]


def ends_at(db, window_id):
    return db.execute(
        "SELECT ends_at FROM maintenance_windows WHERE id = %s", [window_id]
    ).fetchone()["ends_at"]


def test_nzc_maintenance_update_changes_the_end_and_queues_the_window_again(nzc, db, core, names):
    name = names()
    window_id = cli_window(nzc, db, name)
    later = LATER
    result = nzc("maintenance", "update", name, "--end", later, "--wait", "0")
    assert f"  {at(0, 'cli')} to {at(48, 'cli')}, collecting data" in result.output
    assert queued(db, last_job(result)) == ("maintenance_window", [window_id, "apply"])
    row = db.execute("SELECT * FROM maintenance_windows WHERE id = %s", [window_id]).fetchone()
    assert row["ends_at"].isoformat() == later and row["scope"] == {"host_groups": ["Core"]}

    result = nzc("maintenance", "update", str(window_id), "--duration", "2h", "--wait", "0")
    assert queued(db, last_job(result)) == ("maintenance_window", [window_id, "apply"])
    assert ends_at(db, window_id).isoformat() == at(2)

    before = counts(db)
    refused = cli_refusal(nzc("maintenance", "update", name, "--end", BEFORE))
    assert refused == [f"end: the end ({BEFORE}) must come after the start ({START})"]
    assert ends_at(db, window_id).isoformat() == at(2)
    assert counts(db) == before
    missing = nzc("maintenance", "update", "no-such-window", "--end", later)
    assert missing.exit_code == 1 and "no maintenance window named 'no-such-window'" in (
        missing.output
    )


def test_patch_changes_the_end_and_queues_the_window_again(api, db, core, names):
    window_id = api_window(api, names())
    resp = api.patch(f"/api/v1/maintenance/{window_id}", headers=AUTH, json={"duration": "2d"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["window"]["ends_at"] == LATER
    assert queued(db, resp.get_json()["job_id"]) == ("maintenance_window", [window_id, "apply"])
    assert ends_at(db, window_id).isoformat() == LATER

    before = counts(db)
    resp = api.patch(f"/api/v1/maintenance/{window_id}", headers=AUTH, json={"end": BEFORE})
    assert assert_error(resp, 400)["detail"] == [
        f"end: the end ({BEFORE}) must come after the start ({START})"
    ]
    resp = api.patch(f"/api/v1/maintenance/{window_id}", headers=AUTH, json={"nme": "x"})
    assert assert_error(resp, 400)["detail"] == {"nme": ["Unknown field."]}
    assert ends_at(db, window_id).isoformat() == LATER
    assert counts(db) == before
    assert_error(api.patch("/api/v1/maintenance/2000000000", headers=AUTH, json={}), 404)


def test_nzc_maintenance_delete_and_end_now_queue_their_jobs(nzc, db, core, names):
    doomed, ending = cli_window(nzc, db, names()), cli_window(nzc, db, names())
    result = nzc("maintenance", "delete", str(doomed), "--wait", "0")
    assert queued(db, last_job(result)) == ("maintenance_window", [doomed, "delete"])
    result = nzc("maintenance", "end-now", str(ending), "--wait", "0")
    assert queued(db, last_job(result)) == ("maintenance_window", [ending, "end"])
    row = db.execute(
        "SELECT starts_at <= now() AND ends_at < %s AS ended FROM maintenance_windows"
        " WHERE id = %s",
        [END, ending],
    ).fetchone()
    assert row["ended"]
    missing = nzc("maintenance", "delete", "no-such-window", "--wait", "0")
    assert missing.exit_code == 1 and "no maintenance window named 'no-such-window'" in (
        missing.output
    )


def test_delete_and_end_queue_their_jobs(api, db, core, names):
    doomed, ending = api_window(api, names()), api_window(api, names())
    resp = api.delete(f"/api/v1/maintenance/{doomed}", headers=AUTH)
    assert resp.status_code == 202, resp.get_json()
    assert queued(db, resp.get_json()["job_id"]) == ("maintenance_window", [doomed, "delete"])
    resp = api.post(f"/api/v1/maintenance/{ending}/end", headers=AUTH)
    assert resp.status_code == 202, resp.get_json()
    assert queued(db, resp.get_json()["job_id"]) == ("maintenance_window", [ending, "end"])
    window = resp.get_json()["window"]
    assert window["status"] == "active" and window["starts_at"] <= window["ends_at"]
    assert_error(api.delete("/api/v1/maintenance/2000000000", headers=AUTH), 404)
    assert_error(api.post("/api/v1/maintenance/2000000000/end", headers=AUTH), 404)


def test_a_window_following_netbox_is_not_changed_by_hand(nzc, api, db, names):
    name = names()
    window_id = db.execute(
        "INSERT INTO maintenance_windows (name, owner, starts_at, scope) VALUES"
        " (%s, 'netbox', now(), '{\"tags\": [\"maintenance\"]}') RETURNING id",
        [name],
    ).fetchone()["id"]
    before = counts(db)
    sentence = (
        f"{name!r} follows NetBox (the settings maintenance_tags and maintenance_statuses): "
        "change those instead"
    )
    for command in ("delete", "end-now"):
        assert cli_refusal(nzc("maintenance", command, name, "--wait", "0")) == [sentence]
    assert cli_refusal(nzc("maintenance", "update", name, "--duration", "1d")) == [sentence]
    for resp in (
        api.delete(f"/api/v1/maintenance/{window_id}", headers=AUTH),
        api.post(f"/api/v1/maintenance/{window_id}/end", headers=AUTH),
        api.patch(f"/api/v1/maintenance/{window_id}", headers=AUTH, json={"duration": "1d"}),
    ):
        assert assert_error(resp, 400)["detail"] == [sentence]
    assert counts(db) == before


# With a worker: the CLI waits for the job and says what Zabbix holds


NZC = str(Path(sys.executable).parent / "nzc")


def nzc_process(stack, *args):
    """The nzc command in its own process against the stack: (exit status, stdout, stderr)."""
    done = subprocess.run(
        [NZC, *args],
        env={**os.environ, **stack.env},
        capture_output=True,
        text=True,
        timeout=90,
    )
    return done.returncode, done.stdout, done.stderr


@pytest.fixture
def stack_rows(db):
    """The host configs a stack test made, removed afterwards (the stack empties them only
    before a test of its own)."""
    yield
    db.execute("DELETE FROM host_configs WHERE host LIKE 'mw-site-%%'")


@pytest.mark.parametrize("zabbix_version", ["7.0"], ids=["zabbix7.0"])
def test_nzc_maintenance_waits_for_zabbix_and_says_what_it_holds(stack, stack_rows, names):
    sim, _, zabbix = stack
    site = f"mw-site-{uuid.uuid4().hex[:6]}"
    device = sim.sim.create_device(f"{site}-1", ip="10.0.83.1/24", site=site_ref(site))
    stack.settle()
    assert (
        stack.db.execute(
            "SELECT host FROM host_configs WHERE target = %s", [f"dcim.device:{device}"]
        )
        .fetchone()["host"]
        .startswith("mw-site-")
    )
    name = names()
    code, out, err = nzc_process(
        stack, "maintenance", "create", name, "--site", site, "--duration", "2h", "--wait", "60"
    )
    assert code == 0, err
    window = stack.db.execute(
        "SELECT * FROM maintenance_windows WHERE name = %s", [name]
    ).fetchone()
    assert window["maintenanceid"], window["error"]
    assert out.splitlines()[-1] == (
        f"maintenance window {name!r}: active, 1 host(s) in Zabbix maintenance "
        f"{window['maintenanceid']}"
    )
    (member,) = stack.db.execute(
        "SELECT target FROM maintenance_members WHERE window_id = %s", [window["id"]]
    ).fetchall()
    assert member["target"] == f"dcim.device:{device}"
    found = zabbix.call("maintenance.get", {"maintenanceids": [window["maintenanceid"]]})
    assert [m["name"] for m in found] == [name]

    code, out, err = nzc_process(stack, "maintenance", "end-now", name, "--wait", "60")
    assert code == 0, err
    assert (
        out.splitlines()[-1] == f"maintenance window {name!r}: expired, 0 host(s), none in Zabbix"
    )
    assert zabbix.call("maintenance.get", {"maintenanceids": [window["maintenanceid"]]}) == []

    code, out, err = nzc_process(stack, "maintenance", "delete", name, "--wait", "60")
    assert code == 0, err
    assert out.splitlines()[-1] == f"maintenance window {name!r} deleted"
    assert (
        stack.db.execute(
            "SELECT count(*) AS n FROM maintenance_windows WHERE id = %s", [window["id"]]
        ).fetchone()["n"]
        == 0
    )
