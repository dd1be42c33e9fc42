"""No secret anywhere: a create -> update -> failure -> replay cycle with every secret set
to a recognisable value, then every log line, job row, event-log entry, API answer and
metric searched for them."""

import io
import json
import logging

import pytest

from consumer.app import create_app
from consumer.wiring import configure_logging
from tests.conftest import zabbix_token
from tests.integration.test_host_jobs import nzc
from tests.integration.test_settings_and_cli import restore_settings  # noqa: F401 -- fixture
from tests.integration.zabbix_stack import one_host
from tests.waiting import job_in, wait_for

pytestmark = pytest.mark.integration

#: Every secret of the configuration, each a value that cannot occur by chance. Zabbix is
#: logged in to with a user and password (its Admin's password changed to this one), so
#: that the password is used, not only configured.
SECRETS = {
    "NZC_WEBHOOK_SECRET": "whsec-Recognisable-7f3a",
    "NZC_ADMIN_TOKEN": "admtok-Recognisable-91c2",
    "NZC_NETBOX_TOKEN": "nbtok-Recognisable-0d4e",
    "NZC_ZABBIX_PASSWORD": "zbxpw-Recognisable-55e1",
}
DB_PASSWORD = "dbpw-Recognisable-3b7c"  # Postgres trusts loopback: any password connects
#: SNMPv3 passphrases in the settings, literal (not macros): they reach Zabbix, and
#: nowhere else.
SNMP_SECRETS = {
    "snmpv3_authpassphrase": "snmpauth-Recognisable-1a2b",
    "snmpv3_privpassphrase": "snmppriv-Recognisable-3c4d",
}
TEMPLATE = "NZC Secret Cycle Template"


@pytest.fixture
def stack_env(database_url, zabbix):
    zabbix.call(
        "user.update",
        {"userid": "1", "passwd": SECRETS["NZC_ZABBIX_PASSWORD"], "current_passwd": "zabbix"},
    )
    scheme, rest = database_url.split("://", 1)
    user = rest.split("@", 1)[0].split(":")[0] if "@" in rest else "nzc"
    return {
        **SECRETS,
        "NZC_ZABBIX_TOKEN": "",
        "NZC_ZABBIX_USER": "Admin",
        "NZC_DATABASE_URL": f"{scheme}://{user}:{DB_PASSWORD}@{rest.split('@', 1)[-1]}",
    }


@pytest.fixture
def log_lines(stack):
    """Every log line of the service's processes in this test, formatted as in production
    (JSON with the log context) but without the secret filter: what the code logs itself."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    level = root.level
    configure_logging("DEBUG", "json")  # no config: no secret filter
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.parametrize("zabbix_version", ["7.0"])
def test_no_secret_appears_in_logs_job_rows_events_api_answers_or_metrics(stack, db, log_lines):
    sim, runtime, zabbix = stack
    secrets = {
        **SECRETS,
        **SNMP_SECRETS,
        "NZC_DATABASE_URL password": DB_PASSWORD,
        "the Zabbix API token of the test set-up": zabbix_token("7.0"),
    }
    db.execute(
        "UPDATE settings SET snmpv3_securitylevel = 'authPriv', snmpv3_authpassphrase = %s,"
        " snmpv3_privpassphrase = %s",
        list(SNMP_SECRETS.values()),
    )
    api = create_app(runtime=runtime, start_relay=False).test_client()
    auth = {"Authorization": f"Bearer {SECRETS['NZC_ADMIN_TOKEN']}"}
    outputs = []

    # Create, update.
    dev = sim.sim.create_device("secret-01", ip="10.0.62.1/24")
    target = f"dcim.device:{dev}"
    wait_for(lambda: one_host(zabbix, "secret-01"), "the host")
    sim.sim.update_device(dev, name="secret-01-renamed")
    wait_for(lambda: one_host(zabbix, "secret-01-renamed"), "the rename")
    stack.settle()
    code, out, err = nzc(stack, "provision", "snmp", target, "--version", "v3")
    assert code == 0, err
    outputs.append(out + err)
    (snmp,) = zabbix.call(
        "hostinterface.get", {"hostids": [one_host(zabbix, "secret-01-renamed")["hostid"]]}
    )
    assert snmp["details"]["authpassphrase"] == SNMP_SECRETS["snmpv3_authpassphrase"]

    # Failure: a template Zabbix does not have; then fixed, and replayed through the API.
    sim.sim.update_host("device", dev, custom_fields={"zabbix_templates": [TEMPLATE]})
    stack.settle()
    failed = runtime.broker.get_actor("update_zabbix_host").send(target).message_id
    job_in(db, failed, {"dead"})
    code, out, err = nzc(stack, "jobs", "failures", wait=False)
    outputs.append(out + err)
    groupid = zabbix.call("templategroup.get", {"filter": {"name": ["Templates"]}})[0]["groupid"]
    zabbix.call("template.create", {"host": TEMPLATE, "groups": [{"groupid": groupid}]})
    answer = api.post(f"/api/v1/jobs/{failed}/replay", json={"reason": "fixed"}, headers=auth)
    assert answer.status_code in (200, 202), answer.get_json()
    replayed = json.dumps(answer.get_json())
    new_id = answer.get_json()["outcomes"][0]["new_job_id"]
    job_in(db, new_id, {"succeeded"})
    stack.settle()

    code, out, err = nzc(stack, "jobs", "show", new_id, wait=False)
    outputs.append(out + err)
    code, out, err = nzc(stack, "settings", "show", wait=False)
    outputs.append(out + err)

    answers = [replayed]
    for path in (
        "/api/v1/jobs?limit=500",
        f"/api/v1/jobs/{failed}",
        f"/api/v1/jobs/{new_id}",
        "/api/v1/jobs/failures",
        "/api/v1/settings",
        "/api/v1/hosts",
        f"/api/v1/hosts/{target}",
        "/api/v1/schedules",
        "/api/v1/mappings",
    ):
        response = api.get(path, headers=auth)
        assert response.status_code == 200, (path, response.get_json())
        answers.append(response.get_data(as_text=True))
    answers.append(api.get("/api/v1/nowhere", headers={"Authorization": "Bearer wrong"}).text)
    metrics = api.get("/metrics").get_data(as_text=True)
    assert "nzc_" in metrics

    rows = db.execute(
        "SELECT row_to_json(j)::text AS t FROM jobs j WHERE enqueued_at >= %s", [stack.since]
    ).fetchall()
    configs = db.execute("SELECT row_to_json(h)::text AS t FROM host_configs h").fetchall()
    events = db.execute(
        "SELECT row_to_json(e)::text AS t FROM event_log e WHERE created_at >= %s",
        [stack.since],
    ).fetchall()
    assert len(rows) > 5 and len(events) > 5  # the cycle left its records
    logged = log_lines.getvalue()
    assert f'"job_id": "{new_id}"' in logged  # the log lines are there to search
    places = {
        "log lines": logged,
        "job rows": "\n".join(r["t"] for r in rows),
        "event log": "\n".join(e["t"] for e in events),
        "host configs": "\n".join(c["t"] for c in configs),
        "API answers": "\n".join(answers),
        "metrics": metrics,
        "CLI output": "\n".join(outputs),
    }
    leaks = [
        f"{name} in {place}"
        for name, value in secrets.items()
        for place, text in places.items()
        if value in text
    ]
    assert not leaks
