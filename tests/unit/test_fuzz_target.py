"""The fuzz target of bench/fuzz.py, without atheris: the seed corpus passes it, hostile
bodies are refused without raising, and what fuzzing found stays fixed."""

import json

import pytest

from bench.fuzz import check, seeds
from tests.webhook_shapes import sample

SEEDS = seeds()


def body_of(capture, /, **top):
    return json.loads(sample(capture)["raw_body"]) | top


def raw(body, **dumps):
    return json.dumps(body, **dumps).encode("utf-8", "surrogatepass")


def with_data(capture, /, **data):
    body = body_of(capture)
    body["data"] = body["data"] | data
    return raw(body)


def test_every_seed_is_accepted_and_passes_the_checks():
    for body in SEEDS:
        # A seed refused would start the fuzzer from the refusals only.
        assert check(body), body[:100]


def test_a_capture_in_utf16_is_accepted_like_the_endpoint_does():
    # json.loads reads UTF-16 bytes, and this byte scan sees NUL bytes: the full walk runs.
    assert check(SEEDS[0].decode().encode("utf-16"))


HOSTILE = {
    "empty": b"",
    "a NUL byte": b"\x00",
    "invalid UTF-8": b'{"event": "created", "data": {"name": "\xc3\x28"}}',
    "an escaped NUL": b'{"a": "\\u0000"}',
    "not an object": b"[1, 2]",
    "NaN": b'{"event": "created", "data": {"id": NaN}}',
    "-Infinity": b'{"event": "created", "data": {"id": -Infinity}}',
    "arrays nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "objects nested 100,000 deep": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "a NUL in a capture's name": with_data("07_device_updated.json", name="sw\x00core"),
    "a NUL in a capture's key": with_data("07_device_updated.json", **{"k\x00": 1}),
    "half a surrogate pair as raw bytes": raw(
        body_of("07_device_updated.json", username="ad\ud800min"), ensure_ascii=False
    ),
    "an object event without its id": with_data("01_device_created.json", id=True),
}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_are_refused_without_raising(body):
    assert check(body) is False


# What fuzzing found (the first two by bench.fuzz, the others by reading the code its
# checks run), fixed: each was a 500 or a job queued for a target no worker can split.
FOUND = {
    "an IP address assigned to a string": with_data(
        "06_ipaddress_created.json", assigned_object_type="dcim.interface", assigned_object="x"
    ),
    "a number past a double's range": with_data("07_device_updated.json", weight=0.25).replace(
        b"0.25", b"1e999"
    ),
    "an event with a final newline": raw(body_of("01_device_created.json", event="created\n")),
    "an interface of device -1": with_data("02_interface_created.json", device=-1),
    "an interface of device {'id': true}": with_data(
        "02_interface_created.json", device={"id": True}
    ),
}


@pytest.mark.parametrize("body", FOUND.values(), ids=FOUND.keys())
def test_what_fuzzing_found_is_refused_or_ignored(body):
    # check raises on a 500 (any exception) or on a queued target that is not one.
    check(body)
