import pytest

from handlers.config import DEFAULTS, ConfigError, load_config, redact_url

BASE = {"NZC_ZABBIX_TOKEN": "t" * 64}


def test_defaults_point_at_the_local_services():
    config = load_config(BASE)
    assert config.database_url == DEFAULTS["NZC_DATABASE_URL"]
    assert config.broker_url.startswith("amqp://guest:guest@127.0.0.1:5672")
    assert config.zabbix_url == "http://127.0.0.1:8070/api_jsonrpc.php"
    assert config.log_level == "INFO"
    assert config.webhook_max_bytes == 1024 * 1024


def test_missing_zabbix_credentials_name_the_variables_and_an_example():
    with pytest.raises(ConfigError) as err:
        load_config({})
    message = str(err.value)
    assert "NZC_ZABBIX_TOKEN" in message
    assert "NZC_ZABBIX_USER" in message and "NZC_ZABBIX_PASSWORD" in message
    assert "Example" in message


def test_user_and_password_are_accepted_instead_of_a_token():
    config = load_config({"NZC_ZABBIX_USER": "Admin", "NZC_ZABBIX_PASSWORD": "zabbix"})
    assert config.zabbix_token is None and config.zabbix_user == "Admin"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NZC_DATABASE_URL", "mysql://x@db/nzc"),
        ("NZC_DATABASE_URL", "not a url"),
        ("NZC_BROKER_URL", "http://127.0.0.1:5672"),
        ("NZC_NETBOX_URL", "netbox.example.net"),
        ("NZC_ZABBIX_URL", "http://127.0.0.1:notaport/api_jsonrpc.php"),
        ("NZC_LOG_LEVEL", "LOUD"),
        ("NZC_WEBHOOK_MAX_BYTES", "lots"),
        ("NZC_WEBHOOK_INSECURE", "maybe"),
        ("NZC_METRICS", "maybe"),
        ("NZC_METRICS_DIR", "relative/metrics"),
    ],
)
def test_a_malformed_value_names_the_variable_and_gives_an_example(name, value):
    with pytest.raises(ConfigError) as err:
        load_config({**BASE, name: value})
    assert str(err.value).startswith(name)
    assert f"Example: {name}=" in str(err.value)


def test_errors_and_repr_never_show_passwords():
    with pytest.raises(ConfigError) as err:
        load_config({**BASE, "NZC_DATABASE_URL": "mysql://nzc:hunter2@db/nzc"})
    assert "hunter2" not in str(err.value)
    config = load_config({**BASE, "NZC_DATABASE_URL": "postgresql://nzc:hunter2@db/nzc"})
    assert "hunter2" not in repr(config)
    assert "t" * 64 not in repr(config)


def test_redact_url_keeps_user_and_host():
    assert (
        redact_url("amqp://guest:guest@127.0.0.1:5672/%2F") == "amqp://guest:***@127.0.0.1:5672/%2F"
    )
    assert redact_url("http://127.0.0.1:8070/x") == "http://127.0.0.1:8070/x"


def test_metrics_are_on_unless_nzc_metrics_turns_them_off():
    assert load_config(BASE).metrics is True
    assert load_config({**BASE, "NZC_METRICS": "1"}).metrics is True
    assert load_config({**BASE, "NZC_METRICS": "0"}).metrics is False
    assert load_config({**BASE, "NZC_METRICS": "no"}).metrics is False
    assert load_config(BASE).metrics_dir is None
    assert load_config({**BASE, "NZC_METRICS_DIR": "/run/nzc"}).metrics_dir == "/run/nzc"
