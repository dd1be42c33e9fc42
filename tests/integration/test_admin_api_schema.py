"""Schemathesis against the admin API's own OpenAPI document, in process (WSGI), with the
token: for requests generated from the document, valid and invalid, no answer is a 5xx,
every status is documented, every answer matches its schema, and every 4xx is the one
JSON error shape.

The app runs on a database of its own, empty but for the migrations' rows, so what the
generated requests change (settings, mappings, replays, queued jobs on a stub broker)
touches no other test; NetBox is an empty simulator, Zabbix the real 7.0 (read only).
"""

import uuid

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consumer.api import OPERATIONS
from consumer.api.openapi import openapi_path
from consumer.app import create_app
from consumer.state import app_state
from consumer.wiring import setup
from handlers.config import load_config
from handlers.gateways.postgres import migrate
from handlers.runtime import set_runtime
from tests.conftest import ADMIN_URL, make_env
from tests.integration.conftest import TOKEN as NETBOX_TOKEN
from tests.integration.test_admin_api import ADMIN_TOKEN, AUTH
from tests.netbox_sim import SimServer

pytestmark = pytest.mark.integration

#: Generated requests per operation (positive and negative); the run stays well under 90 s.
EXAMPLES = 30


@pytest.fixture(scope="module")
def api_app():
    """The app on a fresh, migrated database of its own, dropped afterwards."""
    name = f"nzc_test_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    migrate(url)
    sim = SimServer(token=NETBOX_TOKEN, webhook_secret=None).start()
    env = make_env(
        url, NZC_ADMIN_TOKEN=ADMIN_TOKEN, NZC_NETBOX_URL=sim.url, NZC_NETBOX_TOKEN=NETBOX_TOKEN
    )
    runtime = setup(load_config(env), stub=True)
    app = create_app(runtime=runtime, start_relay=False)
    yield app
    app_state(app).close()
    runtime.store.close()
    set_runtime(None)
    sim.stop()
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def api_schema(api_app):
    """The document as the app serves it (with the token), loaded by Schemathesis."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app, headers=AUTH)


def error_shape(ctx, response, case):
    """Every 4xx answer is ``{"error": text, "detail": ...}``, as JSON."""
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"error", "detail"}, body
        assert isinstance(body["error"], str) and body["error"], body


#: Requests tried by this module and server errors among them, printed at its end (the
#: figure of R5 in the README).
TRIED = {"requests": 0, "server errors": 0}


def tally(ctx, response, case):
    TRIED["requests"] += 1
    TRIED["server errors"] += response.status_code >= 500


@pytest.fixture(scope="module", autouse=True)
def report_tally():
    yield
    print(
        f"schemathesis on the admin API: {TRIED['requests']} requests tried, "
        f"{TRIED['server errors']} server errors"
    )


CHECKS = [
    tally,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_shape,
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize(
    ("method", "path"),
    [(o.method, openapi_path(o.rule)) for o in OPERATIONS],
    ids=[f"{o.method} {o.rule}" for o in OPERATIONS],
)
def test_generated_requests_get_documented_answers_and_never_a_server_error(
    api_schema, method, path, mode
):
    # Schemathesis's own pytest loader (from_fixture) does not run on pytest 9: each
    # operation runs here as a Hypothesis test of its own.
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def run(case):
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    run()
