"""The HTTP session of the Zabbix and NetBox clients: TLS verified as configured."""

from __future__ import annotations

from typing import Any

import requests


class VerifiedSession(requests.Session):
    """A session whose ``verify`` (``Config.tls_verify``: a CA bundle, or off) wins over
    ``REQUESTS_CA_BUNDLE`` and ``CURL_CA_BUNDLE`` in the environment, which requests would
    otherwise put first; left at True (the default), those still apply, as the system's
    CAs. Proxies from the environment still apply.
    """

    def __init__(self, verify: bool | str = True) -> None:
        super().__init__()
        self.verify = verify

    def merge_environment_settings(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        settings = super().merge_environment_settings(*args, **kwargs)
        if self.verify is not True:
            settings["verify"] = self.verify
        return settings
