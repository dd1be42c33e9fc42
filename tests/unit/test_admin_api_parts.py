"""The admin API's pure parts: the bearer check, the page cursor, the query fields that
read durations and targets, and Flask rules as OpenAPI paths."""

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from consumer.api.auth import bearer_ok
from consumer.api.openapi import openapi_path
from schemas.admin import FailuresQuerySchema, JobsQuerySchema, encode_cursor

TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"  Bearer   {TOKEN}  ", True),
        (f"Bearer {TOKEN}x", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Basic {TOKEN}", False),
        (TOKEN, False),
        ("Bearer", False),
        ("Bearer \u00e9t\u00e9", False),
        ("", False),
        (None, False),
    ],
)
def test_only_the_admin_token_as_a_bearer_token_is_accepted(header, ok):
    assert bearer_ok(TOKEN, header) is ok


def test_a_cursor_reads_back_as_the_job_it_was_made_from():
    at = datetime(2026, 11, 22, 19, 39, 32, 123456, tzinfo=UTC)
    cursor = encode_cursor(at, "job-1")
    assert JobsQuerySchema().load({"cursor": cursor})["cursor"] == (at, "job-1")


@pytest.mark.parametrize("cursor", ["nope", "", "W10", encode_cursor(datetime(2026, 1, 1), "x")])
def test_anything_but_a_cursor_of_this_api_is_refused_naming_next_cursor(cursor):
    with pytest.raises(ValidationError) as err:
        JobsQuerySchema().load({"cursor": cursor})
    assert "next_cursor" in err.value.messages["cursor"][0]


def test_durations_and_targets_are_read_as_operators_type_them():
    loaded = JobsQuerySchema().load({"since": "2h", "target": "device:42", "limit": "7"})
    assert loaded == {"since": timedelta(hours=2), "target": "dcim.device:42", "limit": 7}
    with pytest.raises(ValidationError) as err:
        FailuresQuerySchema().load({"since": "soon", "limit": "0"})
    assert "'soon' is not a duration" in err.value.messages["since"][0]
    assert "limit" in err.value.messages


def test_unknown_query_fields_are_refused():
    with pytest.raises(ValidationError) as err:
        JobsQuerySchema().load({"stauts": "dead"})
    assert err.value.messages == {"stauts": ["Unknown field."]}


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("/jobs", "/api/v1/jobs"),
        ("/jobs/<job_id>/replay", "/api/v1/jobs/{job_id}/replay"),
        ("/mappings/<int(max=2147483647):mapping_id>", "/api/v1/mappings/{mapping_id}"),
    ],
)
def test_flask_rules_become_openapi_paths(rule, path):
    assert openapi_path(rule) == path
