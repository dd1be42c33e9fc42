"""Maintenance windows decided without I/O: membership, member changes, deletes held back,
status, Zabbix parameters; and the window body's checks."""

from datetime import UTC, datetime, timedelta

import pytest
from marshmallow import ValidationError

from handlers.decide.host_state import DesiredHost
from handlers.decide.maintenance import (
    Window,
    live_windows,
    maintenance_params,
    member_changes,
    memberships,
    protecting,
    status_now,
    timeperiods,
    uses,
)
from handlers.gateways.zabbix_dialect import Dialect
from schemas.maintenance import WindowSchema, first_occurrence, parse_period

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)  # a Saturday


def obj(site="dc1", tags=(), status="active", tenant=None, cluster=None, regions=()):
    found = {
        "site": {"slug": site},
        "tags": [{"slug": t} for t in tags],
        "status": {"value": status},
        "tenant": {"slug": tenant} if tenant else None,
        "cluster": {"name": cluster} if cluster else None,
    }
    if regions:
        found["region"] = {"slug": regions[-1], "slug_path": tuple(regions)}
    return found


def desired(proxy=None, proxy_group=None):
    return DesiredHost(
        target="dcim.device:1",
        host="h",
        name="h",
        status=0,
        groups=("g",),
        templates=(),
        interfaces=(),
        tags=(),
        macros=(),
        inventory={},
        inventory_mode=1,
        proxy=proxy,
        proxy_group=proxy_group,
    )


def window(name, **scope):
    return Window(name=name, owner="operator", scope=scope)


def test_a_host_belongs_to_every_window_whose_scope_covers_it():
    windows = [
        window("site", sites=["dc1"]),
        window("other site", sites=["dc2"]),
        window("parent region", regions=["eu"]),
        window("tenant", tenants=["acme"]),
        window("cluster", clusters=["c1"]),
        window("tag", tags=["maintenance"]),
        window("status", statuses=["failed"]),
        window("proxy", proxies=["p1"]),
        window("proxy group", proxy_groups=["pg"]),
        window("host", hosts=["dcim.device:1"]),
        window("another host", hosts=["dcim.device:2"]),
    ]
    facts = obj(tags=["maintenance"], tenant="acme", cluster="c1", regions=("eu", "nl"))
    found = memberships(windows, "dcim.device:1", facts, desired(proxy="p1", proxy_group="pg"))
    assert found == {w.name for w in windows} - {"other site", "status", "another host"}
    assert memberships(windows, "dcim.device:3", obj(site="x"), desired()) == set()


def test_region_scopes_make_the_gateway_read_region_trees():
    assert uses([window("a", sites=["dc1"])]) == frozenset()
    assert uses([window("a", regions=["eu"])]) == {"region", "region_path"}


def test_member_changes_move_decided_hosts_and_keep_the_others():
    current = {
        "w1": {"10": "dcim.device:1", "11": "dcim.device:2", "99": None},
        "w2": {"10": "dcim.device:1"},
    }
    wanted = {"dcim.device:1": frozenset({"w3"}), "dcim.device:3": frozenset({"w1"})}
    hostids = {"dcim.device:1": "10", "dcim.device:3": "12"}
    assert member_changes(current, wanted, hostids) == {
        "w1": {"11": "dcim.device:2", "99": None, "12": "dcim.device:3"},
        "w2": {},
        "w3": {"10": "dcim.device:1"},
    }
    # Nothing moved: nothing to write.
    same = {"dcim.device:2": frozenset({"w1"})}
    assert member_changes(current, same, {"dcim.device:2": "11"}) == {}
    # A deleted host (no hostid) leaves every window.
    gone = member_changes(current, {"dcim.device:1": frozenset()}, {})
    assert gone == {"w1": {"11": "dcim.device:2", "99": None}, "w2": {}}


def test_only_active_operator_windows_hold_back_deletes():
    rows = [
        {
            "target": "t1",
            "name": "now",
            "owner": "operator",
            "starts_at": T0,
            "ends_at": T0 + timedelta(hours=1),
        },
        {
            "target": "t2",
            "name": "later",
            "owner": "operator",
            "starts_at": T0 + timedelta(hours=2),
            "ends_at": T0 + timedelta(hours=3),
        },
        {
            "target": "t3",
            "name": "NetBox tag m",
            "owner": "netbox",
            "starts_at": T0,
            "ends_at": None,
        },
    ]
    found = protecting(rows, T0 + timedelta(minutes=1))
    assert list(found) == ["t1"] and "'now'" in found["t1"]


def test_live_windows_follow_the_settings_for_netbox_windows():
    rows = [
        {"id": 1, "name": "NetBox tag old", "owner": "netbox", "scope": {"tags": ["old"]}},
        {"id": 2, "name": "NetBox tag m", "owner": "netbox", "scope": {"tags": ["m"]}},
        {
            "id": 4,
            "name": "ended",
            "owner": "operator",
            "scope": {"sites": ["a"]},
            "starts_at": T0 - timedelta(hours=2),
            "ends_at": T0,
        },
        {
            "id": 3,
            "name": "ops",
            "owner": "operator",
            "scope": {"sites": ["a"]},
            "starts_at": T0,
            "ends_at": None,
        },
    ]
    settings = {"maintenance_tags": ["m", "new"], "maintenance_statuses": ["failed"]}
    found = {w.name: w.id for w in live_windows([{**r, "now": T0} for r in rows], settings)}
    assert found == {
        "ops": 3,
        "NetBox tag m": 2,
        "NetBox tag new": None,
        "NetBox status failed": None,
    }


def test_status_comes_from_time_unless_expired_or_failed():
    row = {"status": "pending", "starts_at": T0}
    assert status_now(row, T0 - timedelta(seconds=1)) == "pending"
    assert status_now(row, T0) == "active"
    assert status_now({**row, "status": "failed"}, T0) == "failed"


def row(**extra):
    return {
        "id": 7,
        "name": "w",
        "description": "",
        "starts_at": T0,
        "ends_at": T0 + timedelta(days=30),
        "periods": [],
        "collect_data": True,
        **extra,
    }


def test_zabbix_parameters_per_version_and_kind():
    params = maintenance_params(Dialect((6, 0)), row(collect_data=False), ["2", "1"], ["5"])
    assert params["maintenance_type"] == 1
    assert (params["hostids"], params["groupids"]) == (["1", "2"], ["5"])
    assert params["description"] == "[netbox-zabbix-consumer window 7]"
    assert params["timeperiods"] == [
        {"timeperiod_type": 0, "start_date": int(T0.timestamp()), "period": 30 * 86400}
    ]
    params = maintenance_params(Dialect((7, 0)), row(ends_at=None), ["1"], [])
    assert params["hosts"] == [{"hostid": "1"}] and params["active_till"] == 2147464800
    periods = [
        {"kind": "daily", "start_time": "01:30", "duration": 60, "days": []},
        {"kind": "weekly", "start_time": "02:00", "duration": 240, "days": ["mon", "sun"]},
        {"kind": "monthly", "start_time": "00:00", "duration": 30, "days": [1, 15]},
    ]
    assert timeperiods(row(periods=periods)) == [
        {"timeperiod_type": 2, "every": 1, "start_time": 5400, "period": 3600},
        {"timeperiod_type": 3, "every": 1, "dayofweek": 65, "start_time": 7200, "period": 14400},
        {"timeperiod_type": 4, "month": 4095, "day": 1, "start_time": 0, "period": 1800},
        {"timeperiod_type": 4, "month": 4095, "day": 15, "start_time": 0, "period": 1800},
    ]


def body(**extra):
    return {
        "name": "w",
        "start": "2026-12-05T10:00:00Z",
        "duration": "2h",
        "sites": ["dc1"],
        **extra,
    }


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"end": "2026-12-05T09:00:00Z", "duration": None}, "end", "must come after the start"),
        ({"duration": "2m"}, "duration", "at least 5 minutes"),
        ({"sites": []}, "hosts", "name what the window covers"),
        ({"periods": [parse_period("weekly:mon@02:00/1h")]}, "periods", "never starts"),
        ({"periods": [{"kind": "weekly", "duration": "1h"}]}, "periods", "needs days of the week"),
        ({"periods": [{"kind": "monthly", "days": [32], "duration": "1h"}]}, "periods", "1 to 31"),
        ({"start": "2026-12-05T10:00:00"}, "start", "timezone"),
    ],
)
def test_bad_windows_are_refused_naming_the_field(extra, field, words):
    data = {k: v for k, v in body(**extra).items() if v is not None}
    with pytest.raises(ValidationError) as err:
        WindowSchema().load(data)
    assert field in err.value.messages
    assert words in str(err.value.messages[field])


def test_periods_parse_from_their_command_line_form():
    assert parse_period("Weekly:SAT,sun@02:00/4h") == {
        "kind": "weekly",
        "start_time": "02:00",
        "duration": "4h",
        "days": ["sat", "sun"],
    }
    with pytest.raises(ValueError, match="is not a period"):
        parse_period("fortnightly@02:00/1h")
    loaded = WindowSchema().load(
        body(duration="7d", periods=[parse_period("weekly:sun,sat@02:00/4h")])
    )
    assert (
        loaded["periods"][0]["days"] == ["sat", "sun"] and loaded["periods"][0]["duration"] == 240
    )


def test_first_occurrence_finds_the_first_start_inside_the_window():
    weekly = {"kind": "weekly", "days": ["mon"], "start_time": "02:00"}
    assert first_occurrence(weekly, T0, T0 + timedelta(days=3)) == datetime(
        2026, 12, 7, 2, 0, tzinfo=UTC
    )
    assert first_occurrence(weekly, T0, T0 + timedelta(days=1)) is None
    monthly = {"kind": "monthly", "days": [31], "start_time": "00:00"}
    feb = datetime(2027, 2, 1, tzinfo=UTC)
    assert first_occurrence(monthly, feb, feb + timedelta(days=28)) is None
