"""POST /webhooks/netbox on real Postgres, with a stub broker or the real RabbitMQ."""

import hashlib
import itertools
import json
import threading

import pika
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.app import create_app
from consumer.relay import SpoolRelay
from consumer.state import app_state
from consumer.wiring import setup
from handlers.broker import QUEUE_EVENTS
from handlers.config import load_config
from handlers.runtime import set_runtime
from tests.conftest import TEST_BROKER_URL, closed_port, make_env
from tests.webhook_shapes import (
    VERSIONS,
    capture,
    real_capture_names,
    sample,
    sample_names,
    shape,
    sign,
)

pytestmark = pytest.mark.integration
URL = "/webhooks/netbox"


@pytest.fixture
def client(stub_runtime):
    return create_app(runtime=stub_runtime).test_client()


def post(client, raw, *, signature="auto", content_type="application/json"):
    headers = {}
    if signature == "auto":
        headers["X-Hook-Signature"] = sign(raw)
    elif signature is not None:
        headers["X-Hook-Signature"] = signature
    return client.post(URL, data=raw, headers=headers, content_type=content_type)


def queued(runtime):
    return runtime.broker.queues[QUEUE_EVENTS].qsize()


_unique = itertools.count()


def fresh(body):
    """``body`` made unique (its timestamp), so de-duplication does not hide it."""
    stamp = f"2026-11-22T19:39:32.{next(_unique):06d}+00:00"
    return json.dumps({**body, "timestamp": stamp}).encode()


def deliver(client, db, captured):
    """Post a capture as NetBox sent it (its own signature, de-duplication cleared first);
    the 202 answer's body."""
    db.execute("DELETE FROM webhook_dedupe")
    resp = post(
        client, captured["raw_body"].encode(), signature=captured["headers"]["X-Hook-Signature"]
    )
    assert resp.status_code == 202, resp.get_json()
    return resp.get_json()


@pytest.mark.parametrize("name", sample_names())
def test_every_captured_webhook_is_accepted_with_its_own_signature(client, stub_runtime, name, db):
    captured = sample(name)
    body = deliver(client, db, captured)
    if captured["body"]["event"] == "job_ended":
        assert body == {"ignored": "job_ended events are not about hosts"}
    else:
        assert body["message_id"] and body["target"].endswith(":1")
        row = db.execute("SELECT * FROM jobs WHERE id = %s", [body["message_id"]]).fetchone()
        assert row["status"] == "queued" and row["actor"] == "handle_events"
        assert row["request_id"] == captured["body"]["request_id"]
        assert row["request_ids"] == [captured["body"]["request_id"]]


@pytest.mark.parametrize("name", real_capture_names())
def test_real_netbox_46_and_47_captures_are_queued_with_the_id_of_their_request(
    client, stub_runtime, name, db
):
    captured = capture(name)
    body = deliver(client, db, captured)
    assert "model" not in captured["body"] and captured["body"]["request"]["id"]
    assert body["message_id"], body
    row = db.execute("SELECT * FROM jobs WHERE id = %s", [body["message_id"]]).fetchone()
    assert row["request_id"] == captured["body"]["request"]["id"]
    assert row["targets"] == [body["target"]]
    assert body["target"].split(":")[0] in ("dcim.device", "virtualization.virtualmachine")


@pytest.mark.parametrize("version", VERSIONS)
def test_every_netbox_version_shape_is_queued_normalised(client, stub_runtime, version, db):
    body = shape(sample("07_device_updated.json")["body"], version)
    resp = post(client, fresh(body))
    assert resp.status_code == 202, resp.get_json()
    row = db.execute(
        "SELECT args, request_id FROM jobs WHERE id = %s", [resp.get_json()["message_id"]]
    ).fetchone()
    [event] = row["args"][0]
    assert event["object_type"] == "dcim.device" and event["object_id"] == 1
    # 4.7 sends the request id only inside "request"; it is recovered from there.
    assert row["request_id"] == sample("07_device_updated.json")["body"]["request_id"]


def test_missing_or_wrong_signature_is_401_and_nothing_is_queued(client, stub_runtime):
    raw = sample("01_device_created.json")["raw_body"].encode()
    for signature in (None, "", "00" * 64, sign(raw, "other-secret")):
        resp = post(client, raw, signature=signature)
        assert resp.status_code == 401
        assert resp.get_json()["error"] == "invalid signature"
        assert "NZC_WEBHOOK_SECRET" in resp.get_json()["detail"]
    assert queued(stub_runtime) == 0


def test_a_body_over_the_limit_is_413_before_the_signature_is_checked(database_url):
    runtime = setup(load_config(make_env(database_url, NZC_WEBHOOK_MAX_BYTES="2048")), stub=True)
    try:
        resp = post(
            create_app(runtime=runtime).test_client(), b"{" + b" " * 4096 + b"}", signature=None
        )
        assert resp.status_code == 413
        assert resp.get_json()["error"] == "Request Entity Too Large"
        assert queued(runtime) == 0
    finally:
        runtime.store.close()
        set_runtime(None)


def test_wrong_content_type_is_415(client, stub_runtime):
    raw = sample("01_device_created.json")["raw_body"].encode()
    resp = post(client, raw, content_type="application/x-www-form-urlencoded")
    assert resp.status_code == 415
    assert "application/json" in resp.get_json()["detail"]
    assert queued(stub_runtime) == 0


def test_a_body_that_is_not_json_is_400(client, stub_runtime):
    resp = post(client, b"event=created")
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid JSON"
    resp = post(client, b"[1, 2]")
    assert resp.status_code == 400 and "JSON object" in str(resp.get_json()["detail"])
    assert queued(stub_runtime) == 0


def test_a_body_that_fails_the_schema_is_400_with_the_field_errors(client, stub_runtime):
    body = {**sample("01_device_created.json")["body"], "event": "exploded", "timestamp": "soon"}
    resp = post(client, json.dumps(body).encode())
    assert resp.status_code == 400
    detail = resp.get_json()["detail"]
    assert set(detail) == {"event", "timestamp"}
    assert queued(stub_runtime) == 0


def test_other_object_types_are_acknowledged_ignored_and_counted(client, stub_runtime, db):
    db.execute("DELETE FROM webhook_counters")
    body = {**sample("01_device_created.json")["body"], "object_type": "dcim.site", "model": "site"}
    for _ in range(2):
        resp = post(client, fresh(body))
        assert resp.status_code == 202
        assert resp.get_json() == {"ignored": "object type dcim.site is not handled"}
    row = db.execute(
        "SELECT count FROM webhook_counters WHERE reason LIKE '%dcim.site%'"
    ).fetchone()
    assert row["count"] == 2
    assert queued(stub_runtime) == 0


def test_the_same_body_delivered_twice_is_queued_once(client, stub_runtime, db):
    raw = fresh(sample("07_device_updated.json")["body"])
    first, second = post(client, raw), post(client, raw)
    assert first.status_code == second.status_code == 202
    assert second.get_json() == {"duplicate": True, "message_id": first.get_json()["message_id"]}
    assert queued(stub_runtime) == 1
    count = db.execute(
        "SELECT count(*) AS n FROM jobs WHERE id = %s", [first.get_json()["message_id"]]
    )
    assert count.fetchone()["n"] == 1


def test_an_unsigned_webhook_is_refused_at_start_unless_insecure_is_explicit(database_url):
    from handlers.config import ConfigError

    runtime = setup(load_config(make_env(database_url, NZC_WEBHOOK_SECRET="")), stub=True)
    try:
        with pytest.raises(ConfigError, match="NZC_WEBHOOK_SECRET is not set"):
            create_app(runtime=runtime)
    finally:
        runtime.store.close()
    config = load_config(make_env(database_url, NZC_WEBHOOK_SECRET="", NZC_WEBHOOK_INSECURE="1"))
    runtime = setup(config, stub=True)
    try:
        client = create_app(runtime=runtime).test_client()
        raw = fresh(sample("01_device_created.json")["body"])
        assert post(client, raw, signature=None).status_code == 202
        warnings = client.get("/readyz").get_json()["warnings"]
        assert "signatures are not checked" in warnings[0]
    finally:
        runtime.store.close()
        set_runtime(None)


def test_postgres_and_rabbitmq_both_down_is_503(database_url):
    env = make_env(
        database_url,
        NZC_DATABASE_URL=f"postgresql://nzc:nzc@127.0.0.1:{closed_port()}/nzc",
        NZC_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F",
    )
    runtime = setup(load_config(env))
    try:
        resp = post(
            create_app(runtime=runtime).test_client(),
            fresh(sample("01_device_created.json")["body"]),
        )
        assert resp.status_code == 503
        assert "both unreachable" in resp.get_json()["detail"]
    finally:
        runtime.store.close()
        set_runtime(None)


def read_queue(queue):
    """Message ids in ``queue`` of the test vhost, in order (consumed)."""
    conn = pika.BlockingConnection(pika.URLParameters(TEST_BROKER_URL))
    try:
        channel, ids = conn.channel(), []
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return ids
            ids.append(json.loads(body)["message_id"])
    finally:
        conn.close()


def test_with_rabbitmq_down_webhooks_are_spooled_then_published_once_in_order(database_url, db):
    db.execute("DELETE FROM webhook_spool")
    down = load_config(
        make_env(database_url, NZC_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F")
    )
    runtime = setup(down)
    client = create_app(runtime=runtime).test_client()
    base = sample("07_device_updated.json")["body"]
    accepted = []
    for _ in range(100):
        resp = post(client, fresh(base))
        assert resp.status_code == 202, resp.get_json()
        assert resp.get_json()["spooled"] is True
        accepted.append(resp.get_json()["message_id"])
    runtime.store.close()
    spooled = [
        r["message_id"] for r in db.execute("SELECT message_id FROM webhook_spool ORDER BY id")
    ]
    assert spooled == accepted

    # The broker is back: the relay of a web process publishes the spool.
    back = setup(load_config(make_env(database_url)))
    try:
        back.broker.flush_all()
        relay = SpoolRelay(back.store, back.broker)
        assert relay.drain_once() == 100
        assert relay.drain_once() == 0
        assert read_queue(QUEUE_EVENTS) == accepted
        assert db.execute("SELECT count(*) AS n FROM webhook_spool").fetchone()["n"] == 0
    finally:
        back.broker.close()
        back.store.close()
        set_runtime(None)


HEADER_NAMES = st.sampled_from(["X-Hook-Signature", "Content-Type", "Content-Length", "X-Other"])
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
KNOWN = st.fixed_dictionaries(
    {},
    optional={
        "event": st.sampled_from(["created", "updated", "deleted", "job_ended", "x"])
        | st.text(max_size=5),
        "timestamp": st.sampled_from(["2026-11-22T19:39:32+00:00", "2026-11-22", "x"]) | JSONISH,
        "object_type": st.sampled_from(["dcim.device", "ipam.ipaddress", "dcim.site", "x"])
        | JSONISH,
        "model": JSONISH,
        "request_id": JSONISH,
        "username": JSONISH,
        "request": JSONISH,
        "data": st.fixed_dictionaries(
            {},
            optional={
                "id": JSONISH,
                "status": JSONISH,
                "device": JSONISH,
                "assigned_object": JSONISH,
                "assigned_object_type": JSONISH,
            },
        )
        | JSONISH,
        "snapshots": JSONISH,
    },
)


@st.composite
def mutated_capture(draw):
    """A real capture in one NetBox version's shape, one key of it or of its data set to
    anything (or removed): what reaches the checks past the first ones."""
    body = shape(
        sample(draw(st.sampled_from(sample_names())))["body"], draw(st.sampled_from(VERSIONS))
    )
    where = body["data"] if draw(st.booleans()) and isinstance(body.get("data"), dict) else body
    key = draw(st.sampled_from(sorted(where)) | st.text(max_size=10))
    if draw(st.booleans()):
        where.pop(key, None)
    else:
        where[key] = draw(JSONISH)
    return json.dumps(body).encode()


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.one_of(
        KNOWN.map(lambda b: json.dumps(b).encode()), mutated_capture(), st.binary(max_size=200)
    ),
    # Header values cannot hold CR or LF on the wire.
    headers=st.dictionaries(
        HEADER_NAMES,
        st.text(st.characters(blacklist_characters="\r\n", codec="latin-1"), max_size=40),
        max_size=3,
    ),
    signed=st.booleans(),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "application/json; charset=utf-8", ""]
    ),
)
def test_random_bodies_and_headers_never_cause_a_5xx(
    client, stub_runtime, caplog, body, headers, signed, content_type
):
    headers = {k: v for k, v in headers.items() if k != "Content-Length"}
    if signed:
        headers["X-Hook-Signature"] = sign(body)
    before = queued(stub_runtime)
    resp = client.post(URL, data=body, headers=headers, content_type=content_type)
    assert resp.status_code < 500, resp.get_data()
    assert resp.is_json
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    if resp.status_code >= 400:  # a body that failed a check is queued nowhere
        assert queued(stub_runtime) == before


def test_webhooks_committed_together_share_one_job_row_and_one_message(stub_runtime, db):
    """One commit of a batch (as concurrent webhooks make): the de-duplication, one job row
    holding every new event in order, one message; repeats answered with the earlier id."""
    from consumer import intake
    from consumer.state import app_state
    from handlers.decide.translate import event_target
    from schemas.webhook import WebhookSchema

    app = create_app(runtime=stub_runtime)
    state = app_state(app)
    before = fresh(sample("07_device_updated.json")["body"])
    earlier = post(app.test_client(), before).get_json()["message_id"]
    queue = stub_runtime.broker.queues[QUEUE_EVENTS]
    while queue.qsize():
        queue.get_nowait()

    raws = [
        fresh({**sample("07_device_updated.json")["body"], "request_id": "req-a"}),
        fresh({**sample("28_device_deleted.json")["body"], "request_id": "req-b"}),
    ]
    raws = [raws[0], before, raws[1], raws[0]]  # an earlier body, and one repeated in the batch
    batch = []
    for raw in raws:
        event = WebhookSchema().load(json.loads(raw))
        batch.append(intake.webhook(event, hashlib.sha256(raw).digest(), event_target(event)))
    outcomes = state.intake.commit(batch)

    mid = outcomes[0].message_id
    assert [(o.message_id, o.duplicate) for o in outcomes] == [
        (mid, False),
        (earlier, True),
        (mid, False),
        (mid, True),
    ]
    row = db.execute("SELECT * FROM jobs WHERE id = %s", [mid]).fetchone()
    assert row["actor"] == "handle_events" and row["status"] == "queued"
    [events] = row["args"]
    assert [(e["event"], e["request_id"]) for e in events] == [
        ("updated", "req-a"),
        ("deleted", "req-b"),
    ]
    assert sorted(row["targets"]) == sorted({b.target for b in batch})
    assert row["request_id"] is None and sorted(row["request_ids"]) == ["req-a", "req-b"]
    assert queued(stub_runtime) == 1
    message = queue.get_nowait()
    assert json.loads(message)["args"] == [events]
    # Found by either request id.
    from handlers.gateways.job_records import list_jobs

    for request_id in ("req-a", "req-b"):
        assert [r["id"] for r in list_jobs(db, request_id=request_id)] == [mid]


def test_a_repeat_committed_by_another_process_meanwhile_is_a_duplicate(database_url, db):
    """Two web processes take the same body at once: the second statement waits for the
    first's row, and must answer with its message id, queueing nothing (its snapshot alone
    cannot see that row)."""
    import threading

    import psycopg

    from handlers.gateways.ingest import IngestConnection
    from handlers.gateways.job_records import Webhook, record_webhooks
    from tests.waiting import wait_for

    raw = fresh(sample("07_device_updated.json")["body"])
    sha = hashlib.sha256(raw).digest()
    webhook = Webhook(sha, json.loads(raw), "dcim.device:1", "req-race")
    answer = {}
    with psycopg.connect(database_url) as first:  # the other process, inside its statement
        first.execute(
            "INSERT INTO webhook_dedupe (body_sha256, message_id) VALUES (%s, 'first-id')", [sha]
        )
        second = IngestConnection(database_url, 2.0)  # per thread: the thread's own

        def run():
            try:
                answer["earlier"] = record_webhooks(
                    second.get(),
                    message_id="second-id",
                    actor="handle_events",
                    queue="q",
                    webhooks=[webhook],
                )
            finally:
                second.discard()

        thread = threading.Thread(target=run)
        thread.start()
        wait_for(
            lambda: db.execute(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%%INSERT INTO webhook_dedupe AS d%%'"
            ).fetchone()["n"],
            "the second statement to wait for the first's row",
        )
        first.commit()
    thread.join(30)
    assert answer["earlier"] == ["first-id"]
    assert db.execute("SELECT count(*) AS n FROM jobs WHERE id = 'second-id'").fetchone()["n"] == 0


def _nested(depth):
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        (lambda b: b["data"].update(name="sw\u0000core"), "data", "data.name contains the NUL"),
        (lambda b: b["data"].update({"custom_fields": {"k\u0000": 1}}), "data", "a key contains"),
        (lambda b: b["data"].update(name="half \ud800 pair"), "data", "data.name contains half"),
        (
            lambda b: b["snapshots"]["postchange"].update(description="x\u0000"),
            "snapshots",
            "snapshots.postchange.description contains the NUL",
        ),
        (lambda b: b.update(username="ad\u0000min"), "username", "username contains the NUL"),
    ],
)
def test_a_string_postgres_cannot_store_is_a_400_naming_the_field(
    client, stub_runtime, change, field, says
):
    """Valid JSON may carry \\u0000 or half a surrogate pair; Postgres refuses both. Such a
    body is refused naming where, never a 500, and nothing is queued."""
    body = json.loads(sample("07_device_updated.json")["raw_body"])
    body["snapshots"] = body.get("snapshots") or {"prechange": None, "postchange": {}}
    body["snapshots"]["postchange"] = body["snapshots"]["postchange"] or {}
    change(body)
    raw = json.dumps(body).encode()  # ensure_ascii: the JSON escapes, as NetBox would send
    resp = post(client, raw)
    assert resp.status_code == 400, resp.get_json()
    assert any(says in message for message in resp.get_json()["detail"][field])
    assert queued(stub_runtime) == 0


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"event": "created", "data": {"id": NaN}}', "NaN is not a JSON value"),
        (b'{"event": "created", "data": {"id": Infinity}}', "Infinity is not a JSON value"),
        (_nested(200_000).encode(), "nests too deeply"),
    ],
)
def test_nan_infinity_and_deep_nesting_are_a_400(client, stub_runtime, raw, says):
    resp = post(client, raw)
    assert resp.status_code == 400, resp.get_data()[:200]
    assert says in str(resp.get_json()["detail"])
    assert queued(stub_runtime) == 0


def test_half_a_surrogate_pair_sent_as_raw_bytes_is_a_400_too(client, stub_runtime):
    """json.loads reads UTF-8 with ``surrogatepass``: a surrogate encoded in the bytes, not
    escaped, reaches the same check (the byte scan that spares the walk must see it)."""
    body = json.loads(sample("07_device_updated.json")["raw_body"])
    body["data"]["name"] = "half \ud800 pair"
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert b"\\u" not in raw.split(b'"name"')[1][:30]  # raw bytes, no escape
    resp = post(client, raw)
    assert resp.status_code == 400, resp.get_json()
    assert any("data.name contains half" in m for m in resp.get_json()["detail"]["data"])
    assert queued(stub_runtime) == 0


def test_webhooks_past_the_concurrency_limit_are_503_at_once_with_retry_after(database_url, db):
    """NZC_WEB_MAX_CONCURRENT=2 and Postgres holding every webhook inside (its dedupe table
    locked by the test): of 10 sent at once, the 2 inside wait, the other 8 are answered
    503 with Retry-After at once (they do not wait for the lock), and nothing of theirs is
    queued; once Postgres lets go, the 2 are accepted."""
    from concurrent.futures import ThreadPoolExecutor

    import psycopg
    import requests

    from tests.integration.conftest import PooledWSGIServer

    runtime = setup(load_config(make_env(database_url, NZC_WEB_MAX_CONCURRENT="2")), stub=True)
    app = create_app(runtime=runtime)
    web = PooledWSGIServer(app)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{web.server_port}{URL}"
    base = sample("07_device_updated.json")["body"]
    bodies = [fresh(base) for _ in range(10)]
    holder = psycopg.connect(database_url, autocommit=False)
    try:
        holder.execute("LOCK TABLE webhook_dedupe IN EXCLUSIVE MODE")  # until the rollback
        with ThreadPoolExecutor(len(bodies)) as pool:
            answers = [
                pool.submit(
                    requests.post,
                    url,
                    data=raw,
                    headers={"X-Hook-Signature": sign(raw), "Content-Type": "application/json"},
                    timeout=60,
                )
                for raw in bodies
            ]
            # The two inside cannot finish while the lock is held: whatever has, was refused.
            refused = [a.result() for a in _first_done(answers, 8)]
            assert {r.status_code for r in refused} == {503}
            assert {r.headers["Retry-After"] for r in refused} == {"1"}
            assert "NZC_WEB_MAX_CONCURRENT" in refused[0].json()["detail"]
            assert queued(runtime) == 0
            holder.rollback()  # Postgres lets the two inside go on
            statuses = sorted(a.result().status_code for a in answers)
        assert statuses == [202] * 2 + [503] * 8
        assert queued(runtime) >= 1  # the two, in one batch or two
    finally:
        holder.close()
        web.shutdown()
        web.server_close()
        app_state(app).close()
        runtime.store.close()
        set_runtime(None)


def _first_done(futures, count):
    """The ``futures`` finished once at least ``count`` have, waiting as long as that takes."""
    from concurrent.futures import FIRST_COMPLETED, wait

    done, pending = set(), set(futures)
    while len(done) < count:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        done |= finished
    return list(done)
