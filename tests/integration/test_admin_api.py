"""The admin API under /api/v1 on real Postgres, with real RabbitMQ where a job is sent:
the bearer token guards every path, errors answer one JSON shape, and each endpoint's
effect shows in the rows it reads or writes; refusals carry the CLI's own sentences."""

import json
import re
import uuid

import pytest

import tests.integration.test_settings_and_cli as cli_tests
from consumer.api import OPERATIONS
from consumer.app import create_app
from consumer.state import app_state
from consumer.wiring import setup
from handlers.config import load_config
from handlers.runtime import set_runtime
from tests.conftest import closed_port, make_env
from tests.integration.conftest import TOKEN as NETBOX_TOKEN
from tests.netbox_sim import SimServer
from tests.waiting import job_in

pytestmark = pytest.mark.integration

ADMIN_TOKEN = "admin-token-for-tests-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: Values for the path parameters of every documented path.
SAMPLE_PARTS = {
    "job_id": "no-such-job",
    "target": "dcim.device:1",
    "mapping_id": "1",
    "name": "x",
    "window_id": "1",
}

# The CLI tests' fixtures: the settings row restored, the Zabbix mirrors filled by hand.
restore_settings = cli_tests.restore_settings
mirror = cli_tests.mirror
zabbix_catalog = cli_tests.zabbix_catalog
run_nzc = cli_tests.run_nzc


def build(database_url, *, stub=True, **env):
    """A runtime and a web app on the test database, with the admin token unless
    ``NZC_ADMIN_TOKEN`` is given (empty: the API is off)."""
    env = {"NZC_ADMIN_TOKEN": ADMIN_TOKEN, **env}
    runtime = setup(load_config(make_env(database_url, **env)), stub=stub)
    return runtime, create_app(runtime=runtime, start_relay=False)


@pytest.fixture
def make_app(database_url):
    """``make_app(stub=..., **env)``: a test client of an app built with :func:`build`;
    everything it opened is closed afterwards."""
    built = []

    def make(*, stub=True, **env):
        runtime, app = build(database_url, stub=stub, **env)
        if not stub:
            runtime.broker.flush_all()
        built.append((runtime, app, stub))
        return app.test_client()

    yield make
    for runtime, app, stub in built:
        app_state(app).close()
        if not stub:
            runtime.broker.flush_all()
            runtime.broker.close()
        runtime.store.close()
    set_runtime(None)


@pytest.fixture
def client(make_app):
    return make_app()


@pytest.fixture
def rabbit_client(make_app):
    """A client of an app whose broker is the real RabbitMQ (test vhost, no worker)."""
    return make_app(stub=False)


def documented(client):
    """(method, path) of every operation in the served OpenAPI document, parts filled in."""
    doc = client.get("/api/v1/openapi.json", headers=AUTH).get_json()
    return [
        (method.upper(), re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARTS[m[1]], path))
        for path, operations in doc["paths"].items()
        for method in operations
    ]


def assert_error(resp, status):
    """``resp`` is an error of ``status`` in the one JSON shape; its body."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True))
    body = resp.get_json()
    assert resp.mimetype == "application/json"
    assert set(body) == {"error", "detail"} and body["error"] and body["detail"], body
    return body


def sentences(cli_output, heading):
    """The problem sentences of a CLI refusal (the lines after ``heading:``)."""
    lines = cli_output.splitlines()
    return [line for line in lines[lines.index(f"Error: {heading}:") + 1 :] if line]


# Auth and errors


def test_the_document_lists_every_operation_with_bearer_security_and_the_error_schema(client):
    resp = client.get("/api/v1/openapi.json", headers=AUTH)
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "NZC_ADMIN_TOKEN",
    }
    assert doc["security"] == [{"bearer": []}]
    assert len(documented(client)) == len(OPERATIONS) == 23
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
            assert {"401", "404"} <= set(errors), (method, path)
            for status, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail", "error"]


def test_without_an_admin_token_every_path_answers_404_json(client, make_app):
    off = make_app(NZC_ADMIN_TOKEN="")
    for method, path in [*documented(client), ("GET", "/api/v1/nope"), ("PUT", "/api/v1/jobs")]:
        body = assert_error(off.open(path, method=method, headers=AUTH, json={}), 404)
        assert "NZC_ADMIN_TOKEN" in body["detail"], (method, path)


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", f"Bearer {ADMIN_TOKEN}x", f"Basic {ADMIN_TOKEN}", "Bearer \u00e9t\u00e9"],
    ids=["none", "empty", "no-token", "wrong", "basic", "non-ascii"],
)
def test_a_missing_or_wrong_token_answers_401_json_with_a_bearer_challenge(client, header, db):
    headers = {} if header is None else {"Authorization": header}
    jobs_before = db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"]
    for method, path in [*documented(client), ("GET", "/api/v1/nope")]:
        resp = client.open(path, method=method, headers=headers, json={"dry_run": True})
        body = assert_error(resp, 401)
        assert resp.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        assert "Authorization: Bearer" in body["detail"]
    assert db.execute("SELECT count(*) AS n FROM jobs").fetchone()["n"] == jobs_before


def test_unknown_paths_wrong_methods_and_bad_bodies_answer_json(client):
    assert_error(client.get("/api/v1/nope", headers=AUTH), 404)
    resp = client.put("/api/v1/settings", headers=AUTH)
    assert_error(resp, 405)
    assert set(resp.headers["Allow"].split(", ")) >= {"GET", "PATCH"}
    body = assert_error(client.post("/api/v1/mappings", headers=AUTH, json={"nme": "x"}), 400)
    assert body == {
        "error": "invalid body",
        "detail": {"name": ["Missing data for required field."], "nme": ["Unknown field."]},
    }
    bad_json = client.post("/api/v1/sync", headers=AUTH, data="{", content_type="application/json")
    assert assert_error(bad_json, 400)["error"] == "invalid JSON"
    form = client.post("/api/v1/sync", headers=AUTH, data="dry_run=1")
    assert assert_error(form, 415)["error"] == "unsupported content type"
    assert assert_error(client.get("/api/v1/jobs?limit=501", headers=AUTH), 400)["detail"] == {
        "limit": ["Must be greater than or equal to 1 and less than or equal to 500."]
    }


def test_an_empty_path_part_is_404_not_a_redirect_to_another_operation(client):
    assert_error(client.post("/api/v1/jobs//replay", headers=AUTH, json={}), 404)
    assert_error(client.get("/api/v1/jobs/", headers=AUTH), 404)


# Jobs


@pytest.fixture
def jobs(db):
    """Five ping jobs on a target of their own, enqueued an hour apart (newest last): wide
    gaps, so that a slow machine cannot move one across a ``since`` boundary."""
    target = f"dcim.device:{uuid.uuid4().int % 10**9 + 10**9}"
    ids = [f"api-job-{uuid.uuid4().hex[:8]}-{n}" for n in range(5)]
    for n, job_id in enumerate(ids):
        db.execute(
            "INSERT INTO jobs (id, actor, queue, targets, status, attempts, enqueued_at,"
            " finished_at, error) VALUES (%s, 'ping', 'nzc-system', %s, %s, 1,"
            " now() - make_interval(hours => %s), now(), %s)",
            [job_id, [target], "dead" if n < 2 else "succeeded", 5 - n, "boom" if n < 2 else None],
        )
    db.execute(
        "INSERT INTO event_log (job_id, target, level, message) VALUES (%s, %s, 'info', 'hi')",
        [ids[4], target],
    )
    return target, ids


def test_jobs_are_listed_newest_first_a_page_at_a_time_with_filters(client, jobs):
    target, ids = jobs
    pages, cursor = [], None
    for _ in range(5):
        query = {"target": target, "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/jobs", headers=AUTH, query_string=query).get_json()
        pages.append([job["id"] for job in page["jobs"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]

    dead = client.get(
        "/api/v1/jobs", headers=AUTH, query_string={"target": target, "status": "dead"}
    )
    assert [job["id"] for job in dead.get_json()["jobs"]] == [ids[1], ids[0]]
    recent = client.get(
        "/api/v1/jobs", headers=AUTH, query_string={"target": target, "since": "150m"}
    )
    assert [job["id"] for job in recent.get_json()["jobs"]] == [ids[4], ids[3]]
    refused = client.get("/api/v1/jobs", headers=AUTH, query_string={"since": "soon"})
    assert "'soon' is not a duration" in assert_error(refused, 400)["detail"]["since"][0]
    bad = client.get("/api/v1/jobs", headers=AUTH, query_string={"cursor": "nope"})
    assert "next_cursor" in assert_error(bad, 400)["detail"]["cursor"][0]


def test_a_job_is_shown_with_its_event_log_and_an_unknown_one_is_404(client, jobs):
    target, ids = jobs
    job = client.get(f"/api/v1/jobs/{ids[4]}", headers=AUTH).get_json()
    assert job["id"] == ids[4] and job["status"] == "succeeded" and job["targets"] == [target]
    assert [(e["level"], e["message"]) for e in job["events"]] == [("info", "hi")]
    assert (
        "GET /api/v1/jobs"
        in assert_error(client.get("/api/v1/jobs/nope", headers=AUTH), 404)["detail"]
    )


def test_a_dead_job_is_replayed_once_and_recorded_on_both_rows(rabbit_client, jobs, db):
    _, ids = jobs
    url = f"/api/v1/jobs/{ids[0]}/replay"
    body = {"reason": "fixed the template", "requested_by": "alice"}
    resp = rabbit_client.post(url, headers=AUTH, json=body)
    assert resp.status_code == 202, resp.get_json()
    (outcome,) = resp.get_json()["outcomes"]
    assert outcome["outcome"] == "replayed" and outcome["asked"] == ids[0]
    original = db.execute("SELECT * FROM jobs WHERE id = %s", [ids[0]]).fetchone()
    assert original["status"] == "replayed" and original["replayed_as"] == outcome["new_job_id"]
    new = db.execute("SELECT * FROM jobs WHERE id = %s", [outcome["new_job_id"]]).fetchone()
    assert new["replay_of"] == ids[0] and new["status"] == "queued"
    assert new["replay_requested_by"] == "api:127.0.0.1 (alice)"
    assert new["replay_reason"] == "fixed the template"

    again = rabbit_client.post(url, headers=AUTH, json={})
    assert again.status_code == 200
    (earlier,) = again.get_json()["outcomes"]
    assert earlier["outcome"] == "already_replayed"
    assert earlier["new_job_id"] == outcome["new_job_id"]
    refused = rabbit_client.post(f"/api/v1/jobs/{ids[4]}/replay", headers=AUTH)
    assert "it is succeeded" in assert_error(refused, 409)["detail"]
    assert_error(rabbit_client.post("/api/v1/jobs/no-such-job/replay", headers=AUTH), 404)


def test_replay_by_filter_says_what_it_would_do_then_does_it(rabbit_client, jobs, db):
    target, ids = jobs
    body = {"status": "dead", "target": target, "reason": "outage over"}
    dry = rabbit_client.post("/api/v1/jobs/replay", headers=AUTH, json={**body, "dry_run": True})
    assert dry.status_code == 200
    assert [(o["asked"], o["outcome"]) for o in dry.get_json()["outcomes"]] == [
        (ids[0], "would_replay"),
        (ids[1], "would_replay"),
    ]
    statuses = "SELECT status FROM jobs WHERE id = ANY(%s) ORDER BY id"
    assert [r["status"] for r in db.execute(statuses, [ids[:2]])] == ["dead", "dead"]

    done = rabbit_client.post("/api/v1/jobs/replay", headers=AUTH, json=body).get_json()
    assert done["selected"] == 2 and not done["dry_run"]
    assert [o["outcome"] for o in done["outcomes"]] == ["replayed", "replayed"]
    assert [r["status"] for r in db.execute(statuses, [ids[:2]])] == ["replayed", "replayed"]
    refused = rabbit_client.post("/api/v1/jobs/replay", headers=AUTH, json={"status": "queued"})
    assert assert_error(refused, 400)["detail"] == {"status": ["Must be one of: dead, failed."]}


def test_failures_are_grouped_by_their_normalised_error(client, db):
    # Letters only: digits would be normalised away.
    marker = "ApiGroupedError" + "".join(chr(97 + int(c, 16)) for c in uuid.uuid4().hex[:6])
    for n in range(3):
        db.execute(
            "INSERT INTO jobs (id, actor, queue, status, finished_at, error) VALUES"
            " (%s, 'ping', 'nzc-system', 'dead', now(), %s)",
            [f"api-fail-{uuid.uuid4().hex[:8]}", f"{marker}: host 'core-{n}' id {n}"],
        )
    groups = client.get("/api/v1/jobs/failures", headers=AUTH, query_string={"since": "1h"})
    (group,) = [g for g in groups.get_json()["groups"] if g["error"].startswith(marker)]
    assert group["count"] == 3 and group["actors"] == ["ping"]
    assert group["sample_error"] == f"{marker}: host 'core-2' id 2"


# Host configs


@pytest.fixture
def host_rows(db):
    """Three host configs: in sync, differing, and missing in NetBox."""
    base = uuid.uuid4().int % 10**8 + 10**9
    targets = [f"dcim.device:{base + n}" for n in range(3)]
    rows = [
        (targets[0], True, [], None),
        (targets[1], False, ["visible name: Zabbix has 'a', NetBox wants 'b'"], None),
        (targets[2], False, ["not returned by NetBox"], "now()"),
    ]
    for n, (target, in_sync, differences, missing) in enumerate(rows):
        db.execute(
            "INSERT INTO host_configs (target, hostid, host, name, in_sync, differences,"
            " checked_at, missing_since) VALUES (%s, %s, %s, %s, %s, %s, now(),"
            f" {missing or 'NULL'})",
            [target, str(base + n), f"api-{n}", f"api-{n}", in_sync, json.dumps(differences)],
        )
    yield targets
    db.execute("DELETE FROM host_configs WHERE target = ANY(%s)", [targets])


def test_host_configs_are_listed_with_their_sync_state(client, host_rows):
    everyone = client.get("/api/v1/hosts", headers=AUTH).get_json()["hosts"]
    states = {h["target"]: h["state"] for h in everyone if h["target"] in host_rows}
    assert states == dict(zip(host_rows, ["in sync", "differs", "missing"], strict=True))
    out = client.get("/api/v1/hosts?out_of_sync=true", headers=AUTH).get_json()["hosts"]
    mine = [h for h in out if h["target"] in host_rows]
    assert [h["target"] for h in mine] == host_rows[1:]
    assert mine[0]["differences"] == ["visible name: Zabbix has 'a', NetBox wants 'b'"]


def test_one_host_config_is_shown_and_a_bad_or_unknown_target_answers_400_or_404(client, host_rows):
    short = host_rows[1].replace("dcim.device", "device")
    shown = client.get(f"/api/v1/hosts/{short}", headers=AUTH).get_json()
    assert shown["target"] == host_rows[1] and shown["state"] == "differs"
    assert shown["last_failure"] is None
    bad = assert_error(client.get("/api/v1/hosts/server-42", headers=AUTH), 400)
    assert "is not a target: write OBJECT_TYPE:ID" in bad["detail"]
    assert_error(client.get("/api/v1/hosts/dcim.device:1999999999", headers=AUTH), 404)


# Sync


def test_sync_now_queues_the_sync_hosts_job(rabbit_client, db):
    resp = rabbit_client.post("/api/v1/sync", headers=AUTH, json={"allow_deletions": 3})
    assert resp.status_code == 202
    job_id = resp.get_json()["job_id"]
    job = job_in(db, job_id, {"queued"})
    assert job["actor"] == "sync_hosts" and job["args"] == [3]


@pytest.fixture
def netbox_sim():
    sim = SimServer(token=NETBOX_TOKEN, webhook_secret=None).start()
    yield sim
    sim.stop()


def test_a_dry_run_answers_the_plan_and_writes_nothing(make_app, netbox_sim, db):
    device = netbox_sim.sim.create_device(f"api-dry-{uuid.uuid4().hex[:6]}", ip="10.0.91.1/24")
    client = make_app(NZC_NETBOX_URL=netbox_sim.url, NZC_NETBOX_TOKEN=NETBOX_TOKEN)
    tables = ("jobs", "dirty_targets", "host_configs", "deletion_evidence")
    before = {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables}
    resp = client.post("/api/v1/sync", headers=AUTH, json={"dry_run": True})
    assert resp.status_code == 200, resp.get_json()
    plan = resp.get_json()
    target = f"dcim.device:{device}"
    assert plan["dry_run"] and plan["compared"] >= 1 and target in plan["to_reconcile"]
    assert any(line.split()[1:2] == [target] for line in plan["lines"]), plan["lines"]
    assert plan["held"] is None and plan["deletions_held"] == 0
    after = {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables}
    assert after == before


def test_a_dry_run_with_netbox_down_answers_502_json(make_app):
    client = make_app(NZC_NETBOX_URL=f"http://127.0.0.1:{closed_port()}")
    body = assert_error(client.post("/api/v1/sync", headers=AUTH, json={"dry_run": True}), 502)
    assert body["error"] == "upstream unavailable"


# Import


def test_import_hosts_queues_the_import_job_and_needs_targets_or_all(rabbit_client, db):
    resp = rabbit_client.post(
        "/api/v1/import/hosts", headers=AUTH, json={"targets": ["device:7"], "match": "name,ip"}
    )
    assert resp.status_code == 202, resp.get_json()
    job = job_in(db, resp.get_json()["job_id"], {"queued"})
    assert job["actor"] == "import_hosts" and job["args"] == [["dcim.device:7"]]
    assert job["kwargs"] == {"every": False, "match": ["ip", "name"]}
    body = assert_error(rabbit_client.post("/api/v1/import/hosts", headers=AUTH, json={}), 400)
    assert "name targets (e.g. dcim.device:42), or set all" in str(body["detail"])


def test_an_import_dry_run_answers_the_plan_and_writes_nothing(make_app, netbox_sim, db):
    device = netbox_sim.sim.create_device(f"api-imp-{uuid.uuid4().hex[:6]}", ip="10.0.92.1/24")
    client = make_app(NZC_NETBOX_URL=netbox_sim.url, NZC_NETBOX_TOKEN=NETBOX_TOKEN)
    tables = ("jobs", "host_configs", "event_log")
    before = {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables}
    resp = client.post(
        "/api/v1/import/hosts",
        headers=AUTH,
        json={"targets": [f"dcim.device:{device}"], "dry_run": True},
    )
    assert resp.status_code == 200, resp.get_json()
    plan = resp.get_json()
    assert plan["dry_run"] and plan["not_found"] == [f"dcim.device:{device}"]
    assert plan["adopt"] == {} and plan["refused"] == {}
    after = {t: db.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in tables}
    assert after == before


# Settings


def test_settings_are_shown_with_secrets_masked(client, db, restore_settings):
    db.execute("UPDATE settings SET tls_psk = %s", ["ab" * 16])
    shown = client.get("/api/v1/settings", headers=AUTH).get_json()
    assert shown["tls_psk"] == "***" and shown["delete_mode"] == "soft"
    assert "ab" * 16 not in json.dumps(shown)


def test_the_mask_sent_back_is_refused_and_the_secret_kept(client, db, restore_settings):
    db.execute("UPDATE settings SET snmpv3_authpassphrase = 'kept-passphrase'")
    shown = client.get("/api/v1/settings", headers=AUTH).get_json()
    resp = client.patch("/api/v1/settings", headers=AUTH, json=shown)  # GET, edit, PATCH
    body = assert_error(resp, 400)
    assert "snmpv3_authpassphrase: *** is how a set secret is shown" in " ".join(body["detail"])
    row = db.execute("SELECT snmpv3_authpassphrase FROM settings").fetchone()
    assert row["snmpv3_authpassphrase"] == "kept-passphrase"


def test_patch_settings_writes_typed_and_cli_text_values(client, db, restore_settings):
    changes = {"delete_mode": "hard", "max_deletions": "7", "disabled_statuses": ["offline"]}
    resp = client.patch("/api/v1/settings", headers=AUTH, json=changes)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["changed"] == ["delete_mode", "disabled_statuses", "max_deletions"]
    row = db.execute("SELECT * FROM settings").fetchone()
    assert (row["delete_mode"], row["max_deletions"], row["disabled_statuses"]) == (
        "hard",
        7,
        ["offline"],
    )
    listed = client.patch(
        "/api/v1/settings", headers=AUTH, json={"monitored_statuses": "active, staged"}
    )
    assert listed.get_json()["settings"]["monitored_statuses"] == ["active", "staged"]
    warned = client.patch(
        "/api/v1/settings", headers=AUTH, json={"removed_statuses": ["decommissioning", "gone"]}
    ).get_json()
    assert warned["warnings"] == [
        "removed_statuses: 'gone' is not a built-in NetBox status (offline, active, planned, "
        "staged, failed, inventory, decommissioning); fine if your NetBox adds it in "
        "FIELD_CHOICES, a typo otherwise"
    ]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("tag_name_format", "shout"),
        ("max_deletions", "many"),
        ("monitored_statuses", "active,decommissioning"),
        ("removed_statuses", "gone for good"),
        ("graveyard_group", "Cor"),
    ],
)
def test_a_refused_setting_answers_400_with_the_sentences_of_the_cli(
    client, run_nzc, db, restore_settings, zabbix_catalog, key, value
):
    before = db.execute("SELECT * FROM settings").fetchone()
    cli = run_nzc("settings", "set", key, value)
    assert cli.exit_code == 1
    body = assert_error(client.patch("/api/v1/settings", headers=AUTH, json={key: value}), 400)
    assert body == {"error": "setting refused", "detail": sentences(cli.output, "setting refused")}
    assert db.execute("SELECT * FROM settings").fetchone() == before


def test_an_unknown_setting_is_refused_with_the_cli_sentence(client, run_nzc):
    cli = run_nzc("settings", "set", "no_such_setting", "1")
    body = assert_error(client.patch("/api/v1/settings", headers=AUTH, json={"no_such": 1}), 400)
    (message,) = body["detail"]["no_such"]
    assert message.startswith("unknown setting; known settings:") and message in cli.output


def test_a_graveyard_group_unknown_to_the_mirror_is_created_when_asked(
    client, db, restore_settings, zabbix_catalog
):
    resp = client.patch(
        "/api/v1/settings?create_host_groups=true", headers=AUTH, json={"graveyard_group": "RIP"}
    )
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["created_host_groups"] == ["RIP"]
    assert db.execute("SELECT graveyard_group FROM settings").fetchone()["graveyard_group"] == "RIP"


# Mappings


def test_a_mapping_is_added_listed_and_removed(client, db, zabbix_catalog):
    body = {
        "name": f"api core {uuid.uuid4().hex[:6]}",
        "sites": ["dc1-ams"],
        "templates": ["Cisco IOS by SNMP", "ICMP Ping"],
        "host_groups": ["Core", "Edge"],
        "interface_types": ["snmpv2c"],
        "create_host_groups": True,
    }
    resp = client.post("/api/v1/mappings", headers=AUTH, json=body)
    assert resp.status_code == 201, resp.get_json()
    added = resp.get_json()
    assert added["created_host_groups"] == ["Edge"]
    mapping_id = added["mapping"]["id"]
    row = db.execute("SELECT * FROM mappings WHERE id = %s", [mapping_id]).fetchone()
    assert row["templates"] == body["templates"] and row["interface_types"] == ["snmpv2c"]
    assert row["object_type"] == "dcim.device" and not row["is_default"]
    listed = client.get("/api/v1/mappings", headers=AUTH).get_json()["mappings"]
    assert [m["name"] for m in listed if m["id"] == mapping_id] == [body["name"]]

    duplicate = client.post("/api/v1/mappings", headers=AUTH, json={"name": body["name"]})
    assert assert_error(duplicate, 409)["detail"] == [
        f"a mapping named {body['name']!r} exists; `nzc mappings list` shows them"
    ]
    assert client.delete(f"/api/v1/mappings/{mapping_id}", headers=AUTH).status_code == 204
    assert db.execute("SELECT id FROM mappings WHERE id = %s", [mapping_id]).fetchone() is None
    assert_error(client.delete(f"/api/v1/mappings/{mapping_id}", headers=AUTH), 404)


@pytest.mark.parametrize(
    "args",
    [
        ("--templates", "ICMP Pnig"),
        ("--templates", "Cisco IOS by SNMP"),
        ("--host-groups", "Core,Edge"),
        ("--proxy", "proxy-asm", "--proxy-group", "rtm"),
        ("--interface-types", "ipmi"),
    ],
    ids=["misspelt", "needs-snmp", "unknown-group", "unknown-proxies", "bad-interface"],
)
def test_a_refused_mapping_answers_400_with_the_sentences_of_the_cli(
    client, run_nzc, db, zabbix_catalog, args
):
    zabbix_catalog("zabbix_proxies", "proxy-ams")
    zabbix_catalog("zabbix_proxy_groups", "ams")
    count = "SELECT count(*) AS n FROM mappings"
    before = db.execute(count).fetchone()["n"]
    cli = run_nzc("mappings", "add", "refused", *args)
    assert cli.exit_code == 1
    options = dict(zip(args[::2], args[1::2], strict=True))
    body = {"name": "refused"}
    for option, value in options.items():
        key = option.removeprefix("--").replace("-", "_")
        body[key] = value if key in ("proxy", "proxy_group") else value.split(",")
    answer = assert_error(client.post("/api/v1/mappings", headers=AUTH, json=body), 400)
    assert answer == {
        "error": "mapping refused",
        "detail": sentences(cli.output, "mapping refused"),
    }
    assert db.execute(count).fetchone()["n"] == before


# Schedules


def test_schedules_are_listed_and_one_runs_now_as_a_job(rabbit_client, db):
    listed = rabbit_client.get("/api/v1/schedules", headers=AUTH).get_json()["schedules"]
    settings = db.execute("SELECT * FROM settings").fetchone()
    assert {s["name"]: s["interval_min"] for s in listed} == {
        "host_config_sync_refresh": settings["sync_refresh_interval_min"],
        "import_zabbix_settings": settings["import_settings_interval_min"],
        "sync_hosts": settings["sync_hosts_interval_min"],
        "maintenance_cleanup": settings["maintenance_cleanup_interval_min"],
    }
    resp = rabbit_client.post("/api/v1/schedules/host_config_sync_refresh/run", headers=AUTH)
    assert resp.status_code == 202
    job_id = resp.get_json()["job_id"]
    assert job_in(db, job_id, {"queued"})["actor"] == "host_config_sync_refresh"
    row = db.execute("SELECT * FROM schedules WHERE name = 'host_config_sync_refresh'").fetchone()
    assert row["last_job_id"] == job_id
    again = rabbit_client.get("/api/v1/schedules", headers=AUTH).get_json()["schedules"]
    (state,) = [s for s in again if s["name"] == "host_config_sync_refresh"]
    assert state["last_job_id"] == job_id and state["last_status"] == "queued"
    assert state["next_run_at"] is not None
    missing = rabbit_client.post("/api/v1/schedules/nope/run", headers=AUTH)
    assert "the scheduled ones are" in assert_error(missing, 404)["detail"]
