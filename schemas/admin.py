"""The admin API's request and answer bodies.

The API loads every query string and request body with these schemas (an unknown field is
refused) and dumps every answer with them, and its OpenAPI document is generated from
them: what is documented is what is checked.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from schemas.durations import parse_duration
from schemas.jobs import JOB_STATUSES, LEVELS, REPLAY_OUTCOMES
from schemas.netbox import DEVICE, HOST_TYPES, parse_target
from schemas.settings import SETTINGS_FIELDS, UNKNOWN_SETTING, SettingsSchema

#: Most jobs one page of ``GET /api/v1/jobs`` holds.
MAX_PAGE = 500
#: Host config sync states.
HOST_STATES = ("in sync", "differs", "missing")


def _no_nul(value: str) -> None:
    # Postgres text cannot hold NUL, so a value with one could never be stored or matched.
    if "\x00" in value:
        raise ValidationError("must not contain NUL characters")


def _text(*validators: Any, **kwargs: Any) -> fields.String:
    """A string field that refuses NUL characters (Postgres text cannot hold them)."""
    return fields.String(validate=[_no_nul, *validators], **kwargs)


class Duration(fields.String):
    """A duration as operators type it (``90s``, ``15m``, ``2h``, ``7d``), loaded as a
    timedelta."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_duration(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Target(fields.String):
    """A NetBox target (``dcim.device:42``, or ``device:42``), loaded in its canonical form."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_target(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def encode_cursor(enqueued_at: datetime, job_id: str) -> str:
    """The opaque cursor of the page after the job (``enqueued_at``, ``job_id``)."""
    raw = json.dumps([enqueued_at.isoformat(), job_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Cursor(fields.String):
    """The ``next_cursor`` of the previous page, loaded as the (enqueued_at, id) it stands for."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            at, job_id = json.loads(raw)
            stamp = datetime.fromisoformat(at)
            if stamp.tzinfo is None or not isinstance(job_id, str) or "\x00" in job_id:
                raise ValueError(at)
        except (binascii.Error, ValueError, TypeError):
            raise ValidationError(
                "not a cursor of this API: pass the next_cursor of the previous page as it is"
            ) from None
        return stamp, job_id


def _limit(default: int, top: int = MAX_PAGE) -> fields.Integer:
    return fields.Integer(
        load_default=default,
        validate=validate.Range(min=1, max=top),
        metadata={"description": f"at most this many (1 to {top})"},
    )


def _since() -> Duration:
    return Duration(
        metadata={"description": "only this recent: 90s, 15m, 2h, 7d", "example": "2h"},
    )


class _Strict(Schema):
    """What a request may hold: an unknown field is refused (400)."""

    class Meta:
        unknown = RAISE


# Errors


class ErrorSchema(Schema):
    """Every error answer, whatever the status."""

    error = fields.String(required=True, metadata={"description": "what went wrong, briefly"})
    detail = fields.Raw(
        required=True,
        metadata={
            "description": "what was wrong with which input and what to do: a sentence, a "
            "list of sentences, or messages per field"
        },
    )


# Jobs


class JobsQuerySchema(_Strict):
    """``GET /api/v1/jobs``: filters and the page wanted."""

    status = fields.String(
        validate=validate.OneOf(JOB_STATUSES),
        metadata={"description": "failed also lists partial runs"},
    )
    actor = _text()
    target = Target(metadata={"example": "dcim.device:42"})
    request_id = _text(metadata={"description": "NetBox's request id (webhook, change log)"})
    since = _since()
    cursor = Cursor(metadata={"description": "the next_cursor of the previous page"})
    limit = _limit(50)


class JobSchema(Schema):
    """A job row as listed."""

    id = fields.String(required=True)
    actor = fields.String(required=True)
    queue = fields.String(required=True)
    targets = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(JOB_STATUSES))
    attempts = fields.Integer(required=True)
    enqueued_at = fields.DateTime(required=True)
    started_at = fields.DateTime(required=True, allow_none=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    duration_ms = fields.Float(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)


class JobPageSchema(Schema):
    """A page of jobs, newest first."""

    jobs = fields.List(fields.Nested(JobSchema), required=True)
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as cursor for the next page; null on the last page"},
    )


class EventSchema(Schema):
    """An event-log entry of a job."""

    created_at = fields.DateTime(required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    target = fields.String(required=True, allow_none=True)
    message = fields.String(required=True)
    data = fields.Raw(required=True, allow_none=True)


class JobDetailSchema(JobSchema):
    """A job row in full, with its event log and replay links."""

    args = fields.Raw(required=True)
    kwargs = fields.Raw(required=True)
    result = fields.Raw(allow_none=True)
    traceback = fields.String(allow_none=True)
    data = fields.Raw(allow_none=True)
    pre_data = fields.Raw(allow_none=True)
    post_data = fields.Raw(allow_none=True)
    request_id = fields.String(allow_none=True)
    replay_of = fields.String(allow_none=True)
    replayed_as = fields.String(allow_none=True)
    replay_requested_by = fields.String(allow_none=True)
    replay_requested_at = fields.DateTime(allow_none=True)
    replay_reason = fields.String(allow_none=True)
    events = fields.List(fields.Nested(EventSchema), required=True)


class ReplaySchema(_Strict):
    """``POST /api/v1/jobs/{job_id}/replay``: why, and who asks."""

    reason = _text(validate.Length(max=1000), allow_none=True)
    requested_by = _text(
        validate.Length(max=200),
        allow_none=True,
        metadata={"description": "who asks, recorded after the caller's address"},
    )


class ReplayFilterSchema(ReplaySchema):
    """``POST /api/v1/jobs/replay``: which jobs to replay."""

    status = fields.String(required=True, validate=validate.OneOf(("dead", "failed")))
    actor = _text(allow_none=True)
    target = Target(allow_none=True)
    since = _since()
    limit = _limit(100)
    dry_run = fields.Boolean(load_default=False)


class ReplayOutcomeSchema(Schema):
    """What became of one job asked to be replayed."""

    asked = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(REPLAY_OUTCOMES))
    new_job_id = fields.String(required=True, allow_none=True)
    detail = fields.String(required=True)


class ReplayedSchema(Schema):
    """What became of the job asked to be replayed (one outcome)."""

    outcomes = fields.List(fields.Nested(ReplayOutcomeSchema), required=True)


class ReplaysSchema(ReplayedSchema):
    """What became of the jobs a filter selected, oldest first."""

    dry_run = fields.Boolean(required=True)
    selected = fields.Integer(required=True, metadata={"description": "jobs the filter chose"})


class FailuresQuerySchema(_Strict):
    """``GET /api/v1/jobs/failures``: the window and how many groups."""

    since = _since()
    limit = _limit(50)


class FailureGroupSchema(Schema):
    """Failures with one normalised error."""

    error = fields.String(required=True, metadata={"description": "the normalised error"})
    count = fields.Integer(required=True)
    first_at = fields.DateTime(required=True)
    last_at = fields.DateTime(required=True)
    sample_job_id = fields.String(required=True, allow_none=True)
    sample_error = fields.String(required=True)
    actors = fields.List(fields.String(), required=True)


class FailuresSchema(Schema):
    """Failure groups, the largest first."""

    groups = fields.List(fields.Nested(FailureGroupSchema), required=True)


# Host configs


class HostsQuerySchema(_Strict):
    """``GET /api/v1/hosts``: which host configs."""

    out_of_sync = fields.Boolean(
        load_default=False,
        metadata={"description": "only host configs that differ or are missing"},
    )


class HostConfigSchema(Schema):
    """A host config with its sync state."""

    target = fields.String(required=True)
    hostid = fields.String(required=True, allow_none=True)
    host = fields.String(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(HOST_STATES))
    checked_at = fields.DateTime(required=True, allow_none=True)
    differences = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "what differed when last checked, in words"},
    )
    mapping_id = fields.Integer(required=True, allow_none=True)
    interface_types = fields.List(fields.String(), required=True, allow_none=True)
    missing_since = fields.DateTime(required=True, allow_none=True)
    missing_reason = fields.String(required=True, allow_none=True)
    last_synced_at = fields.DateTime(required=True)
    created_at = fields.DateTime(required=True)


class TargetFailureSchema(Schema):
    """The last failed run of a target."""

    target = fields.String(required=True)
    job_id = fields.String(required=True, allow_none=True)
    error = fields.String(required=True)
    failed_at = fields.DateTime(required=True)


class HostConfigDetailSchema(HostConfigSchema):
    """A host config in full, with its last failure."""

    last_diff = fields.Raw(required=True, allow_none=True)
    last_failure = fields.Nested(TargetFailureSchema, required=True, allow_none=True)


class HostConfigsSchema(Schema):
    """Host configs in target order."""

    hosts = fields.List(fields.Nested(HostConfigSchema), required=True)


# Sync


class SyncSchema(_Strict):
    """``POST /api/v1/sync``: queue a full sync, or plan one."""

    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "plan in the web process and answer the plan; write nothing"},
    )
    allow_deletions = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "let this sync delete up to N hosts, over max_deletions"},
    )


class QueuedSchema(Schema):
    """A job queued for a worker."""

    job_id = fields.String(required=True, metadata={"description": "GET /api/v1/jobs/{job_id}"})
    actor = fields.String(required=True)


class SyncPlanSchema(Schema):
    """What a full sync would do (a dry run)."""

    dry_run = fields.Boolean(required=True)
    compared = fields.Integer(required=True, metadata={"description": "targets compared"})
    actions = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "targets per planned action"},
    )
    to_reconcile = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "target -> why a reconcile run would look at it"},
    )
    lines = fields.List(
        fields.String(), required=True, metadata={"description": "the plan in words"}
    )
    held = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "why deletions are held back (past the limit), or null"},
    )
    deletions_held = fields.Integer(required=True)


# Import


#: What ``match`` may say: find the Zabbix host by name, by primary IP, or by either.
IMPORT_MATCHES = ("name", "ip", "name,ip", "ip,name")


class ImportHostsSchema(_Strict):
    """``POST /api/v1/import/hosts``: adopt existing Zabbix hosts, or plan it."""

    targets = fields.List(
        Target(),
        load_default=list,
        metadata={"description": "devices and VMs to adopt hosts for (dcim.device:42)"},
    )
    all = fields.Boolean(
        load_default=False,
        metadata={"description": "every device and VM without a host config"},
    )
    match = fields.String(
        load_default="name",
        validate=validate.OneOf(IMPORT_MATCHES),
        metadata={"description": "name (technical or visible), ip (primary IP), or name,ip"},
    )
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "plan in the web process and answer the plan; write nothing"},
    )

    @validates_schema
    def _some_targets(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data["targets"] and not data["all"]:
            raise ValidationError("name targets (e.g. dcim.device:42), or set all", "targets")


class ImportPlanSchema(Schema):
    """What an import would do (a dry run)."""

    dry_run = fields.Boolean(required=True)
    adopt = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "target -> the hostid of the Zabbix host it would adopt"},
    )
    refused = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "target -> why its Zabbix host cannot be adopted"},
    )
    not_found = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "candidates no Zabbix host matches"},
    )
    lines = fields.List(
        fields.String(), required=True, metadata={"description": "the plan in words"}
    )


# Settings


class SettingsAnswerSchema(SettingsSchema):
    """Every setting, secrets masked."""

    tls_psk = fields.String(metadata={"description": "*** when set"})
    snmpv3_authpassphrase = fields.String(metadata={"description": "*** when set"})
    snmpv3_privpassphrase = fields.String(metadata={"description": "*** when set"})


#: ``PATCH /api/v1/settings``: setting -> new value, typed as ``GET`` shows it, or as the
#: text ``nzc settings set`` takes (``"active,staged"``, ``"50"``). Checked as the CLI
#: checks it, and an unknown setting is refused with the CLI's sentence.
SettingsPatchSchema = type(
    "SettingsPatchSchema",
    (_Strict,),
    {
        "error_messages": {"unknown": UNKNOWN_SETTING},
        **{
            key: fields.Raw(allow_none=True, metadata={"description": f"the new {key}"})
            for key in SETTINGS_FIELDS
        },
    },
)


class SettingsQuerySchema(_Strict):
    """``PATCH /api/v1/settings``: what to accept."""

    create_host_groups = fields.Boolean(
        load_default=False,
        metadata={"description": "accept a host group the mirror does not know (graveyard_group)"},
    )


class SettingsChangedSchema(Schema):
    """A settings change that was written."""

    settings = fields.Nested(SettingsAnswerSchema, required=True)
    changed = fields.List(fields.String(), required=True)
    created_host_groups = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "not in the mirror; created on first use"},
    )
    warnings = fields.List(fields.String(), required=True)


# Mappings


def _names(what: str) -> fields.List:
    return fields.List(_text(), load_default=list, metadata={"description": f"{what} (empty: any)"})


class NewMappingSchema(_Strict):
    """``POST /api/v1/mappings``: a mapping rule, as `nzc mappings add` takes it."""

    name = _text(validate.Length(min=1, max=255), required=True)
    object_type = fields.String(load_default=DEVICE, validate=validate.OneOf(HOST_TYPES))
    sites = _names("NetBox site slugs")
    roles = _names("NetBox role slugs")
    platforms = _names("NetBox platform slugs")
    tags = _names("NetBox tag slugs")
    templates = fields.List(_text(), load_default=list, metadata={"description": "by name"})
    host_groups = fields.List(_text(), load_default=list, metadata={"description": "by name"})
    proxy = _text(allow_none=True, load_default=None)
    proxy_group = _text(allow_none=True, load_default=None)
    interface_types = fields.List(
        _text(),
        load_default=lambda: ["agent"],
        metadata={"description": "of agent, snmpv1, snmpv2c, snmpv3"},
    )
    create_host_groups = fields.Boolean(
        load_default=False,
        metadata={"description": "accept host groups the mirror does not know"},
    )


class MappingSchema(Schema):
    """A mapping rule."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    object_type = fields.String(required=True, validate=validate.OneOf(HOST_TYPES))
    is_default = fields.Boolean(required=True)
    sites = fields.List(fields.String(), required=True)
    roles = fields.List(fields.String(), required=True)
    platforms = fields.List(fields.String(), required=True)
    tags = fields.List(fields.String(), required=True)
    templates = fields.List(fields.String(), required=True)
    host_groups = fields.List(fields.String(), required=True)
    proxy = fields.String(required=True, allow_none=True)
    proxy_group = fields.String(required=True, allow_none=True)
    interface_types = fields.List(fields.String(), required=True)
    created_at = fields.DateTime(required=True)


class MappingsSchema(Schema):
    """Mapping rules in id order."""

    mappings = fields.List(fields.Nested(MappingSchema), required=True)


class MappingAddedSchema(Schema):
    """A mapping rule that was written."""

    mapping = fields.Nested(MappingSchema, required=True)
    created_host_groups = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "not in the mirror; created on first use"},
    )


# Schedules


class ScheduleSchema(Schema):
    """A recurring system job's interval, last run and next."""

    name = fields.String(required=True)
    interval_min = fields.Integer(required=True)
    last_run_at = fields.DateTime(required=True, allow_none=True)
    last_status = fields.String(required=True, allow_none=True)
    next_run_at = fields.DateTime(
        required=True, allow_none=True, metadata={"description": "null: at the next tick"}
    )
    last_job_id = fields.String(required=True, allow_none=True)
    last_error = fields.String(required=True, allow_none=True)


class SchedulesSchema(Schema):
    """The recurring system jobs in name order."""

    schedules = fields.List(fields.Nested(ScheduleSchema), required=True)


class OpenApiDocumentSchema(Schema):
    """This API's OpenAPI 3.1 document."""

    openapi = fields.String(required=True)
    info = fields.Dict(required=True)
    paths = fields.Dict(required=True)
    components = fields.Dict(required=True)
    security = fields.List(fields.Dict(), required=True)
