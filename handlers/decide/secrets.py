"""Secrets inside what the service records: the SNMP community and SNMPv3 passphrases an
interface carries (from the settings, when they are literal values, not macros).

Job rows, event-log data and host configs keep what a job worked on, for operators to read
through the CLI and the admin API; these values are masked there, once, on the way in.
"""

from __future__ import annotations

from typing import Any

#: Keys whose values are secrets wherever they appear (Zabbix interface ``details``).
SECRET_KEYS = frozenset({"community", "authpassphrase", "privpassphrase", "tls_psk"})
#: What a masked secret reads as.
MASK = "***"


def mask_secrets(value: Any) -> Any:
    """``value`` (JSON-like) with every secret under :data:`SECRET_KEYS` masked; a Zabbix
    user macro (``{$SNMP_COMMUNITY}``) names a secret without holding it, so it stays."""
    if isinstance(value, dict):
        return {
            k: MASK if k in SECRET_KEYS and _literal(v) else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_secrets(v) for v in value]
    return value


def _literal(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith("{$")
