"""The ``nzc`` command: migrations, a ping round trip, settings and job records."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
from marshmallow import ValidationError

from consumer.config import Config, ConfigError, load_config
from handlers import records
from handlers.settings_store import SettingsError, read_settings, update_settings
from handlers.store import Store, migrate
from schemas.settings import SECRET_FIELDS, format_errors, parse_setting_value


def _config(ctx: click.Context) -> Config:
    if ctx.obj is None:
        try:
            ctx.obj = load_config()
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
    return ctx.obj


def _store(ctx: click.Context) -> Store:
    store = Store(_config(ctx).database_url, max_size=2)
    ctx.call_on_close(store.close)
    return store


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


@click.group()
def cli() -> None:
    """netbox-zabbix-consumer: keep Zabbix in step with NetBox."""


@cli.command("migrate")
@click.pass_context
def migrate_cmd(ctx: click.Context) -> None:
    """Apply pending database migrations (safe to run again)."""
    applied = migrate(_config(ctx).database_url)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


@cli.command("ping")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the worker.")
@click.pass_context
def ping_cmd(ctx: click.Context, wait: float) -> None:
    """Send a ping job through RabbitMQ and wait until a worker has run it."""
    from consumer.wiring import setup

    runtime = setup(_config(ctx))
    ctx.call_on_close(runtime.store.close)
    from handlers.actors import ping

    message = ping.send("nzc ping")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with runtime.store.connection() as conn:
            job = records.get_job(conn, message.message_id)
        if job and job["status"] in ("succeeded", "failed", "dead"):
            click.echo(f"job {job['id']} {job['status']} in {job['duration_ms']:.1f} ms")
            if job["status"] != "succeeded":
                sys.exit(1)
            return
        time.sleep(0.1)
    raise click.ClickException(
        f"job {message.message_id} not processed within {wait:g}s: is a worker running "
        "(`make run`, or `dramatiq handlers.worker`)?"
    )


@cli.group("settings")
def settings_group() -> None:
    """Show or change the service settings."""


@settings_group.command("show")
@click.pass_context
def settings_show(ctx: click.Context) -> None:
    """Print every setting as JSON (secrets masked)."""
    with _store(ctx).connection() as conn:
        current = read_settings(conn)
    for key in SECRET_FIELDS:
        if current.get(key):
            current[key] = "***"
    click.echo(_dump(current))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.pass_context
def settings_set(ctx: click.Context, key: str, value: str) -> None:
    """Change one setting. Lists take comma-separated values: monitored_statuses active,staged."""
    try:
        typed = parse_setting_value(key, value)
        with _store(ctx).connection() as conn:
            update_settings(conn, {key: typed})
    except ValidationError as exc:
        raise click.ClickException(f"setting refused:\n{format_errors(exc.messages)}") from None
    except SettingsError as exc:
        raise click.ClickException(f"setting refused:\n{exc}") from None
    shown = "***" if key in SECRET_FIELDS else _dump(typed)
    click.echo(f"{key} = {shown}")


@cli.group("jobs")
def jobs_group() -> None:
    """List and inspect job records."""


@jobs_group.command("list")
@click.option("--status", type=click.Choice(records.JOB_STATUSES))
@click.option("--actor")
@click.option("--target", help="e.g. dcim.device:42")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def jobs_list(
    ctx: click.Context, status: str | None, actor: str | None, target: str | None, limit: int
) -> None:
    """The newest jobs first."""
    with _store(ctx).connection() as conn:
        rows = records.list_jobs(conn, status=status, actor=actor, target=target, limit=limit)
    click.echo(
        f"{'ID':36}  {'ACTOR':22} {'STATUS':9} {'TRY':>3}  {'ENQUEUED':19}  {'MS':>9}  TARGETS"
    )
    for row in rows:
        duration = f"{row['duration_ms']:.1f}" if row["duration_ms"] is not None else "-"
        click.echo(
            f"{row['id']:36}  {row['actor']:22} {row['status']:9} {row['attempts']:>3}  "
            f"{row['enqueued_at']:%Y-%m-%d %H:%M:%S}  {duration:>9}  {','.join(row['targets'])}"
        )


@jobs_group.command("show")
@click.argument("job_id")
@click.pass_context
def jobs_show(ctx: click.Context, job_id: str) -> None:
    """One job with its error, traceback, data and event-log entries."""
    with _store(ctx).connection() as conn:
        job = records.get_job(conn, job_id)
    if job is None:
        raise click.ClickException(f"no job with id {job_id!r}; `nzc jobs list` shows the ids")
    click.echo(_dump(job))


def main() -> None:
    cli(prog_name="nzc")
