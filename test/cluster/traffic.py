#!/usr/bin/env python3
"""Service traffic through a real kube-proxy during lease-elector handovers, one routing mode.

    traffic.py measure --mode MODE --namespace NS --service SVC --lease LEASE --pod-selector SEL
                       [--runs N] [--replicas N] --out FILE.json     (CLUSTER_* from node's env)
    traffic.py report FILE.json... [--min-runs N] [--markdown FILE.md] [--json FILE.json]

`measure` runs inside the cluster's network namespace (test/cluster/node exec), against a release
of the chart whose app answers every request with its Pod name. Its threads watch and ask:
  - the Lease, by a watch: the ground truth of who leads, and when each term began and ended;
  - a client that sends a request to the Service's ClusterIP every 10 ms, each on a new connection
    (kube-proxy's rules choose a Pod per new connection), from five staggered worker threads;
  - a keep-alive client, one connection reused until it fails (what a pooling client sees).
The main thread waits until the release is steady (one holder, every Pod running, the last second
of answers all from the holder), then alternately deletes the leader's Pod (graceful termination)
and SIGKILLs its sidecar's process, N times each, and waits each time for the first answer from the
holder of the next term: a SIGKILLed sidecar restarts and may win again, so "new leader" means the
next term's holder as the Lease names it, not another Pod.

An answer from a Pod counts as the leader's when the Lease named that Pod at some instant between
the request's send and its answer. A handover window opens when the Lease leaves a term (a release
or a new holder) and closes at the first answer from the next term's holder. Inside it answers
from the previous holder are counted apart (the data path has not switched yet); every other
answer from a Pod the Lease did not name is a non-leader answer. `report` prints the table and
fails when a mode that promises it (label, endpoints) had any non-leader answer, or when a mode has
fewer runs than --min-runs that reached their new leader. Failed requests (during a handover, and
between handovers once the first leader answered) and the keep-alive client's answers are
reported, not judged.
"""
import argparse
import datetime
import json
import os
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

REQUEST_INTERVAL = 0.010
CONNECT_TIMEOUT = 1.0
STRICT_MODES = {"label", "endpoints", "proxy"}


def log(*parts):
    print("traffic[%s]:" % ARGS.mode, *parts, file=sys.stderr, flush=True)


class Api:
    """The few API calls the test makes, with the admin's client certificate."""

    def __init__(self, url, ca, cert, key):
        self.url = url
        self.context = ssl.create_default_context(cafile=ca)
        self.context.load_cert_chain(cert, key)

    def request(self, method, path, timeout=10):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, context=self.context, timeout=timeout) as response:
            return json.load(response)

    def get(self, path):
        return self.request("GET", path)

    def stream(self, path):
        return urllib.request.urlopen(urllib.request.Request(self.url + path), context=self.context, timeout=60)


def term_of(lease):
    spec = lease.get("spec") or {}
    return (spec.get("holderIdentity") or "", spec.get("acquireTime") or "", spec.get("leaseTransitions") or 0)


class LeaseWatch(threading.Thread):
    """Records (monotonic time, term) each time the Lease's term changes; renewals are ignored."""

    def __init__(self, api, namespace, name):
        super().__init__(daemon=True)
        self.api, self.namespace, self.name = api, namespace, name
        self.terms = []  # (t, (holder, acquireTime, transitions))
        self.lock = threading.Lock()
        self.stopping = False

    # The Lease's times are written by the sidecars on this same machine's clock. A term is dated
    # by the record itself (acquireTime for a new holder, renewTime for a release), not by when its
    # watch event arrived: under load the event can lag the new leader's first answers, which would
    # then look like a non-leader's.
    WALL_MINUS_MONOTONIC = time.time() - time.monotonic()

    @classmethod
    def monotonic_of(cls, micro_time):
        try:
            wall = datetime.datetime.strptime(micro_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        except (TypeError, ValueError):
            return None
        return wall.timestamp() - cls.WALL_MINUS_MONOTONIC

    def record(self, lease):
        term = term_of(lease)
        spec = lease.get("spec") or {}
        now = time.monotonic()
        with self.lock:
            if self.terms and self.terms[-1][1] == term:
                return
            dated = self.monotonic_of(spec.get("acquireTime") if term[0] else spec.get("renewTime"))
            when = now if dated is None else min(now, dated)
            if self.terms:
                when = max(when, self.terms[-1][0])  # kept in order, whatever the record says
            self.terms.append((when, term))

    def current(self):
        with self.lock:
            return self.terms[-1] if self.terms else (0.0, ("", "", 0))

    def run(self):
        path = "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % self.namespace
        selector = urllib.parse.quote("metadata.name=" + self.name)
        version = None
        while not self.stopping:
            try:
                if version is None:
                    listed = self.api.get(path + "?fieldSelector=" + selector)
                    for lease in listed["items"]:
                        self.record(lease)
                    version = listed["metadata"]["resourceVersion"]
                with self.api.stream("%s?watch=1&fieldSelector=%s&resourceVersion=%s" % (path, selector, version)) as stream:
                    for line in stream:
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            version = None  # 410 Gone: list again
                            break
                        version = event["object"]["metadata"]["resourceVersion"]
                        if event["type"] == "DELETED":
                            self.record({"spec": {}})
                        else:
                            self.record(event["object"])
            except (OSError, ValueError, urllib.error.URLError) as error:
                if not self.stopping:
                    log("lease watch:", error, "(watching again)")
                    time.sleep(0.2)


def ask(address, sock=None):
    """One GET; returns (pod name or None, error or None, the socket when kept alive)."""
    keep = sock is not None
    try:
        if sock is None or sock == "new":
            sock = socket.create_connection(address, timeout=CONNECT_TIMEOUT)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: traffic\r\n" + (b"" if keep else b"Connection: close\r\n") + b"\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed before the answer")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed inside the body")
            body += chunk
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(head.split(b"\r\n")[0].decode(errors="replace"))
        if not keep:
            sock.close()
            sock = None
        return body.decode().strip(), None, sock
    except (OSError, ValueError) as error:
        if sock not in (None, "new"):
            sock.close()
        return None, type(error).__name__ + (": " + str(error) if str(error) else ""), None


class Client:
    """Asks the Service every REQUEST_INTERVAL; records (sent, answered, pod or None, error) in
    send order. A new-connection client runs WORKERS threads, each sending every WORKERS x
    REQUEST_INTERVAL, staggered: a connection that hangs (one whose SYN kube-proxy let through
    while it was rewriting its rules: it then waits for its timeout) holds up one worker, not the
    sampling. The keep-alive client is one thread on one connection, as a pooling client is."""

    WORKERS = 5

    def __init__(self, address, keep_alive):
        self.address, self.keep_alive = address, keep_alive
        self.stopping = False
        self.lock = threading.Lock()
        self.answers = []
        workers = 1 if keep_alive else self.WORKERS
        self.threads = [threading.Thread(target=self.work, args=(i, workers), daemon=True) for i in range(workers)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def work(self, index, workers):
        sock = "new" if self.keep_alive else None
        interval = REQUEST_INTERVAL * workers
        next_send = time.monotonic() + index * REQUEST_INTERVAL
        while not self.stopping:
            delay = next_send - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            pod, error, sock = ask(self.address, sock)
            if self.keep_alive and sock is None:
                sock = "new"
            answered = time.monotonic()
            with self.lock:
                self.answers.append((sent, answered, pod, error))
            next_send += interval
            if next_send < answered:
                next_send = answered

    def snapshot(self):
        with self.lock:
            return sorted(self.answers)


def pods_of(api):
    selector = urllib.parse.quote(ARGS.pod_selector)
    return api.get("/api/v1/namespaces/%s/pods?labelSelector=%s" % (ARGS.namespace, selector))["items"]


def steady(api, watch, client, since):
    """The holder's Pod and every replica are running, and the last second's answers all came from
    the holder. Returns the holder, or None."""
    _, (holder, _, _) = watch.current()
    if not holder:
        return None
    pods = [p for p in pods_of(api) if not p["metadata"].get("deletionTimestamp")]
    if len(pods) != ARGS.replicas or holder not in {p["metadata"]["name"] for p in pods}:
        return None
    for pod in pods:
        statuses = pod["status"].get("containerStatuses") or []
        if len(statuses) != 2 or not all("running" in s.get("state", {}) for s in statuses):
            return None
    now = time.monotonic()
    with client.lock:
        recent = [a for a in client.answers[-200:] if a[0] >= max(now - 1.0, since)]
    if len(recent) < 20 or any(a[2] != holder for a in recent):
        return None
    return holder


def sidecar_pid(api, pod_name):
    pod = api.get("/api/v1/namespaces/%s/pods/%s" % (ARGS.namespace, pod_name))
    for status in pod["status"].get("containerStatuses") or []:
        if status["name"] == ARGS.sidecar_container:
            container = status["containerID"].split("://", 1)[1]
            listed = subprocess.run(["ctr", "--address", ARGS.containerd, "-n", "k8s.io", "tasks", "ls"],
                                    check=True, capture_output=True, text=True).stdout
            for line in listed.splitlines()[1:]:
                fields = line.split()
                if fields and fields[0] == container and fields[2] == "RUNNING":
                    return int(fields[1])
    raise RuntimeError("no running sidecar container in Pod " + pod_name)


def measure():
    api = Api(ARGS.api, ARGS.ca, ARGS.cert, ARGS.key)
    service = api.get("/api/v1/namespaces/%s/services/%s" % (ARGS.namespace, ARGS.service))
    address = (service["spec"]["clusterIP"], service["spec"]["ports"][0]["port"])
    watch = LeaseWatch(api, ARGS.namespace, ARGS.lease)
    client = Client(address, keep_alive=False)
    kept = Client(address, keep_alive=True)
    started = time.monotonic()
    # The clients start once the Lease is known, so every answer has a holder to be judged by.
    watch.start()
    while not watch.current()[0]:
        if time.monotonic() - started > ARGS.steady_timeout:
            log("the Lease %s/%s could not be read in %d s" % (ARGS.namespace, ARGS.lease, ARGS.steady_timeout))
            return 1
        time.sleep(0.05)
    for thread in (client, kept):
        thread.start()
    log("asking %s:%d; waiting for a steady leader" % address)
    actions = []
    plan = [a for _ in range(ARGS.runs) for a in ("delete", "kill")]
    failure = None
    for number, action in enumerate(plan, 1):
        since = time.monotonic()
        holder = None
        while holder is None and time.monotonic() - since < ARGS.steady_timeout:
            time.sleep(0.2)
            holder = steady(api, watch, client, since)
        if holder is None:
            failure = "not steady within %d s before action %d (%s); Lease term %s" % (
                ARGS.steady_timeout, number, action, watch.current()[1])
            break
        term_before = watch.current()[1]
        if action == "kill":
            pid = sidecar_pid(api, holder)
            acted = time.monotonic()
            os.kill(pid, signal.SIGKILL)
        else:
            acted = time.monotonic()
            api.request("DELETE", "/api/v1/namespaces/%s/pods/%s" % (ARGS.namespace, holder))
        record = {"action": action, "pod": holder, "at": acted - started}
        # The next term with a holder, and that holder's first answer after the term began.
        deadline = acted + ARGS.failover_timeout
        new_term = None
        while time.monotonic() < deadline and new_term is None:
            time.sleep(0.02)
            with watch.lock:
                later = [(t, term) for t, term in watch.terms if t >= acted - 0.001 and term != term_before and term[0]]
            if later:
                new_term = later[0]
        # Answers are appended as they come, so the first match in that order is the first answer;
        # only what arrived since the last look is scanned.
        first = None
        scanned = 0
        while new_term is not None and time.monotonic() < deadline and first is None:
            time.sleep(0.02)
            with client.lock:
                fresh = client.answers[scanned:]
            scanned += len(fresh)
            first = next((a for a in fresh if a[0] >= new_term[0] and a[2] == new_term[1][0]), None)
        if new_term is None or first is None:
            record["error"] = "no answer from a new leader within %d s (Lease term %s)" % (
                ARGS.failover_timeout, watch.current()[1])
            actions.append(record)
            failure = record["error"]
            break
        record.update(new_leader=new_term[1][0], lease_failover_s=new_term[0] - acted,
                      traffic_failover_s=first[1] - acted,
                      failed_requests=sum(1 for a in client.snapshot() if acted <= a[0] <= first[0] and a[2] is None))
        actions.append(record)
        log("%2d %-6s %s -> %s: Lease %.2f s, traffic %.2f s, %d failed requests" % (
            number, action, holder, record["new_leader"], record["lease_failover_s"], record["traffic_failover_s"],
            record["failed_requests"]))
    time.sleep(1.0)  # answers after the last handover count too
    for thread in (watch, client, kept):
        thread.stopping = True  # the watch thread may block up to its timeout; it is a daemon
    ended = time.monotonic()
    with watch.lock:
        terms = [(t - started, list(term)) for t, term in watch.terms]
    result = {
        "mode": ARGS.mode, "namespace": ARGS.namespace, "duration_s": ended - started, "actions": actions,
        "failure": failure, "terms": terms,
        "answers": [(s - started, r - started, pod, err) for s, r, pod, err in client.snapshot()],
        "kept_alive": [(s - started, r - started, pod, err) for s, r, pod, err in kept.snapshot()],
        "settings": {"request_interval_s": REQUEST_INTERVAL, "connect_timeout_s": CONNECT_TIMEOUT,
                     "new_connection_workers": Client.WORKERS},
    }
    with open(ARGS.out, "w") as out:
        json.dump(result, out)
    log("wrote %s (%d answers, %d Lease terms)%s" % (ARGS.out, len(result["answers"]), len(terms),
                                                  "; FAILED: " + failure if failure else ""))
    return 1 if failure else 0


def classify(result, answers):
    """Splits the answers into the leader's, the previous holder's inside a handover window, the
    non-leaders' outside, and failures outside windows. The windows close at the new-connection
    client's first answer from the next holder, for the keep-alive client's answers too."""
    terms = result["terms"]  # [t, [holder, acquireTime, transitions]], in order

    def holders_between(t0, t1):
        names = set()
        for i, (t, term) in enumerate(terms):
            end = terms[i + 1][0] if i + 1 < len(terms) else float("inf")
            if t <= t1 and end >= t0:
                names.add(term[0])
        return names

    # Windows: from the end of each held term to the first answer of the next held term's holder.
    windows = []
    for i in range(len(terms) - 1):
        old = terms[i][1][0]
        if not old:
            continue
        left = terms[i + 1][0]
        nxt = next(((t, term) for t, term in terms[i + 1:] if term[0]), None)
        end = float("inf")
        if nxt is not None:
            first = next((a for a in result["answers"] if a[0] >= nxt[0] and a[2] == nxt[1][0]), None)
            end = first[1] if first else float("inf")
        windows.append((left, end, old))
    counts = {"leader": 0, "previous_holder_in_window": 0, "non_leader": 0, "failed_outside_window": 0}
    samples = []
    for sent, answered, pod, _ in answers:
        open_windows = [w for w in windows if w[0] <= answered and sent <= w[1]]
        if pod is None:
            if not open_windows:
                counts["failed_outside_window"] += 1
            continue
        if pod in holders_between(sent, answered):
            counts["leader"] += 1
        elif any(pod == w[2] for w in open_windows):
            counts["previous_holder_in_window"] += 1
        else:
            counts["non_leader"] += 1
            if len(samples) < 5:
                samples.append({"sent": round(sent, 3), "pod": pod, "holders": sorted(holders_between(sent, answered))})
    return counts, samples


def failed_between_handovers(result):
    """Failed requests outside every handover (from an action to the new leader's first answer),
    after the first leader's first answer: traffic lost while one Pod led undisturbed."""
    answers = result["answers"]
    first_held = next((t for t, term in result["terms"] if term[0]), None)
    if first_held is None:
        return 0
    first_answer = next((a[1] for a in answers if a[0] >= first_held and a[2]), None)
    if first_answer is None:
        return 0
    busy = [(a["at"], a["at"] + a.get("traffic_failover_s", float("inf"))) for a in result["actions"]]
    return sum(1 for sent, _, pod, _ in answers
               if pod is None and sent > first_answer and not any(start <= sent <= end for start, end in busy))


def report():
    rows, failed = [], []
    for path in ARGS.files:
        with open(path) as f:
            result = json.load(f)
        mode = result["mode"]
        counts, samples = classify(result, result["answers"])
        kept, _ = classify(result, result["kept_alive"])
        done = [a for a in result["actions"] if "error" not in a]
        row = {"mode": mode, "counts": counts, "kept_alive": kept, "samples": samples, "failure": result["failure"],
               "failed_between": failed_between_handovers(result)}
        for action in ("delete", "kill"):
            runs = [a for a in done if a["action"] == action]
            traffic = [a["traffic_failover_s"] for a in runs]
            lease = [a["lease_failover_s"] for a in runs]
            row[action] = {
                "runs": len(runs),
                "traffic_median_s": statistics.median(traffic) if traffic else None,
                "traffic_max_s": max(traffic) if traffic else None,
                "lease_median_s": statistics.median(lease) if lease else None,
                "failed_requests": sum(a["failed_requests"] for a in runs),
                "new_leader_same_pod": sum(1 for a in runs if a["new_leader"] == a["pod"]),
            }
        rows.append(row)
        if result["failure"]:
            failed.append("%s: %s" % (mode, result["failure"]))
        for action in ("delete", "kill"):
            if row[action]["runs"] < ARGS.min_runs:
                failed.append("%s: %d %s runs reached a new leader, fewer than %d" % (mode, row[action]["runs"], action, ARGS.min_runs))
        if mode in STRICT_MODES and counts["non_leader"]:
            failed.append("%s: %d answers from a Pod the Lease did not name, outside a handover window: %s" % (
                mode, counts["non_leader"], samples))
    fmt = lambda v: "-" if v is None else "%.2f" % v
    lines = [
        "| mode | Pod deleted: traffic median / max (s) | Lease | sidecar SIGKILL: traffic median / max (s) | Lease | "
        "failed requests (delete / kill) | failed between handovers | non-leader answers outside a window | "
        "previous holder in a window | keep-alive: non-leader answers |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        d, k = row["delete"], row["kill"]
        lines.append("| %s | %s / %s (%d runs) | %s | %s / %s (%d runs, %d same Pod) | %s | %d / %d | %d | %d | %d | %d |" % (
            row["mode"], fmt(d["traffic_median_s"]), fmt(d["traffic_max_s"]), d["runs"], fmt(d["lease_median_s"]),
            fmt(k["traffic_median_s"]), fmt(k["traffic_max_s"]), k["runs"], k["new_leader_same_pod"],
            fmt(k["lease_median_s"]), d["failed_requests"], k["failed_requests"],
            row["failed_between"], row["counts"]["non_leader"],
            row["counts"]["previous_holder_in_window"], row["kept_alive"]["non_leader"]))
    table = "\n".join(lines)
    print(table)
    if ARGS.markdown:
        with open(ARGS.markdown, "w") as out:
            out.write(table + "\n")
    if ARGS.json:
        with open(ARGS.json, "w") as out:
            json.dump(rows, out, indent=1)
    for line in failed:
        print("FAILED:", line, file=sys.stderr)
    return 1 if failed else 0


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1, not %s" % text)
    return value


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--mode", required=True)
    m.add_argument("--namespace", required=True)
    m.add_argument("--service", required=True)
    m.add_argument("--lease", required=True)
    m.add_argument("--pod-selector", required=True)
    m.add_argument("--replicas", type=int, default=3)
    m.add_argument("--sidecar-container", default="lease-elector")
    m.add_argument("--runs", type=positive, default=5)
    m.add_argument("--steady-timeout", type=int, default=120)
    m.add_argument("--failover-timeout", type=int, default=60)
    m.add_argument("--out", required=True)
    for name in ("api", "ca", "cert", "key", "containerd"):
        m.add_argument("--" + name, default=os.environ.get("CLUSTER_" + name.upper()), required=not os.environ.get("CLUSTER_" + name.upper()))
    r = sub.add_parser("report")
    r.add_argument("files", nargs="+")
    r.add_argument("--markdown")
    r.add_argument("--json")
    r.add_argument("--min-runs", type=positive, default=5)
    ARGS = parser.parse_args()
    if ARGS.command == "report":
        ARGS.mode = "report"
        return report()
    return measure()


if __name__ == "__main__":
    sys.exit(main())
