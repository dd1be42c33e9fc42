"""Webhook ingest throughput: N signed webhooks over loopback, C at a time, to gunicorn
(2 workers, as in the Procfile) backed by real Postgres and RabbitMQ.

    .venv/bin/python -m bench.ingest [-n 5000] [-c 16]

Prints accepted/s, p50/p99 latency and how many messages reached RabbitMQ (must equal N).
Uses its own database (created and dropped) and the nzc-bench RabbitMQ vhost.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time

import pika

from bench.common import (
    BENCH_BROKER_URL,
    WEB_ARGS,
    bench_env,
    cpu_report,
    cpu_seconds,
    free_port,
    header,
    percentile,
    scratch_database,
    start_web,
    web_peak_mib,
)
from handlers.broker import QUEUE_EVENTS
from tests.webhook_shapes import SECRET, sample, sign


def bodies(n: int) -> list[bytes]:
    """N distinct device-updated webhooks (distinct timestamps and ids, as NetBox sends)."""
    base = sample("07_device_updated.json")["body"]
    out = []
    for i in range(n):
        stamp = f"2026-11-22T19:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}000"
        body = dict(base, timestamp=stamp + "+00:00")
        body["data"] = dict(base["data"], id=1 + i % 5000)
        out.append(json.dumps(body).encode())
    return out


def wait_ready(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not start")


def events_queued(queue: str) -> tuple[int, int]:
    """(events, messages) in ``queue``, taking them out: a message carries a batch of the
    webhooks one commit took (``handle_events``), or one (``handle_event``)."""
    conn = pika.BlockingConnection(pika.URLParameters(BENCH_BROKER_URL))
    events = messages = 0
    try:
        channel = conn.channel()
        while True:
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return events, messages
            message = json.loads(body)
            messages += 1
            events += len(message["args"][0]) if message["actor_name"] == "handle_events" else 1
    except pika.exceptions.ChannelClosedByBroker:
        return events, messages
    finally:
        if conn.is_open:
            conn.close()


def run_load(
    port: int, payloads: list[bytes], concurrency: int, keepalive: bool = False
) -> tuple[list[float], dict[int, int], float]:
    """Send every payload, ``concurrency`` at a time. Without ``keepalive`` each webhook
    opens its own connection, as NetBox's sender does."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    cursor = iter(range(len(payloads)))

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, seen = [], {}
        while True:
            with lock:
                i = next(cursor, None)
            if i is None:
                break
            raw = payloads[i]
            headers = {"Content-Type": "application/json", "X-Hook-Signature": sign(raw, SECRET)}
            start = time.perf_counter()
            try:
                conn.request("POST", "/webhooks/netbox", body=raw, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if not keepalive or resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status = 0
            mine.append(time.perf_counter() - start)
            seen[status] = seen.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for k, v in seen.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(latencies), statuses, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=5000, help="webhooks to send")
    parser.add_argument("-c", type=int, default=16, help="concurrent connections")
    parser.add_argument(
        "--gunicorn-args",
        default=" ".join(WEB_ARGS),
        help="gunicorn arguments besides --workers 2 (default: the Procfile's)",
    )
    parser.add_argument("--keepalive", action="store_true", help="reuse client connections")
    args = parser.parse_args()

    payloads = bodies(args.n)
    with scratch_database() as database_url:
        port = free_port()
        env = bench_env(database_url, SECRET)
        server = start_web(env, port, args.gunicorn_args.split())
        try:
            wait_ready(port)
            events_queued(QUEUE_EVENTS)
            # Warm-up (connections, prepared statements), not counted: bodies that fail
            # the schema, so nothing is queued.
            run_load(port, [json.dumps({"warm": i}).encode() for i in range(50)], 4)
            cpu_before = cpu_seconds()
            latencies, statuses, elapsed = run_load(port, payloads, args.c, args.keepalive)
            cpu = cpu_report(cpu_before, cpu_seconds(), elapsed)
            # Every 202 came after its message's confirm: the queue holds them all now.
            reached, messages = events_queued(QUEUE_EVENTS)
            web_mib = web_peak_mib(server)
        finally:
            server.terminate()
            server.wait(10)
    accepted = statuses.get(202, 0)
    print(f"{header('bench.ingest')}; the load generator, Postgres and RabbitMQ on this machine")
    setup = f"concurrency {args.c}, gunicorn 2 workers {args.gunicorn_args}".strip()
    print(f"webhooks sent:            {args.n} ({setup}, keep-alive {args.keepalive})")
    print(f"answers:                  {dict(sorted(statuses.items()))}")
    print(f"accepted/s:               {accepted / elapsed:.0f}")
    print(
        f"latency p50 / p99 / max:  {percentile(latencies, 50) * 1000:.1f} / "
        f"{percentile(latencies, 99) * 1000:.1f} / {latencies[-1] * 1000:.1f} ms"
    )
    verdict = "OK" if reached == args.n else "MISMATCH"
    print(f"events in RabbitMQ:       {reached} (expected {args.n}: {verdict})")
    print(f"messages (batches):       {messages}, {reached / max(messages, 1):.1f} events each")
    print(cpu)
    print(f"peak RSS of web:          {web_mib:.0f} MiB (largest gunicorn process)")


if __name__ == "__main__":
    main()
