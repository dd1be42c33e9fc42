"""Reading and changing the settings row."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from schemas.settings import SETTINGS_FIELDS, SettingsSchema, format_errors


class SettingsError(ValueError):
    """A settings change was refused; ``errors`` maps each field to what is allowed."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(format_errors(errors))
        self.errors = errors


def read_settings(conn: psycopg.Connection) -> dict[str, Any]:
    row = conn.execute("SELECT * FROM settings WHERE id").fetchone()
    if row is None:
        raise RuntimeError("the settings row is missing: run `nzc migrate`")
    return {key: row[key] for key in SETTINGS_FIELDS}


def update_settings(conn: psycopg.Connection, changes: dict[str, Any]) -> dict[str, Any]:
    """Validate ``changes`` against the current settings and write them in one statement.

    Nothing is written when any field is invalid; :class:`SettingsError` names them all.
    """
    schema = SettingsSchema()
    errors = schema.validate(changes, partial=True)
    if not errors:
        merged = {**read_settings(conn), **changes}
        errors = schema.validate(merged)
    if errors:
        raise SettingsError(errors)
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(key), sql.Placeholder(key)) for key in changes
    )
    conn.execute(
        sql.SQL("UPDATE settings SET {}, updated_at = now() WHERE id").format(assignments), changes
    )
    return read_settings(conn)
