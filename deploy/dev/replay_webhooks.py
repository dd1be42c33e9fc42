"""Replay a folder of captured NetBox webhooks against the service.

    python deploy/dev/replay_webhooks.py FOLDER [--url http://127.0.0.1:8000/webhooks/netbox]

Settings come from the environment and, as for nzc, from .env in the current folder.

Each file is either a capture (``{"headers": ..., "raw_body": "..."}``, as NetBox sent it)
or a plain webhook body. Bodies are sent byte for byte; they are signed with --secret
(default: $NZC_WEBHOOK_SECRET), or keep their captured signature when no secret is given.
Prints one line per file; exits 1 if any answer is not 2xx.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
from pathlib import Path

import requests

from handlers.config import load_settings_file


def load(path: Path) -> tuple[bytes, str | None]:
    """The raw body and its captured signature (None for a plain body)."""
    doc = json.loads(path.read_text())
    if isinstance(doc, dict) and "raw_body" in doc:
        return doc["raw_body"].encode(), doc.get("headers", {}).get("X-Hook-Signature")
    return json.dumps(doc).encode(), None


def main(argv: list[str] | None = None) -> int:
    load_settings_file()  # .env, as nzc reads it: a new shell needs nothing set by hand
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folder", type=Path)
    web = os.environ.get("NZC_WEB_BIND") or "127.0.0.1:8000"  # the Procfile's web address
    parser.add_argument("--url", default=f"http://{web}/webhooks/netbox")
    parser.add_argument("--secret", default=os.environ.get("NZC_WEBHOOK_SECRET"))
    args = parser.parse_args(argv)

    files = sorted(args.folder.glob("*.json"))
    if not files:
        print(f"no .json files in {args.folder}", file=sys.stderr)
        return 1
    failures = 0
    session = requests.Session()
    for path in files:
        raw, signature = load(path)
        if args.secret:
            signature = hmac.new(args.secret.encode(), raw, hashlib.sha512).hexdigest()
        headers = {"Content-Type": "application/json"}
        if signature:
            headers["X-Hook-Signature"] = signature
        try:
            resp = session.post(args.url, data=raw, headers=headers, timeout=10)
            status, answer = resp.status_code, resp.text.strip()
        except requests.RequestException as exc:
            status, answer = 0, str(exc)
        failures += not 200 <= status < 300
        print(f"{status} {path.name} {answer}")
    print(f"{len(files) - failures} accepted, {failures} refused")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
