"""Settings validation and the nzc commands over the real database."""

import itertools

import pytest
from click.testing import CliRunner

from consumer.cli import cli
from handlers.gateways.settings import SettingsError, read_settings, update_settings
from tests.conftest import make_env
from tests.integration.zabbix_stack import MIRRORS

pytestmark = pytest.mark.integration


@pytest.fixture
def run_nzc(database_url):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, list(args), env=make_env(database_url), catch_exceptions=False)

    return run


@pytest.fixture
def restore_settings(db):
    before = db.execute("SELECT * FROM settings").fetchone()
    yield
    assert before is not None
    db.execute("DELETE FROM settings")
    columns = list(before)
    db.execute(
        f"INSERT INTO settings ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
        list(before.values()),
    )


@pytest.fixture
def mirror(db):
    """Empty mirrors, and ``mirror(table, name, **columns)`` to add a row to one; emptied
    again afterwards."""
    for table in MIRRORS:
        db.execute(f"DELETE FROM {table}")
    ids = itertools.count(1)

    def add(table, name, **columns):
        columns = {"id": str(next(ids)), "name": name, **columns}
        if table == "zabbix_templates":
            columns.setdefault("visible_name", name)
        placeholders = ", ".join(["%s"] * len(columns))
        db.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            list(columns.values()),
        )
        return columns["id"]

    yield add
    for table in MIRRORS:
        db.execute(f"DELETE FROM {table}")


@pytest.fixture
def zabbix_catalog(mirror):
    """A small mirror: the templates and host group the mapping tests name."""
    mirror("zabbix_templates", "ICMP Ping")
    generic = mirror("zabbix_templates", "Generic by SNMP", interface_kinds=["snmp"])
    mirror("zabbix_templates", "Cisco IOS by SNMP", parent_ids=[generic])
    mirror("zabbix_templates", "Linux by Zabbix agent", interface_kinds=["agent"])
    mirror("zabbix_host_groups", "Core")
    return mirror


def test_invalid_settings_are_refused_naming_each_field_and_nothing_is_written(
    db, restore_settings
):
    before = read_settings(db)
    with pytest.raises(SettingsError) as err:
        update_settings(db, {"delete_mode": "purge", "agent_port": 70000, "max_deletions": 5})
    message = str(err.value)
    assert "delete_mode: Must be one of: soft, hard." in message
    assert "agent_port:" in message
    assert read_settings(db) == before


def test_a_status_cannot_both_monitor_and_remove_a_host(db, restore_settings):
    with pytest.raises(SettingsError) as err:
        update_settings(db, {"removed_statuses": ["decommissioning", "active"]})
    assert "'active' is in both monitored_statuses and removed_statuses" in str(err.value)
    assert read_settings(db)["removed_statuses"] == ["decommissioning"]


def test_valid_settings_are_written(db, restore_settings):
    after = update_settings(db, {"delete_mode": "hard", "sync_refresh_interval_min": 1440})
    assert after["delete_mode"] == "hard" and after["sync_refresh_interval_min"] == 1440
    assert read_settings(db)["delete_mode"] == "hard"


def test_nzc_settings_set_refuses_a_bad_value_with_the_allowed_ones(run_nzc, db, restore_settings):
    result = run_nzc("settings", "set", "tag_name_format", "shout")
    assert result.exit_code == 1
    assert "tag_name_format: Must be one of: keep, upper, lower." in result.output
    assert read_settings(db)["tag_name_format"] == "keep"

    result = run_nzc("settings", "set", "no_such_setting", "1")
    assert result.exit_code == 1 and "unknown setting; known settings:" in result.output

    result = run_nzc("settings", "set", "max_deletions", "many")
    assert result.exit_code == 1 and "max_deletions: must be a whole number" in result.output


def test_nzc_settings_set_and_show_round_trip_lists_and_mask_secrets(run_nzc, restore_settings):
    # "staged" disables hosts by default: it must leave disabled_statuses first.
    assert run_nzc("settings", "set", "monitored_statuses", "active, staged").exit_code == 1
    assert run_nzc("settings", "set", "disabled_statuses", "offline,failed").exit_code == 0
    assert run_nzc("settings", "set", "monitored_statuses", "active,staged").exit_code == 0
    assert run_nzc("settings", "set", "tls_psk", "ab" * 16).output == "tls_psk = ***\n"
    shown = run_nzc("settings", "show").output
    assert '"monitored_statuses": [\n    "active",\n    "staged"\n  ]' in shown
    assert '"tls_psk": "***"' in shown and "ab" * 16 not in shown


def test_nzc_jobs_list_and_show_display_what_the_runner_recorded(run_nzc, db):
    db.execute(
        "INSERT INTO jobs (id, actor, queue, targets, status, attempts, started_at, finished_at,"
        " duration_ms, error) VALUES ('job-cli-1', 'ping', 'nzc-system', '{dcim.device:5}',"
        " 'failed', 2, now(), now(), 12.5, 'RuntimeError: nope')"
    )
    listed = run_nzc("jobs", "list", "--status", "failed", "--target", "dcim.device:5").output
    assert "job-cli-1" in listed and "failed" in listed and "12.5" in listed
    assert "job-cli-1" not in run_nzc("jobs", "list", "--status", "succeeded").output
    shown = run_nzc("jobs", "show", "job-cli-1").output
    assert '"error": "RuntimeError: nope"' in shown
    missing = run_nzc("jobs", "show", "nope")
    assert missing.exit_code == 1 and "nzc jobs list" in missing.output


def test_nzc_reports_a_configuration_error_by_variable(database_url):
    env = {**make_env(database_url), "NZC_LOG_LEVEL": "LOUD"}
    result = CliRunner().invoke(cli, ["jobs", "list"], env=env)
    assert result.exit_code == 1
    assert "configuration error: NZC_LOG_LEVEL must be one of" in result.output


def test_nzc_mappings_add_list_and_remove(run_nzc, db, zabbix_catalog):
    result = run_nzc(
        "mappings",
        "add",
        "core switches",
        "--sites",
        "dc1-ams",
        "--roles",
        "core-switch",
        "--templates",
        "Cisco IOS by SNMP,ICMP Ping",
        "--host-groups",
        "Core",
        "--interface-types",
        "snmpv2c",
    )
    assert result.exit_code == 0, result.output
    mapping_id = int(result.output.split()[1])
    row = db.execute("SELECT * FROM mappings WHERE id = %s", [mapping_id]).fetchone()
    assert row["sites"] == ["dc1-ams"] and row["templates"] == ["Cisco IOS by SNMP", "ICMP Ping"]
    assert row["interface_types"] == ["snmpv2c"] and not row["is_default"]
    assert '"name": "core switches"' in run_nzc("mappings", "list").output
    again = run_nzc("mappings", "add", "core switches")
    assert again.exit_code == 1 and "exists" in again.output
    bad = run_nzc("mappings", "add", "x", "--interface-types", "ipmi")
    assert bad.exit_code == 1 and "--interface-types" in bad.output
    assert run_nzc("mappings", "remove", str(mapping_id)).exit_code == 0
    assert (
        db.execute("SELECT count(*) AS n FROM mappings WHERE id = %s", [mapping_id]).fetchone()["n"]
        == 0
    )
    assert run_nzc("mappings", "remove", str(mapping_id)).exit_code == 1


def test_a_custom_netbox_status_is_accepted_with_a_warning_naming_the_built_in_ones(
    run_nzc, db, restore_settings
):
    result = run_nzc("settings", "set", "disabled_statuses", "offline,planned,maintenance")
    assert result.exit_code == 0, result.output
    assert read_settings(db)["disabled_statuses"] == ["offline", "planned", "maintenance"]
    assert "warning: disabled_statuses: 'maintenance' is not a built-in NetBox status" in (
        result.stderr
    )
    assert "offline, active, planned" in result.stderr
    refused = run_nzc("settings", "set", "removed_statuses", "gone for good")
    assert refused.exit_code == 1
    assert "must be a NetBox status slug" in refused.output


def mapping_count(db):
    return db.execute("SELECT count(*) AS n FROM mappings").fetchone()["n"]


def test_nzc_mappings_add_refuses_a_misspelt_template_naming_the_closest(
    run_nzc, db, zabbix_catalog
):
    before = mapping_count(db)
    result = run_nzc("mappings", "add", "pingers", "--templates", "ICMP Pnig")
    assert result.exit_code == 1
    assert (
        "--templates: 'ICMP Pnig' is not a Zabbix template known to the mirror; closest: "
        "'ICMP Ping'. Run `nzc zabbix import` if it was added in Zabbix since the last import"
    ) in result.output
    assert mapping_count(db) == before


def test_nzc_mappings_add_refuses_a_template_whose_linked_template_needs_snmp_on_agent(
    run_nzc, db, zabbix_catalog
):
    before = mapping_count(db)
    result = run_nzc("mappings", "add", "ios", "--templates", "Cisco IOS by SNMP")
    assert result.exit_code == 1
    assert (
        "--templates: 'Cisco IOS by SNMP' needs an SNMP interface (through its linked template"
        " 'Generic by SNMP'), but --interface-types agent has no SNMP type" in result.output
    )
    refused = run_nzc(
        "mappings",
        "add",
        "linux",
        "--templates",
        "Linux by Zabbix agent",
        "--interface-types",
        "snmpv3",
    )
    assert refused.exit_code == 1
    assert "'Linux by Zabbix agent' needs a Zabbix agent interface" in refused.output
    assert mapping_count(db) == before


def test_nzc_mappings_add_refuses_an_unknown_host_group_unless_told_to_create_it(
    run_nzc, db, zabbix_catalog
):
    args = ("mappings", "add", "edge", "--host-groups", "Core,Edge")
    refused = run_nzc(*args)
    assert refused.exit_code == 1
    assert "--host-groups: 'Edge' is not a Zabbix host group known to the mirror" in (
        refused.output
    )
    assert "(or give --create-host-groups to create it)" in refused.output
    assert db.execute("SELECT count(*) AS n FROM mappings WHERE name = 'edge'").fetchone()["n"] == 0

    accepted = run_nzc(*args, "--create-host-groups")
    assert accepted.exit_code == 0, accepted.output
    assert "host group 'Edge' is not in the mirror; it will be created on first use" in (
        accepted.output
    )
    assert "'Core'" not in accepted.output
    row = db.execute("SELECT * FROM mappings WHERE name = 'edge'").fetchone()
    assert row["host_groups"] == ["Core", "Edge"]
    db.execute("DELETE FROM mappings WHERE id = %s", [row["id"]])


def test_nzc_mappings_add_refuses_an_unknown_proxy_and_proxy_group(run_nzc, db, zabbix_catalog):
    zabbix_catalog("zabbix_proxies", "proxy-ams")
    zabbix_catalog("zabbix_proxy_groups", "ams")
    before = mapping_count(db)
    result = run_nzc("mappings", "add", "ams", "--proxy", "proxy-asm", "--proxy-group", "rtm")
    assert result.exit_code == 1
    assert (
        "--proxy: 'proxy-asm' is not a Zabbix proxy known to the mirror; closest: 'proxy-ams'"
        in result.output
    )
    assert (
        "--proxy-group: 'rtm' is not a Zabbix proxy group known to the mirror; none is close"
        in (result.output)
    )
    assert mapping_count(db) == before
    ok = run_nzc("mappings", "add", "ams", "--proxy", "proxy-ams", "--proxy-group", "ams")
    assert ok.exit_code == 0, ok.output
    db.execute("DELETE FROM mappings WHERE name = 'ams'")


def test_nzc_mappings_add_against_an_empty_mirror_says_to_import_first(run_nzc, db, mirror):
    before = mapping_count(db)
    result = run_nzc("mappings", "add", "pingers", "--templates", "ICMP Ping")
    assert result.exit_code == 1
    assert (
        "--templates: 'ICMP Ping' cannot be checked: no templates are mirrored; "
        "run `nzc zabbix import` first" in result.output
    )
    assert mapping_count(db) == before


def test_nzc_settings_set_graveyard_group_refuses_an_unknown_group_unless_told_to_create_it(
    run_nzc, db, restore_settings, zabbix_catalog
):
    before = read_settings(db)["graveyard_group"]
    refused = run_nzc("settings", "set", "graveyard_group", "Cor")
    assert refused.exit_code == 1
    assert (
        "graveyard_group: 'Cor' is not a Zabbix host group known to the mirror; closest: 'Core'"
        in refused.output
    )
    assert read_settings(db)["graveyard_group"] == before

    accepted = run_nzc("settings", "set", "graveyard_group", "Graveyard", "--create-host-groups")
    assert accepted.exit_code == 0, accepted.output
    assert "host group 'Graveyard' is not in the mirror; it will be created on first use" in (
        accepted.output
    )
    assert read_settings(db)["graveyard_group"] == "Graveyard"
    assert (
        run_nzc("settings", "set", "graveyard_group", "Core").output == 'graveyard_group = "Core"\n'
    )


def test_nzc_settings_set_graveyard_group_against_an_empty_mirror_says_to_import_first(
    run_nzc, db, restore_settings, mirror
):
    result = run_nzc("settings", "set", "graveyard_group", "Archive")
    assert result.exit_code == 1
    assert "no host groups are mirrored; run `nzc zabbix import` first" in result.output


def test_a_command_demands_only_the_settings_it_uses(database_url, db):
    """No Zabbix credentials and a broken Zabbix URL: commands that never reach Zabbix work;
    one that reads Zabbix itself stops first, naming the variables."""
    env = {
        **make_env(database_url, NZC_ZABBIX_URL="zabbix.example.net"),
        "NZC_ZABBIX_TOKEN": None,
        "NZC_ZABBIX_USER": None,
        "NZC_ZABBIX_PASSWORD": None,
    }
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    shown = runner.invoke(cli, ["settings", "show"], env=env)
    assert shown.exit_code == 0 and '"delete_mode"' in shown.output
    # ping needs Postgres and RabbitMQ only: its job is sent (no worker here to run it).
    before = db.execute("SELECT count(*) AS n FROM jobs WHERE actor = 'ping'").fetchone()["n"]
    ping = runner.invoke(cli, ["ping", "--wait", "0.2"], env=env)
    assert "configuration error" not in ping.output
    after = db.execute("SELECT count(*) AS n FROM jobs WHERE actor = 'ping'").fetchone()["n"]
    assert after == before + 1
    dry = runner.invoke(cli, ["sync", "now", "--dry-run"], env=env)
    assert dry.exit_code == 1
    assert "configuration error: Zabbix credentials are missing: set NZC_ZABBIX_TOKEN" in (
        dry.output
    )
    token = runner.invoke(cli, ["sync", "now", "--dry-run"], env={**env, "NZC_ZABBIX_TOKEN": "t"})
    assert "configuration error: NZC_ZABBIX_URL is not a valid URL" in token.output
