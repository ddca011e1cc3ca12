"""Bounded load generator for the sample User Management service.

Sends a fixed mix of requests (list users, get a user, log in) at a fixed
rate for a fixed time, then exits. It rejects targets outside the loopback
range, so it cannot send traffic anywhere but the host it runs on.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import random
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

log = logging.getLogger("loadgen")

MAX_DURATION_S = 7200
MAX_RATE = 200


def requests_mix(base: str) -> list[urllib.request.Request]:
    """One round of requests: mostly reads, some logins, some unknown users."""
    login = json.dumps({"user": "ada", "password": "lovelace"}).encode()
    bad_login = json.dumps({"user": "ada", "password": "wrong"}).encode()
    headers = {"Content-Type": "application/json"}
    return [
        urllib.request.Request(f"{base}/users"),
        urllib.request.Request(f"{base}/users/{random.randint(1, 3)}"),
        urllib.request.Request(f"{base}/users/{random.randint(1, 3)}"),
        urllib.request.Request(f"{base}/users/99"),
        urllib.request.Request(f"{base}/login", login, headers, method="POST"),
        urllib.request.Request(f"{base}/login", bad_login, headers, method="POST"),
    ]


def send(request: urllib.request.Request, counts: dict[str, int], lock) -> None:
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status = response.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError as error:
        log.warning("request %s failed: %s", request.full_url, error)
        status = 0
    with lock:
        counts[str(status)] = counts.get(str(status), 0) + 1


def check_loopback(url: str) -> None:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"loadgen: target {host!r} is not a loopback address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="service URL")
    parser.add_argument("--rate", type=float, default=20, help="requests per second")
    parser.add_argument("--duration", type=float, default=300, help="seconds to run")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    check_loopback(args.url)
    if not 0 < args.rate <= MAX_RATE:
        raise SystemExit(f"loadgen: --rate must be above 0 and at most {MAX_RATE}")
    if not 0 < args.duration <= MAX_DURATION_S:
        raise SystemExit(
            f"loadgen: --duration must be above 0 and at most {MAX_DURATION_S}"
        )

    counts: dict[str, int] = {}
    lock = threading.Lock()
    log.info("sending %g requests/s to %s for %gs", args.rate, args.url, args.duration)
    started = time.monotonic()
    pending: list[urllib.request.Request] = []
    sent = 0
    while time.monotonic() - started < args.duration:
        if not pending:
            pending = requests_mix(args.url.rstrip("/"))
        # Each request gets a thread, so that a slow endpoint does not lower the
        # rate. The rate cap and the request timeout bound the thread count.
        threading.Thread(
            target=send, args=(pending.pop(), counts, lock), daemon=True
        ).start()
        sent += 1
        time.sleep(max(0.0, started + sent / args.rate - time.monotonic()))
    time.sleep(1)
    log.info("sent %d requests; responses by status: %s", sent, counts)


if __name__ == "__main__":
    main()
