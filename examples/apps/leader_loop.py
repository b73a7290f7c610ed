#!/usr/bin/env python3
"""An app that asks its lease-elector sidecar before each unit of leader work (Python, stdlib only).

It keeps the app's side of the contract (README, "What the app must do"):
- it polls GET /leader every POLL_INTERVAL_MS (default 200), more often than the release delay;
- it starts a unit of work only if WORK_MS (the unit's longest run, default 1000) fits before the
  leadership's end: the monotonic time the poll was *sent* plus validForMs;
- the unit checks that deadline between its steps and stops at it;
- no answer from the sidecar means "not the leader".
Replace do_work() with the app's own leader work.
"""

import json
import os
import sys
import time
import urllib.request

URL = os.environ.get("LEASE_ELECTOR_URL", "http://localhost:4040")
POLL_S = int(os.environ.get("POLL_INTERVAL_MS", "200")) / 1000
WORK_S = int(os.environ.get("WORK_MS", "1000")) / 1000


def leadership_deadline():
    """The monotonic time until which this replica leads, or None when it does not lead."""
    sent = time.monotonic()
    try:
        with urllib.request.urlopen(URL + "/leader", timeout=1) as response:
            answer = json.load(response)
    except (OSError, ValueError):
        return None
    if answer.get("isLeader") is not True or "validForMs" not in answer:
        return None
    return sent + answer["validForMs"] / 1000


def do_work(deadline):
    """One unit of leader work, in steps that each check the deadline."""
    for _ in range(10):
        if time.monotonic() + WORK_S / 10 > deadline:
            return "stopped at the deadline"
        time.sleep(WORK_S / 10)
    return "done"


def main():
    while True:
        deadline = leadership_deadline()
        if deadline is not None and deadline - time.monotonic() >= WORK_S:
            print(f"work-start {time.time_ns() // 1_000_000}", flush=True)
            outcome = do_work(deadline)
            print(f"work-end {time.time_ns() // 1_000_000} {outcome}", flush=True)
            continue
        time.sleep(POLL_S)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
