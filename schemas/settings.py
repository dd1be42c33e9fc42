"""The settings row: its fields, their types and allowed values.

Errors name the field and what is allowed, e.g.
``delete_mode: Must be one of: soft, hard.``
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas import Whole

#: NetBox statuses of devices and virtual machines (VMs use a subset).
NETBOX_STATUSES = (
    "offline",
    "active",
    "planned",
    "staged",
    "failed",
    "inventory",
    "decommissioning",
)
#: SNMPv3 protocols Zabbix accepts, by name.
SNMPV3_AUTH_PROTOCOLS = ("MD5", "SHA1", "SHA224", "SHA256", "SHA384", "SHA512")
SNMPV3_PRIV_PROTOCOLS = ("DES", "AES128", "AES192", "AES256", "AES192C", "AES256C")
TLS_MODES = ("unencrypted", "psk", "cert")
#: Settings shown masked by ``nzc settings show`` and the admin API.
SECRET_FIELDS = ("tls_psk", "snmpv3_authpassphrase", "snmpv3_privpassphrase")
#: What a secret that is set reads as.
MASK = "***"


def masked(settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` with every secret that is set shown as :data:`MASK` (they never leave
    the service)."""
    return {k: MASK if k in SECRET_FIELDS and v else v for k, v in settings.items()}


#: The largest whole number a setting holds (a Postgres ``integer``).
MAX_INTEGER = 2**31 - 1


def _positive(name: str) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.Range(min=1, max=MAX_INTEGER), metadata={"help": name}
    )


#: Longest interval of a recurring system job, minutes (a week).
MAX_INTERVAL_MIN = 7 * 24 * 60


def _interval() -> fields.Integer:
    return fields.Integer(
        strict=True,
        validate=validate.Range(
            min=1,
            max=MAX_INTERVAL_MIN,
            error="must be a whole number of minutes from {min} to {max} (a week)",
        ),
    )


def _statuses() -> fields.List:
    # NetBox administrators may add statuses (FIELD_CHOICES), so any slug is accepted;
    # status_warnings() names the ones that are not built in.
    return fields.List(
        fields.String(
            validate=Whole(
                r"^[-a-zA-Z0-9_]+$", error="must be a NetBox status slug (letters, digits, - or _)"
            )
        )
    )


def _flag() -> fields.Boolean:
    # Only true or false: text from the command line is read by parse_setting_value.
    return fields.Boolean(truthy={True}, falsy={False})


#: The words a true-or-false setting accepts on the command line.
BOOLEAN_WORDS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


#: The settings that hold NetBox statuses.
STATUS_FIELDS = ("monitored_statuses", "disabled_statuses", "removed_statuses")


def status_warnings(changes: dict[str, Any]) -> list[str]:
    """A warning for each status slug in ``changes`` that NetBox does not ship: right for a
    status an administrator added (FIELD_CHOICES), a typo otherwise."""
    return [
        f"{name}: {status!r} is not a built-in NetBox status "
        f"({', '.join(NETBOX_STATUSES)}); fine if your NetBox adds it in FIELD_CHOICES, "
        "a typo otherwise"
        for name in (*STATUS_FIELDS, "maintenance_statuses")
        for status in changes.get(name) or []
        if status not in NETBOX_STATUSES
    ]


class SettingsSchema(Schema):
    """Every setting; load with ``partial=True`` to validate a change of some of them."""

    delete_mode = fields.String(validate=validate.OneOf(("soft", "hard")))
    graveyard_group = fields.String(validate=validate.Length(min=1, max=255))
    archived_suffix = fields.String(validate=validate.Length(min=1, max=64))
    import_settings_interval_min = _interval()
    sync_hosts_interval_min = _interval()
    sync_refresh_interval_min = _interval()
    maintenance_cleanup_interval_min = _interval()
    sync_refresh_cutoff_min = _interval()
    agent_port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    snmp_port = fields.Integer(strict=True, validate=validate.Range(min=1, max=65535))
    snmp_community = fields.String(validate=validate.Length(min=1))
    snmpv3_securityname = fields.String(validate=validate.Length(min=1))
    snmpv3_securitylevel = fields.String(
        validate=validate.OneOf(("noAuthNoPriv", "authNoPriv", "authPriv"))
    )
    snmpv3_authprotocol = fields.String(validate=validate.OneOf(SNMPV3_AUTH_PROTOCOLS))
    snmpv3_authpassphrase = fields.String()
    snmpv3_privprotocol = fields.String(validate=validate.OneOf(SNMPV3_PRIV_PROTOCOLS))
    snmpv3_privpassphrase = fields.String()
    tls_connect = fields.String(validate=validate.OneOf(TLS_MODES))
    tls_accept = fields.List(
        fields.String(validate=validate.OneOf(TLS_MODES)), validate=validate.Length(min=1)
    )
    tls_psk_identity = fields.String()
    tls_psk = fields.String(
        validate=Whole(r"^([0-9a-fA-F]{32,512})?$", error="must be 32 to 512 hex digits")
    )
    inventory_mode = fields.String(validate=validate.OneOf(("disabled", "manual", "automatic")))
    tag_prefix = fields.String(validate=validate.Length(max=64))
    tag_name_format = fields.String(validate=validate.OneOf(("keep", "upper", "lower")))
    monitored_statuses = _statuses()
    disabled_statuses = _statuses()
    removed_statuses = _statuses()
    max_deletions = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_INTEGER))
    no_primary_ip = fields.String(validate=validate.OneOf(("disable", "keep", "delete")))
    changelog_reads = fields.String(validate=validate.OneOf(("bulk", "always", "off")))
    keep_foreign_templates = _flag()
    keep_foreign_groups = _flag()
    event_log_retention_days = _positive("days")
    maintenance_tags = fields.List(
        fields.String(
            validate=Whole(
                r"^[-a-zA-Z0-9_]+$", error="must be a NetBox tag slug (letters, digits, - or _)"
            )
        )
    )
    maintenance_statuses = _statuses()
    maintenance_collect_data = _flag()
    maintenance_retention_days = _positive("days")
    delete_during_maintenance = _flag()

    @validates_schema
    def _statuses_disjoint(self, data: dict[str, Any], **_kwargs: Any) -> None:
        seen: dict[str, str] = {}
        for name in STATUS_FIELDS:
            for status in data.get(name, []):
                if status in seen and seen[status] != name:
                    raise ValidationError(
                        f"status {status!r} is in both {seen[status]} and {name}; "
                        "a status can have only one meaning",
                        field_name=name,
                    )
                seen[status] = name
        removed = set(data.get("removed_statuses") or ())
        if both := sorted(removed & set(data.get("maintenance_statuses") or ())):
            raise ValidationError(
                f"status {both[0]!r} is in both removed_statuses and maintenance_statuses: a "
                "host is either deleted or in maintenance",
                field_name="maintenance_statuses",
            )


SETTINGS_FIELDS: tuple[str, ...] = tuple(SettingsSchema().fields)


#: What a change naming no setting is told.
UNKNOWN_SETTING = f"unknown setting; known settings: {', '.join(SETTINGS_FIELDS)}"


def parse_setting_value(key: str, raw: Any) -> Any:
    """The typed value of one setting from its command-line text (lists: comma-separated).
    A value that is not text (a JSON number, list, boolean or null from the admin API) is
    already typed: it is returned as it is, for :class:`SettingsSchema` to judge."""
    field = SettingsSchema().fields.get(key)
    if field is None:
        raise ValidationError({key: [UNKNOWN_SETTING]})
    if isinstance(field, fields.Boolean):
        # Only true or false reach the row: JSON 1 or null would not fit a boolean column.
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in BOOLEAN_WORDS:
            return BOOLEAN_WORDS[raw.strip().lower()]
        raise ValidationError({key: [f"must be true or false, got {raw!r}"]})
    if not isinstance(raw, str):
        return raw
    if isinstance(field, fields.List):
        return [item.strip() for item in raw.split(",") if item.strip()]
    if isinstance(field, fields.Integer):
        try:
            return int(raw)
        except ValueError:
            raise ValidationError({key: [f"must be a whole number, got {raw!r}"]}) from None
    return raw


def format_errors(errors: dict[str, Any]) -> str:
    """``field: message`` lines from a marshmallow error dict."""
    lines = []
    for key, value in sorted(errors.items()):
        messages = value if isinstance(value, list) else [str(value)]
        if isinstance(value, dict):
            messages = [f"item {k}: {'; '.join(v)}" for k, v in value.items()]
        lines.append(f"{key}: {' '.join(str(m) for m in messages)}")
    return "\n".join(lines)
