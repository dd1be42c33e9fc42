"""The settings row: read it (secrets masked), change some of it."""

from __future__ import annotations

from typing import Any

from consumer.api.operations import Operations
from consumer.errors import ApiError
from consumer.state import app_state
from handlers.gateways.settings import read_settings
from handlers.jobs.operator import Refused, change_settings
from schemas.admin import (
    SettingsAnswerSchema,
    SettingsChangedSchema,
    SettingsPatchSchema,
    SettingsQuerySchema,
)
from schemas.settings import masked

operations = Operations("settings")


@operations.route("GET", "/settings", answers={200: SettingsAnswerSchema()})
def get_settings() -> dict[str, Any]:
    """Every setting, secrets masked."""
    with app_state().runtime.store.connection() as conn:
        return masked(read_settings(conn))


@operations.route(
    "PATCH",
    "/settings",
    query=SettingsQuerySchema(),
    body=SettingsPatchSchema(),
    answers={200: SettingsChangedSchema()},
    errors=(400,),
)
def change(query: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Change some settings, all or none. They are checked as `nzc settings set` checks
    them and refused with its sentences. Values are typed as GET shows them, or
    text as the CLI takes it ("active,staged"). A graveyard_group must be a host group the
    mirror knows, unless create_host_groups."""
    try:
        with app_state().runtime.store.connection() as conn:
            done = change_settings(conn, body, create_host_groups=query["create_host_groups"])
    except Refused as exc:
        raise ApiError(400, "setting refused", exc.problems) from None
    return {
        "settings": masked(done.settings),
        "changed": sorted(done.changes),
        "created_host_groups": done.created_host_groups,
        "warnings": done.warnings,
    }
