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
        ("NZC_DATABASE_IDLE_TIMEOUT_S", "0"),
        ("NZC_DATABASE_IDLE_TIMEOUT_S", "3m"),
        ("NZC_WEB_MAX_CONCURRENT", "0"),
        ("NZC_WEB_MAX_CONCURRENT", "many"),
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


def test_a_command_checks_only_what_it_needs():
    from handlers.config import BROKER, DATABASE, ZABBIX

    # Reading job rows needs the database only: no Zabbix credentials, a broken Zabbix URL.
    broken = {"NZC_ZABBIX_URL": "zabbix.example.net", "NZC_JOB_MAX_RETRIES": "many"}
    config = load_config(broken, needs={DATABASE})
    assert config.database_url == DEFAULTS["NZC_DATABASE_URL"]
    with pytest.raises(ConfigError, match="Zabbix credentials are missing"):
        load_config(broken, needs={DATABASE, ZABBIX})
    with pytest.raises(ConfigError, match="NZC_JOB_MAX_RETRIES"):
        load_config(broken, needs={DATABASE, BROKER})
    with pytest.raises(ConfigError, match="NZC_DATABASE_URL"):
        load_config({"NZC_DATABASE_URL": "mysql://db/nzc"}, needs={DATABASE})
    # Unchecked parts are not trusted later: the Zabbix client demands credentials itself.
    from handlers.config import require_zabbix

    with pytest.raises(ConfigError, match="NZC_ZABBIX_TOKEN"):
        require_zabbix(config)


def test_the_settings_file_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    import os

    from handlers.config import load_settings_file, settings_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NZC_ENV_FILE", raising=False)
    assert settings_file() is None  # no .env here
    (tmp_path / ".env").write_text("NZC_LOG_LEVEL=DEBUG\nNZC_NETBOX_TOKEN=from-file\n")
    monkeypatch.setenv("NZC_LOG_LEVEL", "ERROR")
    monkeypatch.setenv("NZC_NETBOX_TOKEN", "")  # recorded, so the file's value is undone too
    monkeypatch.delenv("NZC_NETBOX_TOKEN")
    assert load_settings_file() == tmp_path / ".env"
    assert os.environ["NZC_LOG_LEVEL"] == "ERROR" and os.environ["NZC_NETBOX_TOKEN"] == "from-file"
    # NZC_ENV_FILE names another file, or none at all.
    other = tmp_path / "prod.env"
    other.write_text("NZC_ADMIN_TOKEN=x\n")
    monkeypatch.setenv("NZC_ENV_FILE", str(other))
    assert settings_file() == other
    monkeypatch.setenv("NZC_ENV_FILE", "")
    assert settings_file() is None
    monkeypatch.setenv("NZC_ENV_FILE", str(tmp_path / "typo.env"))
    with pytest.raises(ConfigError, match="NZC_ENV_FILE names no file"):
        settings_file()


def test_the_settings_file_gives_nzc_variables_only_and_literally(tmp_path, monkeypatch):
    import os

    from handlers.config import load_settings_file

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NZC_ENV_FILE", raising=False)
    (tmp_path / ".env").write_text("PGHOST=elsewhere\nNZC_ADMIN_TOKEN=a$b${HOME}\n")
    for name in ("PGHOST", "NZC_ADMIN_TOKEN"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    load_settings_file()
    assert "PGHOST" not in os.environ
    assert os.environ["NZC_ADMIN_TOKEN"] == "a$b${HOME}"


def test_each_secret_may_come_from_a_file(tmp_path):
    from handlers.config import SECRET_VARIABLES

    token = tmp_path / "zabbix-token"
    token.write_text("f" * 64 + "\n")  # as `echo` or systemd-creds writes it
    url = tmp_path / "db-url"
    url.write_text("postgresql://nzc:s3cret@db.example.net/nzc\n")
    config = load_config({"NZC_ZABBIX_TOKEN_FILE": str(token), "NZC_DATABASE_URL_FILE": str(url)})
    assert config.zabbix_token == "f" * 64
    assert config.database_url == "postgresql://nzc:s3cret@db.example.net/nzc"
    assert "s3cret" in config.secrets()  # masked in logs like any other secret
    assert {"NZC_WEBHOOK_SECRET", "NZC_ADMIN_TOKEN", "NZC_NETBOX_TOKEN"} <= set(SECRET_VARIABLES)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"NZC_ZABBIX_TOKEN": "t", "NZC_ZABBIX_TOKEN_FILE": "/x"}, "both set: keep one"),
        ({"NZC_ZABBIX_TOKEN_FILE": "/nonexistent/token"}, "NZC_ZABBIX_TOKEN_FILE names a file"),
    ],
)
def test_a_secret_file_that_cannot_serve_is_named(env, says):
    with pytest.raises(ConfigError, match=says):
        load_config(env)


def test_an_empty_secret_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigError, match="NZC_ADMIN_TOKEN_FILE names an empty file"):
        load_config({**BASE, "NZC_ADMIN_TOKEN_FILE": str(empty)})


def test_the_idle_timeout_and_the_concurrency_limit_have_defaults_and_are_read():
    assert (load_config(BASE).database_idle_timeout_s, load_config(BASE).web_max_concurrent) == (
        660,
        7,
    )
    config = load_config(
        {**BASE, "NZC_DATABASE_IDLE_TIMEOUT_S": "30", "NZC_WEB_MAX_CONCURRENT": "3"}
    )
    assert (config.database_idle_timeout_s, config.web_max_concurrent) == (30, 3)
