"""Maintenance windows as operators write them: the body of ``nzc maintenance create`` and
of ``POST /api/v1/maintenance``, the time periods (``weekly:sat,sun@02:00/4h``) and the
check that a period occurs at all within its window.

Every refusal names the field and what to write instead, and nothing is written before the
whole window loaded.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from schemas import Whole
from schemas.admin import Target, _no_nul
from schemas.durations import parse_duration

#: Kinds of time period, as Zabbix has them (its timeperiod_type 0, 2, 3, 4).
PERIOD_KINDS = ("once", "daily", "weekly", "monthly")
#: Days of the week as written, Monday first (Zabbix's dayofweek bit 0 is Monday).
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Shortest period Zabbix keeps (it rounds down to minutes), minutes.
MIN_PERIOD_MIN = 5
#: Longest window, days: Zabbix's dates end in January 2038.
MAX_WINDOW_DAYS = 3650
#: Zabbix's last date (its frontend's ZBX_MAX_DATE).
LAST_DATE = datetime.fromtimestamp(2147464800, UTC)
#: What a window may cover: scope key -> what it names.
SCOPE_KEYS = {
    "hosts": "NetBox targets (dcim.device:42) with a host config",
    "sites": "NetBox site slugs",
    "regions": "NetBox region slugs (their child regions too)",
    "tenants": "NetBox tenant slugs",
    "clusters": "NetBox cluster names",
    "tags": "NetBox tag slugs",
    "host_groups": "Zabbix host group names",
    "proxies": "Zabbix proxy names (the hosts they monitor)",
    "proxy_groups": "Zabbix proxy group names, 7.0 and later (the hosts they monitor)",
}
_PERIOD = re.compile(
    r"^\s*(?P<kind>[a-z]+)(?::(?P<days>[a-z0-9,\s]+))?"
    r"(?:@(?P<at>\d{1,2}:\d{2}))?(?:/(?P<duration>\w+))?\s*$"
)
PERIOD_FORMS = (
    "daily@HH:MM/DURATION, weekly:DAY[,DAY...]@HH:MM/DURATION (days mon..sun) or "
    "monthly:N[,N...]@HH:MM/DURATION (days of the month 1..31), e.g. weekly:sat,sun@02:00/4h"
)


def parse_period(text: str) -> dict[str, Any]:
    """A period from its command-line form (:data:`PERIOD_FORMS`), as the body's dict;
    a ValueError names the text and the forms."""
    match = _PERIOD.match((text or "").lower())
    if not match or match["kind"] not in PERIOD_KINDS[1:] or not match["duration"]:
        raise ValueError(f"{text!r} is not a period: write {PERIOD_FORMS}")
    period: dict[str, Any] = {
        "kind": match["kind"],
        "start_time": match["at"] or "00:00",
        "duration": match["duration"],
    }
    if match["days"]:
        period["days"] = [d.strip() for d in match["days"].split(",") if d.strip()]
    return period


def _minutes(value: Any) -> int:
    """Whole minutes of a duration (``4h``, ``90m``) or a number of minutes."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(parse_duration(value).total_seconds() // 60)
    raise ValueError(f"{value!r} is not a duration (e.g. 90m, 4h)")


class Minutes(fields.Field):
    """A duration written ``90m``/``4h`` (or a whole number of minutes), loaded as minutes."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        try:
            minutes = _minutes(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if minutes < MIN_PERIOD_MIN:
            raise ValidationError(f"must be at least {MIN_PERIOD_MIN} minutes (Zabbix's shortest)")
        return minutes

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> Any:
        return value


def _names(**kwargs: Any) -> fields.List:
    return fields.List(fields.String(validate=[_no_nul, validate.Length(min=1, max=255)]), **kwargs)


class PeriodSchema(Schema):
    """One time period of a window: when in each day, week or month it comes into effect."""

    class Meta:
        unknown = RAISE

    kind = fields.String(required=True, validate=validate.OneOf(PERIOD_KINDS[1:]))
    start_time = fields.String(
        load_default="00:00",
        validate=Whole(
            r"^([01]?\d|2[0-3]):[0-5]\d$", error="must be a time of day, HH:MM (00:00 to 23:59)"
        ),
    )
    duration = Minutes(required=True)
    days = fields.List(fields.Raw(), load_default=list)

    @validates_schema
    def _days(self, data: dict[str, Any], **_kwargs: Any) -> None:
        kind, days = data.get("kind"), data.get("days") or []
        if kind == "daily" and days:
            raise ValidationError("a daily period takes no days", field_name="days")
        if kind == "weekly":
            wrong = [d for d in days if str(d).lower() not in WEEKDAYS]
            if not days or wrong:
                raise ValidationError(
                    f"a weekly period needs days of the week ({', '.join(WEEKDAYS)})"
                    + (f"; not {', '.join(map(repr, wrong))}" if wrong else ""),
                    field_name="days",
                )
        if kind == "monthly":
            wrong = [d for d in days if not str(d).isdigit() or not 1 <= int(d) <= 31]
            if not days or wrong:
                raise ValidationError(
                    "a monthly period needs days of the month (1 to 31)"
                    + (f"; not {', '.join(map(repr, wrong))}" if wrong else ""),
                    field_name="days",
                )

    @post_load
    def _canonical_days(self, period: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        if period["kind"] == "weekly":
            period["days"] = sorted({str(d).lower() for d in period["days"]}, key=WEEKDAYS.index)
        elif period["kind"] == "monthly":
            period["days"] = sorted({int(d) for d in period["days"]})
        return period


#: What a time that is not one is told.
_TIME_ERRORS = {
    key: "must be an ISO 8601 time with its timezone, e.g. 2026-12-06T02:00:00Z or "
    "2026-12-06T03:00:00+01:00"
    for key in ("invalid", "invalid_awareness")
}


class WindowSchema(Schema):
    """A maintenance window as written by an operator (``partial=True`` for an update,
    then the merged window is loaded again whole).

    ``start`` and ``end`` are ISO 8601 times with a zone (``2026-12-06T02:00Z``); ``duration``
    instead of ``end``. ``periods`` empty: one period from start to end. ``collect_data``
    false: Zabbix's "no data collection" type."""

    class Meta:
        unknown = RAISE

    name = fields.String(
        required=True,
        validate=[
            _no_nul,
            validate.Length(min=1, max=128),
            validate.Regexp(
                r"^(?![0-9]+$)", error="must not be all digits (those name windows by id)"
            ),
        ],
    )
    description = fields.String(load_default="", validate=[_no_nul, validate.Length(max=2048)])
    start = fields.AwareDateTime(required=True, format="iso", error_messages=_TIME_ERRORS)
    end = fields.AwareDateTime(format="iso", allow_none=True, error_messages=_TIME_ERRORS)
    duration = Minutes(load_only=True)
    periods = fields.List(fields.Nested(PeriodSchema), load_default=list)
    collect_data = fields.Boolean(load_default=True)
    hosts = fields.List(Target(), load_default=list)
    sites = _names(load_default=list)
    regions = _names(load_default=list)
    tenants = _names(load_default=list)
    clusters = _names(load_default=list)
    tags = _names(load_default=list)
    host_groups = _names(load_default=list)
    proxies = _names(load_default=list)
    proxy_groups = _names(load_default=list)

    @validates_schema
    def _window(self, data: dict[str, Any], partial: Any = None, **_kwargs: Any) -> None:
        if partial:
            return
        if data.get("end") is not None and data.get("duration"):
            raise ValidationError("give end or duration, not both", field_name="duration")
        end = window_end(data)
        if end is None:
            raise ValidationError("give the window's end, or its duration", field_name="end")
        if end <= data["start"]:
            raise ValidationError(
                f"the end ({end.isoformat()}) must come after the start "
                f"({data['start'].isoformat()})",
                field_name="end",
            )
        if end - data["start"] < timedelta(minutes=MIN_PERIOD_MIN):
            raise ValidationError(
                f"a window lasts at least {MIN_PERIOD_MIN} minutes (Zabbix's shortest)",
                field_name="end",
            )
        if end - data["start"] > timedelta(days=MAX_WINDOW_DAYS):
            raise ValidationError(
                f"a window lasts at most {MAX_WINDOW_DAYS} days", field_name="end"
            )
        if end > LAST_DATE:
            raise ValidationError(
                f"Zabbix's dates end at {LAST_DATE.isoformat()}: end the window before",
                field_name="end",
            )
        if not any(data.get(key) for key in SCOPE_KEYS):
            raise ValidationError(
                "name what the window covers: "
                + "; ".join(f"{k} ({v})" for k, v in SCOPE_KEYS.items()),
                field_name="hosts",
            )
        for n, period in enumerate(data.get("periods") or []):
            if first_occurrence(period, data["start"], end) is None:
                raise ValidationError(
                    f"period {n + 1} ({describe_period(period)}) never starts between "
                    f"{data['start'].isoformat()} and {end.isoformat()}: widen the window "
                    "or change the days",
                    field_name="periods",
                )


def window_end(data: dict[str, Any]) -> datetime | None:
    """The end of a window body: ``end``, else ``start`` plus ``duration`` minutes."""
    if data.get("end") is not None:
        return data["end"]
    if data.get("duration") and data.get("start"):
        return data["start"] + timedelta(minutes=data["duration"])
    return None


def describe_period(period: dict[str, Any]) -> str:
    """A period in its command-line form."""
    days = ",".join(str(d) for d in period.get("days") or [])
    return (
        f"{period['kind']}{':' + days if days else ''}@{period.get('start_time', '00:00')}"
        f"/{period['duration']}m"
    )


def _at(period: dict[str, Any]) -> time:
    hours, minutes = (int(p) for p in period.get("start_time", "00:00").split(":"))
    return time(hours, minutes, tzinfo=UTC)


def _occurs_on(period: dict[str, Any], day: date) -> bool:
    if period["kind"] == "daily":
        return True
    if period["kind"] == "weekly":
        return WEEKDAYS[day.weekday()] in period["days"]
    return day.day in period["days"]


def first_occurrence(period: dict[str, Any], start: datetime, end: datetime) -> datetime | None:
    """When ``period`` first comes into effect within [start, end), or None if never (times
    of day read in UTC)."""
    day = start.astimezone(UTC).date()
    last = end.astimezone(UTC).date()
    # Any weekday recurs within a week, and any day of the month within 31 days' months
    # at most 7 months apart (the 31st): past that, a period that has not started never will.
    limit = day + timedelta(days=400)
    while day <= min(last, limit):
        if _occurs_on(period, day):
            at = datetime.combine(day, _at(period))
            if start <= at < end:
                return at
        day += timedelta(days=1)
    return None


# -- the admin API's bodies and answers ----------------------------------------------------

#: Said of a window whose times this service cannot count (past the year 9999, or before 1).
OUT_OF_RANGE = (
    "start, end, duration: the window must lie within the years 1 to 9999 (and Zabbix's "
    "dates end in January 2038): write a nearer start, end or duration"
)
#: A duration as a body writes it (``4h``) or in minutes.
_DURATION_DOC = {
    "anyOf": [
        {"type": "string", "pattern": r"^\s*\d{1,7}\s*[smhdw]\s*$", "example": "4h"},
        {"type": "integer", "minimum": MIN_PERIOD_MIN},
    ],
    "description": f"90m, 4h, 2d ... or whole minutes; at least {MIN_PERIOD_MIN} minutes",
}
#: A day of a period, as a body writes it and an answer shows it.
_DAY_DOC = {
    "anyOf": [
        {"type": "string", "enum": list(WEEKDAYS)},
        {"type": "integer", "minimum": 1, "maximum": 31},
    ],
    "description": "a day of the week (weekly) or of the month (monthly)",
}


class Day(fields.Raw):
    """A day of a period: of the week (``sat``) or of the month (``15``, or ``"15"``);
    which kind of period takes which, :class:`PeriodSchema` says."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and (
            value.lower() in WEEKDAYS or (value.isascii() and value.isdigit())
        ):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ValidationError(
            f"{value!r} is not a day: a day of the week ({', '.join(WEEKDAYS)}) or of the "
            "month (1 to 31)"
        )


class PeriodBodySchema(PeriodSchema):
    """One time period of a window, as a body writes it: ``kind`` daily, weekly or monthly,
    from ``start_time`` (HH:MM, the Zabbix server's clock) for ``duration``, on ``days``
    (weekly: mon..sun; monthly: 1..31; daily: none)."""

    duration = Minutes(required=True, metadata=_DURATION_DOC)
    days = fields.List(Day(metadata=_DAY_DOC), load_default=list)


class WindowBodySchema(WindowSchema):
    """``POST /api/v1/maintenance``: a maintenance window, as ``nzc maintenance create``
    writes it. Each field is checked here; the window as a whole (end after start, a scope,
    periods that occur) and every name it uses are checked once, by the function the CLI
    calls too, and refused with its sentences. Loads as the body was sent."""

    start = fields.AwareDateTime(
        required=True,
        format="iso",
        error_messages=_TIME_ERRORS,
        metadata={"description": "ISO 8601 with a zone", "example": "2026-12-06T02:00:00Z"},
    )
    end = fields.AwareDateTime(
        format="iso",
        allow_none=True,
        error_messages=_TIME_ERRORS,
        metadata={"description": "ISO 8601 with a zone; or give duration instead"},
    )
    duration = Minutes(load_only=True, metadata=_DURATION_DOC)
    periods = fields.List(
        fields.Nested(PeriodBodySchema),
        load_default=list,
        metadata={"description": "empty: one period from start to end"},
    )
    collect_data = fields.Boolean(
        load_default=True,
        metadata={"description": "false: Zabbix's maintenance without data collection"},
    )

    def _window(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """Not checked here (no schema hook): the whole window is checked with its names,
        by ``check_window``, so the API and the CLI refuse it with the same sentences."""

    @post_load(pass_original=True)
    def _as_sent(self, _data: dict[str, Any], original: Any, **_kwargs: Any) -> dict[str, Any]:
        return dict(original)


class WindowChangesSchema(WindowBodySchema):
    """``PATCH /api/v1/maintenance/{window_id}``: the fields to change, each as in
    ``POST``; a scope list given replaces the window's. The changed window is checked
    whole, as a new one is."""

    def __init__(self, **kwargs: Any) -> None:
        # Every field may be left out, but a period given is whole (as partial=True would
        # not have it: that reaches into nested schemas).
        super().__init__(partial=tuple(WindowSchema._declared_fields), **kwargs)


class PeriodAnswerSchema(Schema):
    """A time period of a window."""

    kind = fields.String(required=True, validate=validate.OneOf(PERIOD_KINDS[1:]))
    start_time = fields.String(
        required=True, metadata={"description": "HH:MM on the Zabbix server's clock"}
    )
    duration = fields.Integer(required=True, metadata={"description": "minutes"})
    days = fields.List(fields.Raw(metadata=_DAY_DOC), required=True)


class MemberSchema(Schema):
    """A Zabbix host in a window."""

    hostid = fields.String(required=True)
    target = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "its NetBox object; null for a host a proxy monitors only"},
    )


#: What a window's status says.
WINDOW_STATUSES = ("pending", "active", "expired", "failed")


class WindowAnswerSchema(Schema):
    """A maintenance window as listed."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    owner = fields.String(
        required=True,
        validate=validate.OneOf(("operator", "netbox")),
        metadata={"description": "netbox: follows the maintenance_tags/_statuses settings"},
    )
    status = fields.String(
        required=True,
        validate=validate.OneOf(WINDOW_STATUSES),
        metadata={
            "description": "now: pending before its start, active from it, expired once "
            "ended, failed when Zabbix did not take it (error says why)"
        },
    )
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "null: open"}
    )
    periods = fields.List(fields.Nested(PeriodAnswerSchema), required=True)
    collect_data = fields.Boolean(required=True)
    scope = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        required=True,
        metadata={"description": "what it covers: " + ", ".join(SCOPE_KEYS)},
    )
    groupids = fields.List(fields.String(), required=True)
    maintenanceid = fields.String(
        required=True, allow_none=True, metadata={"description": "null: none in Zabbix"}
    )
    host_count = fields.Integer(required=True, metadata={"description": "Zabbix hosts in it"})
    error = fields.String(required=True, allow_none=True)
    created_by = fields.String(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    applied_at = fields.DateTime(required=True, allow_none=True)
    expired_at = fields.DateTime(required=True, allow_none=True)


class WindowDetailSchema(WindowAnswerSchema):
    """A maintenance window in full, with its Zabbix hosts."""

    members = fields.List(fields.Nested(MemberSchema), required=True)


class WindowsSchema(Schema):
    """Maintenance windows, the latest start first."""

    windows = fields.List(fields.Nested(WindowAnswerSchema), required=True)


class WindowQueuedSchema(Schema):
    """A maintenance window as written, and the job queued to write it to Zabbix."""

    window = fields.Nested(WindowDetailSchema, required=True)
    job_id = fields.String(required=True, metadata={"description": "GET /api/v1/jobs/{job_id}"})
    actor = fields.String(required=True)
