"""The ``nzc`` command: migrations, a ping round trip, settings and job records."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
import psycopg
from marshmallow import ValidationError

from consumer.config import Config, ConfigError, load_config
from handlers import hosts_store, records
from handlers.desired import INTERFACE_TYPES
from handlers.netbox import HOST_KINDS
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


@cli.group("mappings")
def mappings_group() -> None:
    """Mapping rules: which devices and VMs get which templates, groups, proxy, interfaces."""


@mappings_group.command("list")
@click.pass_context
def mappings_list(ctx: click.Context) -> None:
    """Every mapping as JSON, in id order."""
    with _store(ctx).connection() as conn:
        click.echo(_dump(hosts_store.load_mappings(conn)))


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@mappings_group.command("add")
@click.argument("name")
@click.option(
    "--object-type", type=click.Choice(list(HOST_KINDS)), default="dcim.device", show_default=True
)
@click.option("--sites", help="NetBox site slugs, comma-separated (empty: any)")
@click.option("--roles", help="NetBox role slugs, comma-separated (empty: any)")
@click.option("--platforms", help="NetBox platform slugs, comma-separated (empty: any)")
@click.option("--tags", help="NetBox tag slugs, comma-separated (empty: any)")
@click.option("--templates", help="Zabbix template names, comma-separated")
@click.option("--host-groups", help="Zabbix host group names, comma-separated")
@click.option("--proxy")
@click.option("--proxy-group")
@click.option(
    "--interface-types", default="agent", show_default=True, help=f"of {', '.join(INTERFACE_TYPES)}"
)
@click.pass_context
def mappings_add(ctx: click.Context, name: str, object_type: str, **options: str | None) -> None:
    """Add a mapping rule; the most specific matching rule wins."""
    kinds = _csv(options["interface_types"])
    unknown = [k for k in kinds if k not in INTERFACE_TYPES]
    if unknown or not kinds:
        raise click.ClickException(
            f"--interface-types: {unknown or kinds!r} is not of {', '.join(INTERFACE_TYPES)}"
        )
    mapping = {
        "name": name,
        "object_type": object_type,
        **{key: _csv(options[key]) for key in ("sites", "roles", "platforms", "tags", "templates")},
        "host_groups": _csv(options["host_groups"]),
        "proxy": options["proxy"],
        "proxy_group": options["proxy_group"],
        "interface_types": kinds,
    }
    try:
        with _store(ctx).connection() as conn:
            mapping_id = hosts_store.add_mapping(conn, mapping)
    except psycopg.errors.UniqueViolation:
        raise click.ClickException(
            f"a mapping named {name!r} exists; `nzc mappings list` shows them"
        ) from None
    click.echo(f"mapping {mapping_id} added; it applies from the next change of each object")


@mappings_group.command("remove")
@click.argument("mapping_id", type=int)
@click.pass_context
def mappings_remove(ctx: click.Context, mapping_id: int) -> None:
    """Remove a mapping rule by id."""
    with _store(ctx).connection() as conn:
        if not hosts_store.remove_mapping(conn, mapping_id):
            raise click.ClickException(
                f"no mapping {mapping_id}; `nzc mappings list` shows the ids"
            )
    click.echo(f"mapping {mapping_id} removed")


def main() -> None:
    cli(prog_name="nzc")
