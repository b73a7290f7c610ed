#!/usr/bin/env python3
"""A queue poller that only the leader runs: one consumer at a time, so items are handled in order.

The queue here is a directory (QUEUE_DIR): an item is a file, handled in name order, and moved to
QUEUE_DIR/done when handled. Producers write an item under a name starting with "." and rename it
when complete, so the poller never reads half an item. With a database the same loop selects the oldest unhandled row and
marks it handled in the same transaction. The contract with the sidecar (README, "What the app must
do"): poll /leader more often than the release delay (POLL_INTERVAL_MS, default 200), and start an
item only when ITEM_MAX_MS (default 1000) fits in the leadership left, measured on the monotonic
clock from when the poll was sent.
"""

import json
import os
import socket
import sys
import time
import urllib.request

URL = os.environ.get("LEASE_ELECTOR_URL", "http://localhost:4040")
QUEUE = os.environ.get("QUEUE_DIR", "/var/queue")
POLL_S = int(os.environ.get("POLL_INTERVAL_MS", "200")) / 1000
ITEM_S = int(os.environ.get("ITEM_MAX_MS", "1000")) / 1000
ME = os.environ.get("POD_NAME", socket.gethostname())


def leadership_deadline():
    sent = time.monotonic()
    try:
        with urllib.request.urlopen(URL + "/leader", timeout=1) as response:
            answer = json.load(response)
    except (OSError, ValueError):
        return None  # no answer: not the leader
    if answer.get("isLeader") is not True or "validForMs" not in answer:
        return None
    return sent + answer["validForMs"] / 1000


def handle(path):
    """Replace with the real work; it must fit in ITEM_MAX_MS."""
    with open(path) as item:
        payload = item.read().strip()
    time.sleep(0.05)
    return payload


def main():
    done = os.path.join(QUEUE, "done")
    os.makedirs(done, exist_ok=True)
    while True:
        deadline = leadership_deadline()
        items = sorted(n for n in os.listdir(QUEUE)
                       if not n.startswith(".") and os.path.isfile(os.path.join(QUEUE, n)))
        if deadline is None or not items:
            time.sleep(POLL_S)
            continue
        # Handle items while the leadership lasts, asking again before it runs short.
        for name in items:
            if deadline - time.monotonic() < ITEM_S:
                break
            payload = handle(os.path.join(QUEUE, name))
            os.rename(os.path.join(QUEUE, name), os.path.join(done, name))
            print(f"handled {name} {payload} by {ME} at {time.time_ns() // 1_000_000}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
