"""Settings from the environment, validated once at start-up.

The ``NZC_*`` names are a public contract: deployments and the README use them. A missing
or malformed value raises :class:`ConfigError`, whose message names the variable and shows
an example, so the process stops with something an operator can act on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from dotenv import dotenv_values

#: Log levels accepted by NZC_LOG_LEVEL.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: Line formats accepted by NZC_LOG_FORMAT.
LOG_FORMATS = ("text", "json")

#: Defaults point at the local services that ``make run`` / ``make test`` set up.
DEFAULTS = {
    "NZC_DATABASE_URL": "postgresql://nzc:nzc@127.0.0.1:5432/nzc",
    "NZC_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
    "NZC_NETBOX_URL": "http://127.0.0.1:8001",
    "NZC_ZABBIX_URL": "http://127.0.0.1:8070/api_jsonrpc.php",
    "NZC_LOG_LEVEL": "INFO",
    "NZC_WEBHOOK_MAX_BYTES": str(1024 * 1024),
    "NZC_JOB_MAX_RETRIES": "8",
    "NZC_JOB_MIN_BACKOFF_MS": "5000",
    "NZC_DATABASE_IDLE_TIMEOUT_S": "660",
    "NZC_WEB_MAX_CONCURRENT": "7",
}

EXAMPLES = {
    "NZC_DATABASE_URL": "postgresql://nzc:secret@db.example.net:5432/nzc",
    "NZC_BROKER_URL": "amqp://nzc:secret@mq.example.net:5672/%2F",
    "NZC_NETBOX_URL": "https://netbox.example.net",
    "NZC_NETBOX_TOKEN": "0123456789abcdef0123456789abcdef01234567",
    "NZC_ZABBIX_URL": "https://zabbix.example.net/api_jsonrpc.php",
    "NZC_ZABBIX_TOKEN": "a 64-character API token from Zabbix (User settings > API tokens)",
    "NZC_LOG_LEVEL": "INFO",
    "NZC_LOG_FORMAT": "json",
    "NZC_WEBHOOK_MAX_BYTES": "1048576",
    "NZC_JOB_MAX_RETRIES": "8",
    "NZC_JOB_MIN_BACKOFF_MS": "5000",
    "NZC_DATABASE_IDLE_TIMEOUT_S": "660",
    "NZC_WEB_MAX_CONCURRENT": "7",
    "NZC_METRICS": "0",
    "NZC_METRICS_DIR": "/run/nzc/metrics",
    "NZC_CA_BUNDLE": "/etc/ssl/certs/acme-ca.pem",
    "NZC_TLS_VERIFY": "1",
}

#: What /readyz and the start-up log say while HTTPS is not verified.
TLS_UNVERIFIED = (
    "NZC_TLS_VERIFY=0: the TLS certificates of Zabbix and NetBox are NOT verified; give "
    "their CA in NZC_CA_BUNDLE instead"
)

#: Values accepted by the on/off variables (NZC_WEBHOOK_INSECURE, NZC_METRICS).
FLAGS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


#: Names the file of settings the command-line tools read (empty: none).
ENV_FILE_VARIABLE = "NZC_ENV_FILE"


def settings_file() -> Path | None:
    """The file of ``NZC_*`` settings the command-line tools read besides the environment:
    ``$NZC_ENV_FILE``, else ``.env`` in the current folder (``make`` writes the development
    one in the project folder); None when there is none (or ``NZC_ENV_FILE`` is empty).
    Raises :class:`ConfigError` when ``NZC_ENV_FILE`` names no file: a mistyped path must
    not quietly leave the defaults (the local database) in charge."""
    named = os.environ.get(ENV_FILE_VARIABLE)
    if named == "":
        return None
    path = Path(named or ".env")
    if path.is_file():
        return path.resolve()
    if named:
        raise ConfigError(
            f"{ENV_FILE_VARIABLE} names no file (got {named!r}): name the settings file, "
            f"or set it empty to read the environment only"
        )
    return None


def load_settings_file() -> Path | None:
    """Put the settings file's ``NZC_*`` variables into ``os.environ``, except those already
    set there (the environment wins), taken literally (no ``$`` expansion); the file read,
    if any. For ``nzc`` and the dev tools: the web, worker and scheduler take their
    environment as given."""
    path = settings_file()
    if path is not None:
        for name, value in dotenv_values(path, interpolate=False).items():
            if name.startswith("NZC_") and value is not None:
                os.environ.setdefault(name, value)
    return path


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class Config:
    """The validated process configuration.

    Parameters:
      database_url: PostgreSQL URL for the service's own state.
      broker_url: AMQP URL of RabbitMQ (``;`` separates several nodes).
      netbox_url, netbox_token: NetBox base URL and API token.
      zabbix_url: URL of the Zabbix ``api_jsonrpc.php`` endpoint.
      zabbix_token: API token (preferred) or ``zabbix_user`` + ``zabbix_password``.
      webhook_secret: shared secret of the NetBox webhook (HMAC-SHA512 signature).
      admin_token: bearer token for the admin API; the admin API is off when unset.
      log_level: one of :data:`LOG_LEVELS`.
      log_format: ``text`` or ``json`` lines (see :func:`default_log_format`).
      webhook_max_bytes: the largest webhook body accepted.
      web_max_concurrent: webhooks one web process handles at once; more are answered 503
        with ``Retry-After`` at once. Below gunicorn's threads (8 in the Procfile), so a
        thread stays free for the refusals, /healthz and /metrics when Postgres is slow.
      webhook_insecure: accept unsigned webhooks (``NZC_WEBHOOK_INSECURE=1``), for demos only.
      job_max_retries: retries of a failing job before it is dead-lettered.
      job_min_backoff_ms: the first retry's delay, milliseconds; it doubles each attempt.
      database_idle_timeout_s: seconds a session of the service may sit idle inside a
        transaction before Postgres ends it, so the locks of a process that vanished without
        closing its connection (its machine lost, or the process killed) are not held until
        TCP notices, hours later. A job keeps its transaction open across its NetBox and
        Zabbix calls (a full sync reads the whole inventory between two statements), so
        this stays above a job's time limit (10 min).
      metrics: serve ``/metrics`` on the web port (``NZC_METRICS=0`` turns it off).
      metrics_dir: the directory holding one metrics directory per process kind on this
        machine (``<dir>/web``, ``<dir>/worker``, ...), added up by ``/metrics``.
      tls_verify: how HTTPS to Zabbix and NetBox is verified, as ``requests`` takes it: True
        (the system's CAs), the path of ``NZC_CA_BUNDLE``, or False (``NZC_TLS_VERIFY=0``).
    """

    database_url: str
    broker_url: str
    netbox_url: str
    netbox_token: str | None
    zabbix_url: str
    zabbix_token: str | None
    zabbix_user: str | None
    zabbix_password: str | None
    webhook_secret: str | None
    admin_token: str | None
    log_level: str
    log_format: str
    webhook_max_bytes: int
    webhook_insecure: bool
    job_max_retries: int = 8
    web_max_concurrent: int = 7
    job_min_backoff_ms: int = 5000
    database_idle_timeout_s: int = 660
    metrics: bool = True
    metrics_dir: str | None = None
    tls_verify: bool | str = True

    def __repr__(self) -> str:
        # Never print secrets, even in a traceback or a debug log.
        return (
            f"Config(database_url={redact_url(self.database_url)!r}, "
            f"broker_url={redact_url(self.broker_url)!r}, netbox_url={self.netbox_url!r}, "
            f"zabbix_url={self.zabbix_url!r}, log_level={self.log_level!r})"
        )

    def secrets(self) -> list[str]:
        """Every secret value this configuration holds: tokens, passwords, and the passwords
        inside the URLs (as written and percent-decoded), for the log filter that masks them."""
        values = [
            self.webhook_secret,
            self.admin_token,
            self.zabbix_token,
            self.zabbix_password,
            self.netbox_token,
        ]
        urls = [*self.database_url.split(";"), *self.broker_url.split(";")]
        for url in [*urls, self.netbox_url, self.zabbix_url]:
            try:
                password = urlsplit(url).password
            except ValueError:  # a URL this process did not need, so did not check
                continue
            values += [password, unquote(password)] if password else []
        return sorted({value for value in values if value})


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***`` (for logs and error messages)."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:  # not a URL at all: show nothing of it
        return "<not a URL>"
    netloc = parts.netloc.rsplit("@", 1)
    userinfo = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{userinfo}:***@{netloc[1]}"))


def default_log_format() -> str:
    """``text`` when standard error is a terminal (a person reads it), ``json`` otherwise
    (a collector, journald, a file reads it).

    File descriptor 2 is asked, not ``sys.stderr``: Dramatiq's worker processes replace
    ``sys.stderr`` with a pipe to the parent, which writes to the real descriptor 2.
    """
    try:
        return "text" if os.isatty(2) else "json"
    except OSError:
        return "json"


def _fail(name: str, problem: str) -> ConfigError:
    return ConfigError(f"{name} {problem}. Example: {name}={EXAMPLES.get(name, '...')}")


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name) or DEFAULTS[name]
    for one in value.split(";"):
        parts = urlsplit(one)
        if parts.scheme not in schemes or not parts.hostname:
            raise _fail(
                name,
                f"is not a valid URL (got {redact_url(one)!r}; "
                f"expected scheme {' or '.join(schemes)} and a host)",
            )
        try:
            parts.port  # noqa: B018 -- raises ValueError on a malformed port
        except ValueError:
            raise _fail(name, f"has a malformed port (got {redact_url(one)!r})") from None
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _whole(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = (env.get(name) or DEFAULTS[name]).strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _fail(name, f"must be a whole number from {low} to {high} (got {raw!r})")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw and raw not in FLAGS:
        raise _fail(name, "must be 1 or 0")
    return FLAGS[raw] if raw else default


def _zabbix_credentials(token: str | None, user: str | None, password: str | None) -> None:
    if not token and not (user and password):
        raise ConfigError(
            "Zabbix credentials are missing: set NZC_ZABBIX_TOKEN (preferred) or both "
            "NZC_ZABBIX_USER and NZC_ZABBIX_PASSWORD. Example: NZC_ZABBIX_TOKEN="
            + EXAMPLES["NZC_ZABBIX_TOKEN"]
        )


def require_zabbix(config: Config) -> None:
    """Raise :class:`ConfigError` when ``config`` (loaded without needing Zabbix) cannot log
    in to Zabbix: for whatever reaches Zabbix without having said so."""
    _zabbix_credentials(config.zabbix_token, config.zabbix_user, config.zabbix_password)


#: What a process may need, each validated only when needed: Postgres, RabbitMQ (with the
#: retry settings of the jobs it carries), Zabbix and NetBox.
DATABASE, BROKER, ZABBIX, NETBOX = "database", "broker", "zabbix", "netbox"
EVERYTHING = frozenset({DATABASE, BROKER, ZABBIX, NETBOX})


#: The variables that may hold a secret: each may be given as a file instead, its name with
#: ``_FILE`` (``NZC_ZABBIX_TOKEN_FILE=/run/credentials/nzc/zabbix-token``), for systemd
#: credentials and container secrets.
SECRET_VARIABLES = (
    "NZC_DATABASE_URL",
    "NZC_BROKER_URL",
    "NZC_NETBOX_TOKEN",
    "NZC_ZABBIX_TOKEN",
    "NZC_ZABBIX_PASSWORD",
    "NZC_WEBHOOK_SECRET",
    "NZC_ADMIN_TOKEN",
)


def with_secret_files(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with each ``<secret>_FILE`` read into ``<secret>`` (the file's text, without
    its final line break). Raises :class:`ConfigError` naming the variable when both are
    set, or the file cannot be read."""
    out = dict(env)
    for name in SECRET_VARIABLES:
        path = (env.get(f"{name}_FILE") or "").strip()
        if not path:
            continue
        if (env.get(name) or "").strip():
            raise ConfigError(f"{name} and {name}_FILE are both set: keep one of them")
        try:
            out[name] = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"{name}_FILE names a file that cannot be read ({path}: "
                f"{getattr(exc, 'strerror', None) or exc}): check the path and its permissions"
            ) from None
        if not out[name].strip():
            raise ConfigError(f"{name}_FILE names an empty file ({path})")
    return out


def load_config(
    environ: Mapping[str, str] | None = None, needs: frozenset[str] | set[str] = EVERYTHING
) -> Config:
    """Read and validate the ``NZC_*`` variables from ``environ`` (default: ``os.environ``).

    ``needs`` (default: everything, as the web, worker and scheduler processes use) names
    what the caller will use; the variables of the others are taken as given, unchecked (a
    command that reads job rows does not need Zabbix credentials). The log settings and the
    web's limits are always checked.
    """
    env = with_secret_files(os.environ if environ is None else environ)

    log_level = (env.get("NZC_LOG_LEVEL") or DEFAULTS["NZC_LOG_LEVEL"]).upper()
    if log_level not in LOG_LEVELS:
        raise _fail("NZC_LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    log_format = (env.get("NZC_LOG_FORMAT") or default_log_format()).strip().lower()
    if log_format not in LOG_FORMATS:
        raise _fail(
            "NZC_LOG_FORMAT",
            f"must be {' or '.join(LOG_FORMATS)} (got {log_format!r}); unset, it is text on "
            "a terminal and json otherwise",
        )

    raw_max = env.get("NZC_WEBHOOK_MAX_BYTES") or DEFAULTS["NZC_WEBHOOK_MAX_BYTES"]
    if not raw_max.isdigit() or not 1024 <= int(raw_max) <= 64 * 1024 * 1024:
        raise _fail(
            "NZC_WEBHOOK_MAX_BYTES", "must be a whole number of bytes from 1024 to 67108864"
        )

    zabbix_token = _optional(env, "NZC_ZABBIX_TOKEN")
    zabbix_user = _optional(env, "NZC_ZABBIX_USER")
    zabbix_password = _optional(env, "NZC_ZABBIX_PASSWORD")
    if ZABBIX in needs:
        _zabbix_credentials(zabbix_token, zabbix_user, zabbix_password)

    if BROKER in needs:
        max_retries = _whole(env, "NZC_JOB_MAX_RETRIES", 0, 100)
        min_backoff_ms = _whole(env, "NZC_JOB_MIN_BACKOFF_MS", 1, 3_600_000)
    else:
        max_retries = int(DEFAULTS["NZC_JOB_MAX_RETRIES"])
        min_backoff_ms = int(DEFAULTS["NZC_JOB_MIN_BACKOFF_MS"])

    idle_timeout_s = _whole(env, "NZC_DATABASE_IDLE_TIMEOUT_S", 5, 86_400)
    max_concurrent = _whole(env, "NZC_WEB_MAX_CONCURRENT", 1, 10_000)

    metrics_dir = _optional(env, "NZC_METRICS_DIR")
    if metrics_dir and not os.path.isabs(metrics_dir):
        raise _fail("NZC_METRICS_DIR", f"must be an absolute path (got {metrics_dir!r})")

    tls_verify: bool | str = _flag(env, "NZC_TLS_VERIFY", True)
    ca_bundle = _optional(env, "NZC_CA_BUNDLE")
    if ca_bundle and tls_verify:
        if not os.path.isfile(ca_bundle) or not os.access(ca_bundle, os.R_OK):
            raise _fail("NZC_CA_BUNDLE", f"names no readable file (got {ca_bundle!r})")
        tls_verify = ca_bundle

    def url(need: str, name: str, schemes: tuple[str, ...]) -> str:
        if need in needs:
            return _url(env, name, schemes)
        return env.get(name) or DEFAULTS[name]

    return Config(
        database_url=url(DATABASE, "NZC_DATABASE_URL", ("postgresql", "postgres")),
        broker_url=url(BROKER, "NZC_BROKER_URL", ("amqp", "amqps")),
        netbox_url=url(NETBOX, "NZC_NETBOX_URL", ("http", "https")).rstrip("/"),
        netbox_token=_optional(env, "NZC_NETBOX_TOKEN"),
        zabbix_url=url(ZABBIX, "NZC_ZABBIX_URL", ("http", "https")),
        zabbix_token=zabbix_token,
        zabbix_user=zabbix_user,
        zabbix_password=zabbix_password,
        webhook_secret=_optional(env, "NZC_WEBHOOK_SECRET"),
        admin_token=_optional(env, "NZC_ADMIN_TOKEN"),
        log_level=log_level,
        log_format=log_format,
        webhook_max_bytes=int(raw_max),
        webhook_insecure=_flag(env, "NZC_WEBHOOK_INSECURE", False),
        job_max_retries=max_retries,
        job_min_backoff_ms=min_backoff_ms,
        database_idle_timeout_s=idle_timeout_s,
        web_max_concurrent=max_concurrent,
        metrics=_flag(env, "NZC_METRICS", True),
        metrics_dir=metrics_dir,
        tls_verify=tls_verify,
    )
