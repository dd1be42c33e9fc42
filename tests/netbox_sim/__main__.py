"""``python -m tests.netbox_sim``: run the simulator, or drive a running one.

python -m tests.netbox_sim serve --port 8001 --seed \
    --webhook-url http://127.0.0.1:8000/webhooks/netbox
python -m tests.netbox_sim create 5 devices
python -m tests.netbox_sim rename devices 3 core-sw-03
python -m tests.netbox_sim status devices 3 offline
python -m tests.netbox_sim tags devices 3 maintenance,core   # '' clears them
python -m tests.netbox_sim site devices 3 dc2
python -m tests.netbox_sim bulk devices 1,2,3 --status offline
python -m tests.netbox_sim delete devices 3
python -m tests.netbox_sim webhooks off   # NetBox fails to deliver from now on
python -m tests.netbox_sim stats
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading

import requests

from handlers.config import load_settings_file
from tests.netbox_sim.model import site_ref
from tests.netbox_sim.server import SimServer


def default_url() -> str:
    """The running simulator: NZC_SIM_URL, else the NetBox the service is told to read (in
    the demo, the simulator), else the demo's port."""
    return (
        os.environ.get("NZC_SIM_URL") or os.environ.get("NZC_NETBOX_URL") or "http://127.0.0.1:8001"
    )


def seed(server: SimServer) -> None:
    """A few objects like the captures: two switches, a firewall, two VMs."""
    sim = server.sim
    sim.create_device(
        "sw-core-01",
        ip="10.0.10.11/24",
        tags=["core", "zabbix"],
        dns_name="sw-core-01.mgmt.acme.example",
    )
    sim.create_device("sw-core-02", ip="10.0.10.12/24", tags=["core", "zabbix"])
    sim.create_device("fw-edge-01", ip="10.0.10.1/24", status="planned")
    sim.create_vm("vm-app-01", ip="10.0.20.11/24", tags=["zabbix"])
    sim.create_vm("vm-db-01", ip="10.0.20.12/24")


def wait_for(url: str, seconds: float = 60.0) -> bool:
    """Wait until ``url`` answers 200 (NetBox does not retry a failed webhook)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def serve(args: argparse.Namespace) -> None:
    server = SimServer(
        port=args.port,
        token=args.token,
        webhook_url=args.webhook_url,
        webhook_secret=args.secret,
        sender_threads=args.threads,
    ).start()
    print(
        f"NetBox simulator (not NetBox) on {server.url}, token {args.token[:4]}..., "
        f"webhooks to {args.webhook_url or 'nowhere'}",
        flush=True,
    )
    if args.seed:
        if args.wait_for and not wait_for(args.wait_for):
            print(f"{args.wait_for} did not answer; seeding anyway", flush=True)
        seed(server)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()


def control(method: str, path: str, body: dict | None = None, url: str | None = None) -> dict:
    url = url or default_url()
    try:
        resp = requests.request(method, f"{url}/_sim/{path}", json=body, timeout=600)
    except requests.ConnectionError:
        sys.exit(
            f"no simulator answers at {url}: start one with `make run` (without "
            "NZC_NETBOX_URL set by hand) or `python -m tests.netbox_sim serve`, or pass --url"
        )
    if resp.status_code >= 400:
        sys.exit(f"simulator refused: {resp.status_code} {resp.text}")
    return resp.json()


def main(argv: list[str] | None = None) -> None:
    load_settings_file()  # .env, as nzc reads it: a new shell needs nothing set by hand
    parser = argparse.ArgumentParser(
        prog="python -m tests.netbox_sim",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--url", default=default_url(), help="the running simulator (client commands)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the simulator")
    s.add_argument("--port", type=int, default=8001)
    s.add_argument(
        "--token",
        default=os.environ.get("NZC_NETBOX_TOKEN") or "0123456789abcdef0123456789abcdef01234567",
    )
    s.add_argument("--webhook-url")
    s.add_argument("--secret", default=os.environ.get("NZC_WEBHOOK_SECRET") or "test-secret")
    s.add_argument("--threads", type=int, default=1, help="concurrent webhook deliveries")
    s.add_argument("--seed", action="store_true", help="start with a few devices and VMs")
    s.add_argument("--wait-for", help="seed only once this URL answers 200")
    c = sub.add_parser("create", help="create N devices or vms")
    c.add_argument("count", type=int)
    c.add_argument("kind", choices=["devices", "vms"])
    c.add_argument("--status", default="active")
    c.add_argument("--prefix")
    for name in ("rename", "status", "tags", "site"):
        p = sub.add_parser(name, help=f"set the {name} of one device or vm")
        p.add_argument("kind", choices=["devices", "vms"])
        p.add_argument("id", type=int)
        p.add_argument("value")
    b = sub.add_parser("bulk", help="bulk-edit devices or vms (one webhook each, one request_id)")
    b.add_argument("kind", choices=["devices", "vms"])
    b.add_argument("ids")
    b.add_argument("--status", required=True)
    d = sub.add_parser("delete", help="delete a device or vm (with NetBox's cascade of webhooks)")
    d.add_argument("kind", choices=["devices", "vms"])
    d.add_argument("id", type=int)
    w = sub.add_parser("webhooks", help="deliver webhooks (on) or lose them, as NetBox can (off)")
    w.add_argument("state", choices=["on", "off"])
    sub.add_parser("stats", help="object and webhook counts")
    args = parser.parse_args(argv)

    if args.command == "serve":
        serve(args)
        return
    if args.command == "create":
        body = {"count": args.count, "status": args.status}
        if args.prefix:
            body["prefix"] = args.prefix
        result = control("POST", args.kind, body, args.url)
    elif args.command == "rename":
        result = control("PATCH", f"{args.kind}/{args.id}", {"name": args.value}, args.url)
    elif args.command == "status":
        result = control("PATCH", f"{args.kind}/{args.id}", {"status": args.value}, args.url)
    elif args.command == "tags":
        tags = [t for t in args.value.split(",") if t]
        result = control("PATCH", f"{args.kind}/{args.id}", {"tags": tags}, args.url)
    elif args.command == "site":
        body = {"site": site_ref(args.value)}
        result = control("PATCH", f"{args.kind}/{args.id}", body, args.url)
    elif args.command == "bulk":
        ids = [int(i) for i in args.ids.split(",")]
        result = control("PATCH", args.kind, {"ids": ids, "status": args.status}, args.url)
    elif args.command == "delete":
        result = control("DELETE", f"{args.kind}/{args.id}", None, args.url)
    elif args.command == "webhooks":
        result = control("PATCH", "webhooks", {"deliver": args.state == "on"}, args.url)
    else:
        result = requests.get(f"{args.url}/_sim/stats/", timeout=10).json()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
