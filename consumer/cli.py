"""The ``nzc`` command: migrations, a ping round trip, settings and job records."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from handlers.config import (
    BROKER,
    DATABASE,
    ENV_FILE_VARIABLE,
    NETBOX,
    ZABBIX,
    Config,
    ConfigError,
    load_config,
    load_settings_file,
    redact_url,
    settings_file,
)
from handlers.decide.desired import INTERFACE_TYPES
from handlers.decide.sync import config_state
from handlers.gateways import host_configs, job_records, mappings, mirrors, target_failures
from handlers.gateways.postgres import Store, migrate
from handlers.gateways.settings import read_settings
from handlers.jobs.operator import Refused, add_mapping, change_settings
from schemas.jobs import JOB_STATUSES
from schemas.maintenance import OUT_OF_RANGE, PERIOD_FORMS, SCOPE_KEYS, parse_period
from schemas.netbox import DEVICE, HOST_TYPES, parse_target
from schemas.settings import MASK, SECRET_FIELDS, format_errors, masked

if TYPE_CHECKING:
    from handlers.runtime import Runtime


def _config(ctx: click.Context, *needs: str) -> Config:
    """The configuration, with the variables of ``needs`` (``handlers.config.DATABASE``, ...)
    checked: a command checks only what it uses, before it uses it."""
    wanted = frozenset(needs)
    checked = ctx.meta.get("nzc.needs", frozenset())
    if "nzc.config" not in ctx.meta or not wanted <= checked:
        try:
            ctx.meta["nzc.config"] = load_config(needs=checked | wanted)
        except ConfigError as exc:
            raise click.ClickException(f"configuration error: {exc}") from None
        ctx.meta["nzc.needs"] = checked | wanted
    return ctx.meta["nzc.config"]


def _store(ctx: click.Context) -> Store:
    store = Store(_config(ctx, DATABASE).database_url, max_size=2)
    ctx.call_on_close(store.close)
    return store


def _runtime(ctx: click.Context, *needs: str) -> Runtime:
    """This process wired (store, broker, gateways) for a command that sends jobs, or that
    reads Zabbix or NetBox itself (``needs``: ZABBIX, NETBOX); closed with the command."""
    from consumer.wiring import setup

    runtime = setup(_config(ctx, DATABASE, BROKER, *needs))
    ctx.call_on_close(runtime.store.close)
    return runtime


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, default=str, ensure_ascii=False)


@click.group(
    invoke_without_command=True,
    epilog="Example: nzc jobs list --status failed (each command has --help)",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """netbox-zabbix-consumer: keep Zabbix in step with NetBox.

    Settings come from the NZC_* environment variables and, for those not set there,
    from the settings file: NZC_ENV_FILE, else .env in the current folder.
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())
        click.echo(f"\nSettings: {_settings_source()}")


def _settings_source() -> str:
    """Where this nzc takes its settings from, in words."""
    path = settings_file()
    if path is not None:
        return f"{path}, and the environment (which wins)"
    if os.environ.get(ENV_FILE_VARIABLE) is None:
        return f"the environment only (no .env in {Path.cwd()})"
    return f"the environment only ({ENV_FILE_VARIABLE} is empty)"


@cli.command("migrate")
@click.pass_context
def migrate_cmd(ctx: click.Context) -> None:
    """Apply pending database migrations (safe to run again)."""
    applied = migrate(_config(ctx, DATABASE).database_url)
    click.echo(f"applied: {', '.join(applied)}" if applied else "database is up to date")


def _send_and_wait(
    ctx: click.Context, actor_name: str, *args: Any, wait: float, **kwargs: Any
) -> dict[str, Any] | None:
    """Send a job through RabbitMQ and wait for a worker to finish it; the job row, or None
    when ``wait`` is 0."""
    runtime = _runtime(ctx)
    message = runtime.broker.get_actor(actor_name).send(*args, **kwargs)
    if wait <= 0:
        click.echo(f"job {message.message_id} queued; `nzc jobs show {message.message_id}`")
        return None
    return _await_job(runtime.store, message.message_id, wait)


def _await_job(store: Store, job_id: str, wait: float) -> dict[str, Any]:
    """Wait up to ``wait`` seconds for job ``job_id`` to finish; its row."""
    deadline = time.monotonic() + wait
    told = 0
    while time.monotonic() < deadline:
        with store.connection() as conn:
            job = job_records.get_job(conn, job_id)
        if job and job["status"] in ("succeeded", "partial", "dead"):
            return job
        refused = job and (job["error"] or "").startswith("Refused:")  # "dead" follows
        if job and job["status"] == "failed" and job["attempts"] > told and not refused:
            told = job["attempts"]
            click.echo(f"attempt {told} failed, to be retried: {job['error']}", err=True)
        time.sleep(0.1)
    raise click.ClickException(
        f"job {job_id} not finished within {wait:g}s: is a worker running "
        f"(`make run`, or `dramatiq consumer.worker`)? `nzc jobs show {job_id}` tells once it ran"
    )


def _report(job: dict[str, Any] | None) -> None:
    """Print a finished host job: its result, or its error (exit status 1)."""
    if job is None:
        return
    if job["status"] == "succeeded":
        click.echo(_dump(job["result"]))
        return
    click.echo(f"{job['actor']} {job['status']}: {job['error']}", err=True)
    click.echo(f"details: nzc jobs show {job['id']}", err=True)
    sys.exit(1)


def _targets(values: tuple[str, ...]) -> list[str]:
    try:
        return [parse_target(v) for v in values]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from None


WAIT = click.option(
    "--wait",
    default=60.0,
    show_default=True,
    help="Seconds to wait for a worker to run the job; 0 queues it and returns.",
)


@cli.command("ping")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the worker.")
@click.pass_context
def ping_cmd(ctx: click.Context, wait: float) -> None:
    """Send a ping job through RabbitMQ and wait until a worker has run it."""
    job = _send_and_wait(ctx, "ping", "nzc ping", wait=max(wait, 0.1))
    click.echo(f"job {job['id']} {job['status']} in {job['duration_ms']:.1f} ms")
    if job["status"] != "succeeded":
        sys.exit(1)


@cli.group("provision", epilog="Example: nzc provision snmp dcim.device:42 --version v3")
def provision_group() -> None:
    """Create a device's or VM's Zabbix host with the interface type you choose (kept over
    the mapping's)."""


@provision_group.command("agent")
@click.argument("target")
@WAIT
@click.pass_context
def provision_agent_cmd(ctx: click.Context, target: str, wait: float) -> None:
    """ProvisionAgent for TARGET (e.g. dcim.device:42): a Zabbix agent interface."""
    (target,) = _targets((target,))
    _report(_send_and_wait(ctx, "provision_agent", target, wait=wait))


@provision_group.command("snmp")
@click.argument("target")
@click.option(
    "--version",
    "snmp_version",
    type=click.Choice(["v1", "v2c", "v3"]),
    default="v2c",
    show_default=True,
    help="SNMP version; community, v3 credentials and port come from the settings.",
)
@WAIT
@click.pass_context
def provision_snmp_cmd(ctx: click.Context, target: str, snmp_version: str, wait: float) -> None:
    """ProvisionSNMP for TARGET (e.g. dcim.device:42): an SNMP interface."""
    (target,) = _targets((target,))
    _report(_send_and_wait(ctx, "provision_snmp", target, f"snmp{snmp_version}", wait=wait))


@cli.command("validate")
@click.argument("targets", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every target that has a host config.")
@WAIT
@click.pass_context
def validate_cmd(ctx: click.Context, targets: tuple[str, ...], every: bool, wait: float) -> None:
    """ValidateHost: list how Zabbix differs from NetBox and the host configs (exit 1 when
    it does). Writes nothing."""
    chosen = _targets(targets)
    if every:
        with _store(ctx).connection() as conn:
            chosen += host_configs.host_config_targets(conn)
            chosen += list(target_failures.load(conn))  # failed before having a host
    if not chosen:
        raise click.UsageError("name targets (e.g. dcim.device:42), or give --all")
    job = _send_and_wait(ctx, "validate_host", sorted(set(chosen)), wait=wait)
    if job and job["status"] == "succeeded":
        click.echo(f"{job['result']['validated']} host(s) in step with NetBox")
        return
    _report(job)


@cli.group("hosts", epilog="Example: nzc hosts list --out-of-sync")
def hosts_group() -> None:
    """Host configs, and the host jobs run by hand."""


@hosts_group.command("list")
@click.option(
    "--out-of-sync",
    is_flag=True,
    help="Only host configs that differ from NetBox or Zabbix (or are missing), with the "
    "differences found when they were last checked.",
)
@click.pass_context
def hosts_list(ctx: click.Context, out_of_sync: bool) -> None:
    """Every host config: NetBox target, Zabbix hostid, state, when its sync state was last
    checked, and name. A host whose NetBox object is missing without a recorded deletion
    says ``missing`` (see its reason with `nzc validate TARGET`)."""
    with _store(ctx).connection() as conn:
        rows = host_configs.load_all(conn)
    shown = [r for r in rows.values() if not out_of_sync or config_state(r) != "in sync"]
    if out_of_sync and not shown:
        click.echo("every host config was in sync when last checked")
        return
    click.echo(f"{'TARGET':40} {'HOSTID':>8}  {'STATE':8}  {'CHECKED':19}  HOST")
    for row in shown:
        checked = f"{row['checked_at']:%Y-%m-%d %H:%M:%S}" if row["checked_at"] else "never"
        click.echo(
            f"{row['target']:40} {row['hostid'] or '-':>8}  {config_state(row):8}  {checked:19}  "
            f"{row['host']}"
        )
        if out_of_sync:
            for difference in row["differences"]:
                click.echo(f"    {difference}")


@hosts_group.command("show")
@click.argument("target")
@click.pass_context
def hosts_show(ctx: click.Context, target: str) -> None:
    """One host config in full, with its sync state and its last failed run, as JSON."""
    (target,) = _targets((target,))
    with _store(ctx).connection() as conn:
        config = host_configs.load_host_configs(conn, [target]).get(target)
        failure = target_failures.load(conn, [target]).get(target)
    if config is None:
        raise click.ClickException(
            f"{target} has no host config; `nzc hosts list` shows those that do"
        )
    click.echo(_dump({**config, "state": config_state(config), "last_failure": failure}))


def _host_job(name: str, actor_name: str, doc: str) -> None:
    @hosts_group.command(name, help=doc)
    @click.argument("target")
    @WAIT
    @click.pass_context
    def command(ctx: click.Context, target: str, wait: float) -> None:
        (target,) = _targets((target,))
        _report(_send_and_wait(ctx, actor_name, target, wait=wait))


_host_job("create", "create_zabbix_host", "CreateZabbixHost for TARGET (adopts our own host).")
_host_job("update", "update_zabbix_host", "UpdateZabbixHost for TARGET (no write if in step).")
_host_job(
    "add-interfaces", "create_zabbix_interface", "CreateZabbixInterface: add missing interfaces."
)
_host_job(
    "update-interfaces",
    "update_zabbix_interface",
    "UpdateZabbixInterface: bring existing interfaces in line.",
)


@hosts_group.command("delete")
@click.argument("target")
@click.option(
    "--mode",
    type=click.Choice(["soft", "hard"]),
    help="soft: archive (suffix, graveyard group, disabled); hard: host.delete. "
    "Default: the delete_mode setting.",
)
@WAIT
@click.pass_context
def hosts_delete(ctx: click.Context, target: str, mode: str | None, wait: float) -> None:
    """DeleteZabbixHost for TARGET. If the object is still in NetBox, its next change
    creates the host again."""
    (target,) = _targets((target,))
    _report(_send_and_wait(ctx, "delete_zabbix_host", target, mode, wait=wait))


@cli.group("zabbix", epilog="Example: nzc zabbix import && nzc zabbix templates")
def zabbix_group() -> None:
    """Zabbix's templates, host groups, proxies and proxy groups, as mirrored in Postgres."""


@zabbix_group.command("import")
@WAIT
@click.pass_context
def zabbix_import(ctx: click.Context, wait: float) -> None:
    """ImportZabbixSettings: mirror them now (refused, changing nothing, when more rows than
    the max_deletions setting would be removed)."""
    _report(_send_and_wait(ctx, "import_zabbix_settings", wait=wait))


def _mirror_command(kind: str, doc: str) -> None:
    @zabbix_group.command(kind.replace("_", "-"), help=doc)
    @click.pass_context
    def command(ctx: click.Context) -> None:
        with _store(ctx).connection() as conn:
            rows = list(mirrors.load(conn, kind).values())
        if not rows:
            click.echo(f"no {kind.replace('_', ' ')} mirrored; `nzc zabbix import` reads them")
            return
        extra = "  NEEDS" if kind == "templates" else ""
        click.echo(f"{'ID':>8}  NAME{extra}")
        for row in rows:
            needs = f"  {','.join(row['interface_kinds']) or 'any'}" if extra else ""
            click.echo(f"{row['id']:>8}  {row['name']}{needs}")


_mirror_command("templates", "Mirrored templates, with the interfaces their items need.")
_mirror_command("host_groups", "Mirrored host groups.")
_mirror_command("proxies", "Mirrored proxies.")
_mirror_command("proxy_groups", "Mirrored proxy groups (Zabbix 7.0 and later).")


@cli.group("settings", epilog="Example: nzc settings set monitored_statuses active,staged")
def settings_group() -> None:
    """Show or change the service settings."""


@settings_group.command("show")
@click.pass_context
def settings_show(ctx: click.Context) -> None:
    """Print every setting as JSON (secrets masked)."""
    with _store(ctx).connection() as conn:
        click.echo(_dump(masked(read_settings(conn))))


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
@click.option(
    "--create-host-groups",
    is_flag=True,
    help="Accept a host group the mirror does not know: the service creates it on first use.",
)
@click.pass_context
def settings_set(ctx: click.Context, key: str, value: str, create_host_groups: bool) -> None:
    """Change one setting. Lists take comma-separated values: monitored_statuses active,staged.
    A setting naming a Zabbix object (graveyard_group) must name one the mirror knows."""
    try:
        with _store(ctx).connection() as conn:
            change = change_settings(conn, {key: value}, create_host_groups=create_host_groups)
    except Refused as exc:
        raise click.ClickException(str(exc)) from None
    shown = MASK if key in SECRET_FIELDS else _dump(change.changes[key])
    click.echo(f"{key} = {shown}")
    for group in change.created_host_groups:
        click.echo(f"host group {group!r} is not in the mirror; it will be created on first use")
    for warning in change.warnings:
        click.echo(f"warning: {warning}", err=True)


@cli.group("jobs", epilog="Example: nzc jobs list --status failed --limit 20")
def jobs_group() -> None:
    """List and inspect job records."""


@jobs_group.command("list")
@click.option(
    "--status",
    type=click.Choice(JOB_STATUSES),
    help="failed also lists partial runs (that failed for some of their targets)",
)
@click.option("--actor")
@click.option("--target", help="e.g. dcim.device:42")
@click.option("--request-id", help="NetBox's request id (in the webhook and its change log)")
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def jobs_list(
    ctx: click.Context,
    status: str | None,
    actor: str | None,
    target: str | None,
    request_id: str | None,
    limit: int,
) -> None:
    """The newest jobs first."""
    with _store(ctx).connection() as conn:
        rows = job_records.list_jobs(
            conn, status=status, actor=actor, target=target, request_id=request_id, limit=limit
        )
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
        job = job_records.get_job(conn, job_id)
    if job is None:
        raise click.ClickException(f"no job with id {job_id!r}; `nzc jobs list` shows the ids")
    click.echo(_dump(job))


def _requested_by() -> str:
    """Who runs this command, as recorded on replayed jobs."""
    import getpass
    import socket

    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}@{socket.gethostname()}"


def _since(value: str | None) -> timedelta | None:
    from schemas.durations import parse_duration

    try:
        return parse_duration(value) if value else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None


@contextlib.contextmanager
def _broker_errors(config: Config) -> Iterator[None]:
    """RabbitMQ unreachable: say which, and what to do, instead of a traceback."""
    import pika.exceptions

    try:
        yield
    except pika.exceptions.AMQPError as exc:
        raise click.ClickException(
            f"RabbitMQ at {redact_url(config.broker_url)} (NZC_BROKER_URL) is unreachable "
            f"({type(exc).__name__}); nothing was replayed or taken out; retry once it is up"
        ) from None


@jobs_group.command("replay")
@click.argument("ids", nargs=-1)
@click.option(
    "--status",
    type=click.Choice(["dead", "failed"]),
    help="Replay every job with this status (failed includes partial) instead of IDS.",
)
@click.option("--actor", help="With --status: only this actor's jobs.")
@click.option("--target", help="With --status: only jobs on this target (dcim.device:42).")
@click.option("--since", help="With --status: only jobs enqueued within this long (2h, 7d).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--reason", help="Why, recorded on both job rows.")
@click.option("--dry-run", is_flag=True, help="List what would be replayed; change nothing.")
@click.option(
    "--wait",
    default=0.0,
    show_default=True,
    help="Seconds to wait for each replayed job to finish, printing its outcome.",
)
@click.pass_context
def jobs_replay(
    ctx: click.Context,
    ids: tuple[str, ...],
    status: str | None,
    actor: str | None,
    target: str | None,
    since: str | None,
    limit: int,
    reason: str | None,
    dry_run: bool,
    wait: float,
) -> None:
    """Replay jobs IDS (job ids, or message ids that `nzc jobs dlq` lists), or every job
    --status selects: each is taken out of the dead-letter queue and sent again as a new
    job. A job already replayed is not sent twice (exit status 1 when one is refused, or
    with --wait when a replay does not succeed)."""
    from handlers.jobs.replay import replay, replay_matching

    if bool(ids) == bool(status):
        raise click.UsageError("name job ids, or give --status dead|failed (not both)")
    if not status and (actor or target or since):
        raise click.UsageError("--actor, --target and --since select with --status")
    runtime = _runtime(ctx)
    asked = {"requested_by": _requested_by(), "reason": reason, "dry_run": dry_run}
    with _broker_errors(runtime.config):
        if status:
            (target,) = _targets((target,)) if target else (None,)
            outcomes = replay_matching(
                runtime,
                status=status,
                actor=actor,
                target=target,
                since=_since(since),
                limit=limit,
                **asked,
            )
        else:
            outcomes = replay(runtime, list(ids), **asked)
    if not outcomes:
        click.echo(f"no {status} job matches; nothing to replay")
        return
    failed = False
    for outcome in outcomes:
        click.echo(f"{outcome.asked}: {outcome.detail}")
        failed |= outcome.outcome == "refused"
        if outcome.outcome == "replayed" and wait > 0:
            job = _await_job(runtime.store, outcome.new_job_id, wait)
            click.echo(
                f"  job {job['id']} {job['status']}" + (f": {job['error']}" if job["error"] else "")
            )
            failed |= job["status"] != "succeeded"
    if failed:
        sys.exit(1)


@jobs_group.command("dlq")
@click.pass_context
def jobs_dlq(ctx: click.Context) -> None:
    """The messages in the dead-letter queues, oldest first, with their job rows' status
    (a message without a row is replayable by its message id)."""
    from handlers.jobs.replay import list_dead_letters

    runtime = _runtime(ctx)
    with _broker_errors(runtime.config):
        letters = list_dead_letters(runtime)
    if not letters:
        click.echo("the dead-letter queues are empty")
        return
    with runtime.store.connection() as conn:
        statuses = job_records.statuses(conn, [letter.message_id for letter in letters])
    click.echo(f"{'MESSAGE ID':36}  {'QUEUE':10} {'ACTOR':22} {'DEAD SINCE':19}  JOB")
    for letter in letters:
        dead_at = f"{letter.dead_at:%Y-%m-%d %H:%M:%S}" if letter.dead_at else "-"
        click.echo(
            f"{letter.message_id:36}  {letter.queue:10} {letter.actor:22} {dead_at:19}  "
            f"{statuses.get(letter.message_id, 'no job row')}"
        )


@jobs_group.command("failures")
@click.option("--since", help="Only failures within this long (2h, 7d); default: all open ones.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 1000))
@click.pass_context
def jobs_failures(ctx: click.Context, since: str | None, limit: int) -> None:
    """Open failures grouped by cause (ids and names stripped from the error), the largest
    group first: jobs failed or dead and not replayed, and targets whose last run failed."""
    from handlers.jobs.replay import failure_groups

    with _store(ctx).connection() as conn:
        groups = failure_groups(conn, since=_since(since), limit=limit)
    if not groups:
        click.echo("no open failures")
        return
    click.echo(f"{'COUNT':>5}  {'FIRST':19}  {'LAST':19}  {'SAMPLE JOB':36}  ERROR")
    for group in groups:
        click.echo(
            f"{group.count:>5}  {group.first_at:%Y-%m-%d %H:%M:%S}  "
            f"{group.last_at:%Y-%m-%d %H:%M:%S}  {group.sample_job_id:36}  {group.error}"
        )
        click.echo(f"{'':>5}  actors: {', '.join(group.actors)}; e.g. {group.sample_error}")


@cli.group(
    "mappings", epilog="Example: nzc mappings add by-site --sites ams1 --templates 'ICMP Ping'"
)
def mappings_group() -> None:
    """Mapping rules: which devices and VMs get which templates, groups, proxy, interfaces."""


@mappings_group.command("list")
@click.pass_context
def mappings_list(ctx: click.Context) -> None:
    """Every mapping as JSON, in id order."""
    with _store(ctx).connection() as conn:
        click.echo(_dump(mappings.load_mappings(conn)))


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@mappings_group.command("add")
@click.argument("name")
@click.option(
    "--object-type", type=click.Choice(list(HOST_TYPES)), default=DEVICE, show_default=True
)
@click.option("--sites", help="NetBox site slugs, comma-separated (empty: any)")
@click.option("--roles", help="NetBox role slugs, comma-separated (empty: any)")
@click.option("--platforms", help="NetBox platform slugs, comma-separated (empty: any)")
@click.option("--tags", help="NetBox tag slugs, comma-separated (empty: any)")
@click.option("--templates", help="Zabbix template names, comma-separated")
@click.option(
    "--host-groups",
    help="Zabbix host group names, or templates such as Sites/{region_path}/{site}, "
    "comma-separated",
)
@click.option("--proxy")
@click.option("--proxy-group")
@click.option(
    "--interface-types", default="agent", show_default=True, help=f"of {', '.join(INTERFACE_TYPES)}"
)
@click.option(
    "--create-host-groups",
    is_flag=True,
    help="Accept host groups the mirror does not know: the service creates them on first use.",
)
@click.pass_context
def mappings_add(
    ctx: click.Context,
    name: str,
    object_type: str,
    create_host_groups: bool,
    **options: str | None,
) -> None:
    """Add a mapping rule; the most specific matching rule wins. Templates, host groups,
    proxy and proxy group must be known to the mirrors (`nzc zabbix import`), and the
    interface types must give what the templates' items need."""
    mapping = {
        "name": name,
        "object_type": object_type,
        **{key: _csv(options[key]) for key in ("sites", "roles", "platforms", "tags", "templates")},
        "host_groups": _csv(options["host_groups"]),
        "proxy": options["proxy"],
        "proxy_group": options["proxy_group"],
        "interface_types": _csv(options["interface_types"]),
    }
    try:
        with _store(ctx).connection() as conn:
            added = add_mapping(conn, mapping, create_host_groups=create_host_groups)
    except Refused as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"mapping {added.mapping_id} added; it applies from the next change of each object")
    for group in added.created_host_groups:
        click.echo(f"host group {group!r} is not in the mirror; it will be created on first use")


@mappings_group.command("remove")
@click.argument("mapping_id", type=int)
@click.pass_context
def mappings_remove(ctx: click.Context, mapping_id: int) -> None:
    """Remove a mapping rule by id."""
    with _store(ctx).connection() as conn:
        if not mappings.remove_mapping(conn, mapping_id):
            raise click.ClickException(
                f"no mapping {mapping_id}; `nzc mappings list` shows the ids"
            )
    click.echo(f"mapping {mapping_id} removed")


@cli.group("sync", epilog="Example: nzc sync now --dry-run")
def sync_group() -> None:
    """SyncHostsNow: bring every host in line with NetBox, whatever webhooks were lost."""


@sync_group.command("now")
@click.option("--dry-run", is_flag=True, help="Print what the sync would do; write nothing.")
@click.option(
    "--allow-deletions",
    type=click.IntRange(min=0),
    help="Let this sync delete up to N Zabbix hosts, over the max_deletions setting.",
)
@click.option(
    "--wait",
    default=300.0,
    show_default=True,
    help="Seconds to wait for the sync and the reconcile runs it starts; 0 queues it.",
)
@click.pass_context
def sync_now(ctx: click.Context, dry_run: bool, allow_deletions: int | None, wait: float) -> None:
    """Compare every NetBox device and VM with every Zabbix host of ours, and repair what
    differs, is missing in Zabbix or is orphaned (deleted only with evidence)."""
    if dry_run:
        _sync_dry_run(ctx, allow_deletions)
        return
    job = _send_and_wait(ctx, "sync_hosts", allow_deletions, wait=wait)
    if job is None:
        return
    if job["status"] not in ("succeeded", "partial"):
        _report(job)
    result = job["result"]
    click.echo(_dump(result))
    store = _store(ctx)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        with store.connection() as conn:
            # Every target marked by the time the sync finished (by it, or by events).
            left = conn.execute(
                "SELECT count(*) AS n FROM dirty_targets WHERE first_marked_at <= %s",
                [job["finished_at"]],
            ).fetchone()["n"]
        if not left:
            break
        time.sleep(0.2)
    else:
        raise click.ClickException(
            f"{left} target(s) marked by the sync are not repaired yet; `nzc jobs list "
            "--actor reconcile` shows the runs"
        )
    with store.connection() as conn:
        failed = {
            t: f
            for t, f in target_failures.load(conn).items()
            if f["failed_at"] >= job["enqueued_at"]
        }
    click.echo(f"{result['marked']} target(s) marked; the reconcile runs are done")
    for target, failure in failed.items():
        click.echo(f"failed: {target}: {failure['error']}", err=True)
    if job["status"] == "partial":
        click.echo(f"held back: {result['held']}", err=True)
    if failed or job["status"] == "partial":
        sys.exit(1)


def _sync_dry_run(ctx: click.Context, allow_deletions: int | None) -> None:
    """Plan the sync in this process, in a read-only transaction: nothing is written."""
    from handlers.decide.sync import describe
    from handlers.jobs.sync import dry_run

    runtime = _runtime(ctx, ZABBIX, NETBOX)
    plan, marked = dry_run(runtime.store, runtime.zabbix, runtime.netbox, allow_deletions)
    click.echo(f"dry run: compared {len(plan.steps)} targets; nothing was written")
    if not marked.reasons:
        click.echo("every host is in step with NetBox")
    for line in describe(plan, marked.reasons):
        click.echo(line)
    if marked.held:
        click.echo(f"held back: {marked.held}")


@cli.group("import", epilog="Example: nzc import hosts --all --match name,ip --dry-run")
def import_group() -> None:
    """ImportHost: adopt Zabbix hosts that exist already, keeping their history."""


@import_group.command("hosts")
@click.argument("targets", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every device and VM without a host config.")
@click.option(
    "--match",
    default="name",
    show_default=True,
    help="Find the Zabbix host by name (technical or visible), ip (the primary IP on one of "
    "its interfaces), or name,ip.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be adopted; write nothing.")
@click.option(
    "--wait",
    default=300.0,
    show_default=True,
    help="Seconds to wait for a worker to run the import; 0 queues it and returns.",
)
@click.pass_context
def import_hosts_cmd(
    ctx: click.Context,
    targets: tuple[str, ...],
    every: bool,
    match: str,
    dry_run: bool,
    wait: float,
) -> None:
    """Adopt the existing Zabbix hosts of TARGETs (e.g. dcim.device:42), or of every device
    and VM without a host config (--all): our ownership tag is added and a host config made;
    hostids, interfaces, items and history stay. Exit 1 when a host cannot be adopted."""
    from handlers.decide.adopt import parse_match

    chosen = _targets(targets)
    if not chosen and not every:
        raise click.UsageError("name targets (e.g. dcim.device:42), or give --all")
    try:
        how = parse_match(match)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--match") from None
    if dry_run:
        from handlers.jobs.imports import dry_run as import_dry_run

        runtime = _runtime(ctx, ZABBIX, NETBOX)
        plan, lines = import_dry_run(
            runtime.store, runtime.zabbix, runtime.netbox, chosen, every, how
        )
        click.echo(
            f"dry run: {len(plan.adopt)} to adopt, {len(plan.refused)} refused; nothing was written"
        )
        for line in lines:
            click.echo(line)
        return
    job = _send_and_wait(ctx, "import_hosts", chosen, every=every, match=sorted(how), wait=wait)
    if job is None:
        return
    runs, adopted, refused, store = [], 0, 0, _store(ctx)
    while True:  # a large import goes on in further runs, each adopting up to 1,000 hosts
        if job["status"] not in ("succeeded", "partial"):
            _report(job)
        runs.append(job)
        adopted += len(job["result"]["adopted"])
        refused += len(job["result"]["refused"])
        if not job["result"].get("continued_as"):
            break
        job = _await_job(store, job["result"]["continued_as"], wait)
    click.echo(f"adopted {adopted}, refused {refused}")
    for run in runs:
        for line in run["result"]["lines"]:
            click.echo(line)
    if refused:
        for run in runs:
            if run["result"]["refused"]:
                click.echo(f"details: nzc jobs show {run['id']}", err=True)
        sys.exit(1)


@cli.group(
    "schedules",
    invoke_without_command=True,
    epilog="Example: nzc schedules run sync_hosts --wait 300",
)
@click.pass_context
def schedules_group(ctx: click.Context) -> None:
    """The recurring system jobs: interval (from the settings), last run, outcome and next
    run."""
    if ctx.invoked_subcommand is not None:
        return
    from handlers.jobs.schedules import overview

    with _store(ctx).connection() as conn:
        states = overview(conn)
    click.echo(f"{'JOB':26} {'EVERY':>7}  {'LAST RUN':19}  {'OUTCOME':9}  {'NEXT RUN':19}  JOB ID")
    for state in states:
        last, due = state.last_run_at, state.next_run_at
        click.echo(
            f"{state.name:26} {f'{state.interval_min} min':>7}  "
            f"{f'{last:%Y-%m-%d %H:%M:%S}' if last else 'never':19}  "
            f"{state.last_status or '-':9}  "
            f"{f'{due:%Y-%m-%d %H:%M:%S}' if due else 'next tick':19}  "
            f"{state.last_job_id or '-'}"
        )


@schedules_group.command("run")
@click.argument("name")
@WAIT
@click.pass_context
def schedules_run(ctx: click.Context, name: str, wait: float) -> None:
    """Run system job NAME now (its interval then counts from now)."""
    from handlers.jobs.schedules import run_now

    runtime = _runtime(ctx)
    try:
        with runtime.store.connection() as conn:
            message = run_now(conn, runtime.broker, name)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    if wait <= 0:
        click.echo(f"job {message.message_id} queued; `nzc jobs show {message.message_id}`")
        return
    _report(_await_job(runtime.store, message.message_id, wait))


# -- maintenance windows -------------------------------------------------------------------

#: Scope option (its Python name) -> the window's scope list it fills.
SCOPE_OPTIONS = {
    "host": "hosts",
    "site": "sites",
    "region": "regions",
    "tenant": "tenants",
    "cluster": "clusters",
    "tag": "tags",
    "host_group": "host_groups",
    "proxy": "proxies",
    "proxy_group": "proxy_groups",
}


@cli.group(
    "maintenance",
    epilog="Example: nzc maintenance create patching --site ams1 --duration 2h",
)
def maintenance_group() -> None:
    """Maintenance windows: Zabbix maintenance for the hosts of NetBox devices and VMs (by
    target, site, region, tenant, cluster or tag) or of Zabbix host groups, proxies and
    proxy groups, once or in daily, weekly or monthly periods. A window is checked whole,
    and refused with every problem (exit status 2), before anything is written; the
    maintenance_window job then writes it to Zabbix, and keeps it true as hosts come and go.

    \b
    Example: nzc maintenance create dc1-patch --site dc1 --start 2026-12-06T02:00Z --duration 4h
    """


def _refused(exc: Refused) -> NoReturn:
    """Print a refusal as `nzc mappings add` does (``Error: ... refused:``, then one
    problem a line, on stderr) and exit with status 2: nothing was written."""
    error = click.ClickException(f"{exc.what} refused:\n" + "\n".join(exc.problems))
    error.exit_code = 2
    raise error


def _window_options(*, creating: bool) -> Any:
    """The options of `nzc maintenance create` and `update` (each scope option repeatable;
    in an update, a list option given replaces that list, and an empty value empties it)."""
    start_help = "ISO 8601 with a zone, e.g. 2026-12-06T02:00Z" + (
        " (default: now)" if creating else ""
    )
    options = [
        click.option("--start", help=start_help),
        click.option("--end", help="ISO 8601 with a zone; or --duration"),
        click.option("--duration", help="How long from --start: 90m, 4h, 2d; or --end"),
        click.option(
            "--period",
            multiple=True,
            help="Repeatable: in maintenance only within these periods (times of day on "
            f"the Zabbix server's clock, checked in UTC): {PERIOD_FORMS}. Without: the "
            "whole window." + ("" if creating else " An empty value removes the periods."),
        ),
        click.option(
            "--data/--no-data",
            "collect_data",
            default=None,
            help="Collect data during the maintenance (Zabbix's default), or not.",
        ),
        click.option("--description"),
        *(
            click.option(
                f"--{option.replace('_', '-')}",
                option,
                multiple=True,
                help=f"Repeatable: {SCOPE_KEYS[key]}.",
            )
            for option, key in SCOPE_OPTIONS.items()
        ),
        click.option(
            "--wait",
            default=60.0,
            show_default=True,
            help="Seconds to wait for a worker to write the window to Zabbix; 0 queues the "
            "job and returns.",
        ),
    ]

    def decorate(command: Any) -> Any:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _period(text: str) -> dict[str, Any]:
    """A ``--period`` as the body's period dict, checked as a body's period is."""
    from marshmallow import ValidationError

    from schemas.maintenance import PeriodBodySchema

    try:
        period = parse_period(text)
        PeriodBodySchema().load(period)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    except ValidationError as exc:
        problems = "; ".join(format_errors(exc.messages).splitlines())
        raise click.BadParameter(f"{text!r}: {problems}", param_hint="--period") from None
    return period


def _window_body(options: dict[str, Any]) -> dict[str, Any]:
    """The window body (WindowSchema's fields) of the options given."""
    body: dict[str, Any] = {
        key: options[key]
        for key in ("start", "end", "duration", "description", "collect_data")
        if options[key] is not None
    }
    if options["period"]:
        body["periods"] = [_period(text) for text in options["period"] if text]
    for option, key in SCOPE_OPTIONS.items():
        if options[option]:
            body[key] = [value for value in options[option] if value]
    if body.get("hosts"):
        try:
            body["hosts"] = [parse_target(value) for value in body["hosts"]]
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--host") from None
    return body


def _window_lines(window: dict[str, Any]) -> list[str]:
    """A window in a few lines: span, periods, data collection and scope."""
    from schemas.maintenance import describe_period

    end = f"{window['ends_at']:%Y-%m-%d %H:%M %Z}" if window["ends_at"] else "open-ended"
    data = "collecting data" if window["collect_data"] else "without data collection"
    lines = [f"  {window['starts_at']:%Y-%m-%d %H:%M %Z} to {end}, {data}"]
    if window["periods"]:
        lines.append(f"  periods: {', '.join(describe_period(p) for p in window['periods'])}")
    covers = "; ".join(f"{key} {', '.join(values)}" for key, values in window["scope"].items())
    lines.append(f"  covers: {covers}")
    return lines


def _send_window_job(runtime: Runtime, window_id: int, action: str, recorded: str) -> str:
    """Send the window's job, after the transaction that wrote the window committed; its id."""
    import dramatiq.errors
    import pika.exceptions

    try:
        return runtime.broker.get_actor("maintenance_window").send(window_id, action).message_id
    except (dramatiq.errors.BrokerError, pika.exceptions.AMQPError) as exc:
        raise click.ClickException(
            f"RabbitMQ at {redact_url(runtime.config.broker_url)} (NZC_BROKER_URL) is "
            f"unreachable ({type(exc).__name__}): the {action} job of maintenance window "
            f"{window_id} was not queued; {recorded}"
        ) from None


def _window_job(
    runtime: Runtime, window: dict[str, Any], action: str, wait: float, recorded: str
) -> None:
    """Queue the window's job and, with ``wait``, wait for it: then print the window's
    status and hosts, or the job's error (exit status 1)."""
    from consumer.api.maintenance import window_answer
    from handlers.gateways import maintenance as windows

    job_id = _send_window_job(runtime, window["id"], action, recorded)
    if wait <= 0:
        click.echo(f"job {job_id} queued; `nzc jobs show {job_id}`")
        return
    job = _await_job(runtime.store, job_id, wait)
    with runtime.store.connection() as conn:
        row = windows.find(conn, window["id"])
        after = window_answer(conn, row) if row else None
    failed = after is not None and after["status"] == "failed"
    if job["status"] != "succeeded" or failed:
        error = job["error"] or (after or {}).get("error") or "no error recorded"
        click.echo(f"{job['actor']} {job['status']}: {error}", err=True)
        click.echo(f"details: nzc jobs show {job['id']}", err=True)
        sys.exit(1)
    if after is None:
        click.echo(f"maintenance window {window['name']!r} deleted")
        return
    held = f"in Zabbix maintenance {after['maintenanceid']}" if after["maintenanceid"] else ""
    click.echo(
        f"maintenance window {after['name']!r}: {after['status']}, {after['host_count']} "
        f"host(s)"
        + (f", {len(after['groupids'])} host group(s)" if after["groupids"] else "")
        + (f" {held}" if held else ", none in Zabbix")
    )


def _checked(write: Any) -> Any:
    """Run ``write()``, printing a refusal (exit status 2), or an unknown window or NetBox
    not answering (exit status 1): nothing was written then."""
    import pynetbox
    import requests

    try:
        return write()
    except Refused as exc:
        _refused(exc)
    except OverflowError:
        _refused(Refused("maintenance window", [OUT_OF_RANGE]))
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    except (pynetbox.RequestError, requests.RequestException) as exc:
        raise click.ClickException(
            f"NetBox did not answer as expected ({type(exc).__name__}: {exc}) while the "
            "window's names were checked; nothing was written"
        ) from None


def _written_window(
    runtime: Runtime, write: Callable[[], dict[str, Any]], done: str, wait: float
) -> None:
    """Write a window (refusals printed), print it, and send the job that writes it to
    Zabbix."""
    window = _checked(write)
    click.echo(f"maintenance window {window['id']} {window['name']!r} {done}")
    for line in _window_lines(window):
        click.echo(line)
    recorded = f"the window is {done}, and the maintenance clean-up writes it to Zabbix"
    _window_job(runtime, window, "apply", wait, recorded)


@maintenance_group.command("create")
@click.argument("name")
@_window_options(creating=True)
@click.pass_context
def maintenance_create(ctx: click.Context, name: str, wait: float, **options: Any) -> None:
    """Create maintenance window NAME, from --start (default: now) to --end or for
    --duration, covering what the scope options name (at least one). Names are checked
    against NetBox, the Zabbix mirrors (`nzc zabbix import`) and the host configs. Prints
    the window, then (with --wait) its status and hosts once the job wrote it to Zabbix.

    \b
    Example: nzc maintenance create db-patch --host-group Databases --no-data \\
               --start 2026-12-01T00:00Z --duration 30d --period weekly:sat,sun@02:00/4h
    """
    from consumer.api.maintenance import window_answer
    from handlers.gateways.postgres import database_now
    from handlers.jobs.maintenance import create_window

    body = {"name": name, **_window_body(options)}
    runtime = _runtime(ctx, NETBOX)

    def write() -> dict[str, Any]:
        with runtime.store.connection() as conn:
            body.setdefault("start", database_now(conn).isoformat())
            row = create_window(conn, runtime.netbox, body, _requested_by())
            return window_answer(conn, row)

    _written_window(runtime, write, "created", wait)


@maintenance_group.command("update")
@click.argument("key", metavar="NAME|ID")
@_window_options(creating=False)
@click.pass_context
def maintenance_update(ctx: click.Context, key: str, wait: float, **options: Any) -> None:
    """Change an operator's maintenance window: the options given replace its values (a
    scope option given replaces that list; --duration replaces the end). The changed
    window is checked whole, as a new one is, and written to Zabbix again.

    \b
    Example: nzc maintenance update dc1-patch --end 2026-12-06T08:00Z --site dc1 --site dc2
    """
    from consumer.api.maintenance import window_answer
    from handlers.jobs.maintenance import update_window

    changes = _window_body(options)
    runtime = _runtime(ctx, NETBOX)

    def write() -> dict[str, Any]:
        with runtime.store.connection() as conn:
            return window_answer(conn, update_window(conn, runtime.netbox, key, changes))

    _written_window(runtime, write, "updated", wait)


@maintenance_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="The windows as JSON (as the API has them).")
@click.pass_context
def maintenance_list(ctx: click.Context, as_json: bool) -> None:
    """Every maintenance window, the latest start first: id, name, owner (operator, or
    netbox for the settings' maintenance tags and statuses), status now, span, Zabbix
    hosts held and its Zabbix maintenance.

    \b
    Example: nzc maintenance list --json
    """
    from handlers.decide.maintenance import status_now
    from handlers.gateways import maintenance as windows
    from handlers.gateways.postgres import database_now
    from schemas.maintenance import WindowAnswerSchema

    with _store(ctx).connection() as conn:
        now = database_now(conn)
        rows = [{**row, "status": status_now(row, now)} for row in windows.all_rows(conn)]
    if as_json:
        click.echo(_dump(WindowAnswerSchema(many=True).dump(rows)))
        return
    if not rows:
        click.echo("no maintenance windows; `nzc maintenance create` makes one")
        return
    width = min(max(len(row["name"]) for row in rows), 40)
    click.echo(
        f"{'ID':>5}  {'NAME':{width}}  {'OWNER':8}  {'STATUS':7}  {'START':16}  {'END':16}  "
        f"{'HOSTS':>5}  MAINTENANCEID"
    )
    for row in rows:
        end = f"{row['ends_at']:%Y-%m-%d %H:%M}" if row["ends_at"] else "open"
        click.echo(
            f"{row['id']:>5}  {row['name']:{width}}  {row['owner']:8}  {row['status']:7}  "
            f"{row['starts_at']:%Y-%m-%d %H:%M}  {end:16}  {row['host_count']:>5}  "
            f"{row['maintenanceid'] or '-'}"
        )


@maintenance_group.command("show")
@click.argument("key", metavar="NAME|ID")
@click.pass_context
def maintenance_show(ctx: click.Context, key: str) -> None:
    """One maintenance window in full, as JSON: span, periods, scope, status now, its
    Zabbix maintenance and hosts (hostid and NetBox target), and the error of its last
    write.

    \b
    Example: nzc maintenance show dc1-patch
    """
    from consumer.api.maintenance import window_answer
    from handlers.jobs.maintenance import find_window
    from schemas.maintenance import WindowDetailSchema

    def read() -> dict[str, Any]:
        with _store(ctx).connection() as conn:
            return window_answer(conn, find_window(conn, key))

    click.echo(_dump(WindowDetailSchema().dump(_checked(read))))


@maintenance_group.command("delete")
@click.argument("key", metavar="NAME|ID")
@WAIT
@click.pass_context
def maintenance_delete(ctx: click.Context, key: str, wait: float) -> None:
    """Delete an operator's maintenance window: the job deletes its Zabbix maintenance,
    then the window (a host whose deletion was held back for it is deleted then).

    \b
    Example: nzc maintenance delete dc1-patch
    """
    from handlers.jobs.maintenance import operator_window

    runtime = _runtime(ctx)

    def read() -> dict[str, Any]:
        with runtime.store.connection() as conn:
            return operator_window(conn, key)

    window = _checked(read)
    _window_job(runtime, window, "delete", wait, "nothing was deleted; try again")


@maintenance_group.command("end-now")
@click.argument("key", metavar="NAME|ID")
@WAIT
@click.pass_context
def maintenance_end_now(ctx: click.Context, key: str, wait: float) -> None:
    """End an operator's maintenance window now (one not begun yet is cancelled): its end
    is recorded as now, and the job deletes its Zabbix maintenance. The window stays
    listed, expired, until the retention (maintenance_retention_days) purges it.

    \b
    Example: nzc maintenance end-now dc1-patch
    """
    from handlers.decide.maintenance import EXPIRED
    from handlers.gateways import maintenance as windows
    from handlers.jobs.maintenance import operator_window

    runtime = _runtime(ctx)

    def end() -> dict[str, Any]:
        with runtime.store.connection() as conn:
            row = operator_window(conn, key)
            if row["status"] == EXPIRED:
                raise Refused("maintenance window", [f"{row['name']!r} has ended already"])
            windows.end_now(conn, row["id"])
            return row

    window = _checked(end)
    click.echo(f"maintenance window {window['id']} {window['name']!r} ends now")
    recorded = "its end is recorded, and the maintenance clean-up ends it in Zabbix"
    _window_job(runtime, window, "end", wait, recorded)


@cli.group("metrics", epilog="Example: nzc metrics serve --bind 127.0.0.1:9464")
def metrics_group() -> None:
    """Prometheus metrics (the web port serves them at /metrics)."""


@metrics_group.command("serve")
@click.option(
    "--bind",
    default="0.0.0.0:9464",
    show_default=True,
    help="HOST:PORT to serve /metrics on.",
)
@click.pass_context
def metrics_serve(ctx: click.Context, bind: str) -> None:
    """Serve the metrics of this machine's workers and scheduler (every process kind under
    NZC_METRICS_DIR), for a machine that runs no web process. Not the service's state
    (dirty targets, dead letters): the web's /metrics has those."""
    from consumer.metrics import serve

    metrics_dir = _config(ctx).metrics_dir
    if not metrics_dir:
        raise click.ClickException(
            "NZC_METRICS_DIR is not set: set it to the directory the worker writes its "
            "metrics under (the Procfile's default is .run/metrics in its folder). "
            "Example: NZC_METRICS_DIR=/run/nzc/metrics"
        )
    host, _, port = bind.rpartition(":")
    if not port.isdigit() or not host:
        raise click.BadParameter(f"expected HOST:PORT, got {bind!r}", param_hint="--bind")
    serve(metrics_dir, host, int(port))


def main() -> None:
    try:
        load_settings_file()
    except ConfigError as exc:
        raise SystemExit(f"Error: configuration error: {exc}") from None
    cli(prog_name="nzc")
