"""Liveness and readiness: ``/healthz`` (the process answers) and ``/readyz`` (its services do)."""

from __future__ import annotations

from typing import Any

import pika
import psycopg
from flask import Blueprint, jsonify

from consumer.state import app_state
from handlers.config import TLS_UNVERIFIED, redact_url
from handlers.gateways.zabbix import probe_version

bp = Blueprint("health", __name__)

#: Seconds each readiness check may take.
CHECK_TIMEOUT_S = 2


def check_postgres(conninfo: str) -> None:
    with psycopg.connect(conninfo, connect_timeout=CHECK_TIMEOUT_S) as conn:
        conn.execute("SELECT 1")


def check_rabbitmq(url: str) -> None:
    params = pika.URLParameters(url.split(";")[0])
    params.socket_timeout = CHECK_TIMEOUT_S
    params.connection_attempts = 1
    params.blocked_connection_timeout = CHECK_TIMEOUT_S
    pika.BlockingConnection(params).close()


def check_zabbix(url: str, verify: bool | str = True) -> None:
    probe_version(url, timeout=CHECK_TIMEOUT_S + 1, verify=verify)


def readiness(runtime: Any) -> tuple[dict[str, Any], bool]:
    """Run every check; return the report and whether all passed."""
    config = runtime.config
    checks = {
        "postgres": (check_postgres, config.database_url),
        "rabbitmq": (check_rabbitmq, config.broker_url),
        "zabbix": (lambda url: check_zabbix(url, config.tls_verify), config.zabbix_url),
    }
    report: dict[str, Any] = {"checks": {}}
    failing = []
    for name, (check, target) in checks.items():
        try:
            check(target)
            report["checks"][name] = {"ok": True}
        except Exception as exc:  # noqa: BLE001 -- any failure means "not ready"
            failing.append(name)
            detail = str(exc) or type(exc).__name__
            report["checks"][name] = {
                "ok": False,
                "error": f"{name} at {redact_url(target)} is unreachable: {detail}",
            }
    report["status"] = "ready" if not failing else "unavailable"
    if failing:
        report["failing"] = failing
    warnings = []
    if config.webhook_insecure:
        warnings.append("NZC_WEBHOOK_INSECURE is set: webhook signatures are not checked")
    if config.tls_verify is False:
        warnings.append(TLS_UNVERIFIED)
    if warnings:
        report["warnings"] = warnings
    return report, not failing


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    report, ok = readiness(app_state().runtime)
    return jsonify(report), 200 if ok else 503
