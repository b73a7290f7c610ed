#!/usr/bin/env python3
"""Checks one `helm template` output against what the chart promises for a route mode and a
Kubernetes version: least-privilege RBAC, probes, Service shape, PDB choice, native sidecar choice,
Downward API, securityContext, grace period. Usage:
  check_rendered.py RENDERED.yaml --mode MODE --kube-version 1.20.0 [--native auto|true|false]
                    [--lease-create true|false] [--pdb auto|true|false] [--monitoring true|false]
                    [--scrape-annotations true|false]
Exits 1 with every failed check listed."""

import argparse
import re
import sys

import yaml

FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
    return condition


def duration_ms(text):
    units = {"ms": 1, "s": 1000, "m": 60000}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)(ms|s|m)", text))


def version_at_least(version, major, minor):
    found = re.match(r"v?(\d+)\.(\d+)", version)
    return (int(found.group(1)), int(found.group(2))) >= (major, minor)


def rules_of(role):
    """The Role's rules as a set of (apiGroup, resource, verb, resourceNames) tuples."""
    out = set()
    for rule in role.get("rules", []):
        names = tuple(sorted(rule.get("resourceNames", [])))
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb, names))
    return out


def expected_rules(mode, lease, lease_create, fullname):
    lease_names = (lease,)
    rules = {("coordination.k8s.io", "leases", v, lease_names) for v in ("get", "update", "list", "watch")}
    if not lease_create:
        rules.add(("coordination.k8s.io", "leases", "create", ()))
    rules |= {("", "events", v, ()) for v in ("create", "patch")}
    if mode == "label":
        rules |= {("", "pods", v, ()) for v in ("get", "list", "patch")}
    elif mode == "readiness-gate":
        rules |= {("", "pods", "get", ()), ("", "pods", "list", ()), ("", "pods/status", "patch", ())}
    # proxy mode writes nothing but the Lease: no rule beyond the Lease's and Events'.
    elif mode == "endpoints":
        slice_names = (fullname + "-lease-elector",)
        rules |= {("discovery.k8s.io", "endpointslices", v, slice_names) for v in ("get", "update")}
        rules.add(("discovery.k8s.io", "endpointslices", "create", ()))
    return rules


def probe_path(probe):
    return ((probe or {}).get("httpGet") or {}).get("path")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered")
    parser.add_argument("--mode", required=True)
    parser.add_argument("--kube-version", required=True)
    parser.add_argument("--native", default="auto")
    parser.add_argument("--lease-create", default="true")
    parser.add_argument("--pdb", default="auto")
    parser.add_argument("--monitoring", default="false")
    parser.add_argument("--scrape-annotations", default="true")
    args = parser.parse_args()

    with open(args.rendered) as stream:
        docs = [d for d in yaml.safe_load_all(stream) if d]
    by_kind = {}
    for doc in docs:
        check(doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"),
              f"an object lacks apiVersion, kind or metadata.name: {doc}")
        by_kind.setdefault(doc["kind"], []).append(doc)
    kinds = {kind: len(items) for kind, items in by_kind.items()}
    mode = args.mode
    readiness_modes = mode in ("readiness", "readiness-gate")

    deployment = by_kind["Deployment"][0]
    fullname = deployment["metadata"]["name"]
    pod = deployment["spec"]["template"]["spec"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    check(all(pod_labels.get(k) == v for k, v in selector.items()), "the Pod template does not match the selector")
    check(not any(k == "lease-elector.io/leader" for k in selector), "the Deployment selects on the leader label")

    # The sidecar's place: native (init container, restartPolicy Always) or classic.
    want_native = {"auto": version_at_least(args.kube_version, 1, 29), "true": True, "false": False}[args.native]
    init = [c for c in pod.get("initContainers", []) if c["name"] == "lease-elector"]
    classic = [c for c in pod["containers"] if c["name"] == "lease-elector"]
    if want_native:
        check(len(init) == 1 and not classic, "the sidecar should be a native sidecar (init container)")
        check(init and init[0].get("restartPolicy") == "Always", "the native sidecar lacks restartPolicy: Always")
    else:
        check(len(classic) == 1 and not init, "the sidecar should be a classic container")
        check(classic and "restartPolicy" not in classic[0], "a classic container carries restartPolicy")
    sidecar = (init or classic or [{}])[0]
    apps = [c for c in pod["containers"] if c["name"] != "lease-elector"]
    check(len(apps) == 1, "expected exactly one app container")
    app = apps[0] if apps else {}

    # Flags and the Downward API.
    flags = dict(a[2:].split("=", 1) for a in sidecar.get("args", []) if a.startswith("--") and "=" in a)
    lease_name = flags.get("lease-name")
    check(flags.get("route") == mode, f"--route is {flags.get('route')}, expected {mode}")
    pod_selector = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    if mode in ("label", "readiness-gate"):
        given = ",".join(sorted(flags.get("pod-selector", "").split(",")))
        check(given == pod_selector, f"--pod-selector {given} is not the workload's labels {pod_selector}")
    else:
        check("pod-selector" not in flags, "--pod-selector outside label/readiness-gate mode")
    if mode == "endpoints":
        check(flags.get("service") == fullname, "--service does not name the chart's Service")
        check(re.fullmatch(r"[a-z0-9-]+:\d+/(TCP|UDP|SCTP)(,[a-z0-9-]+:\d+/(TCP|UDP|SCTP))*",
                           flags.get("endpoint-ports", "")), f"--endpoint-ports is {flags.get('endpoint-ports')}")
    else:
        check("service" not in flags and "endpoint-ports" not in flags, "endpoints flags outside endpoints mode")
    # proxy mode: the proxy on every replica, passing to the app's first port on loopback.
    proxy_ports = [p for p in sidecar.get("ports", []) if p.get("name") == "elector-proxy"]
    if mode == "proxy":
        app_port = (app.get("ports") or [{}])[0].get("containerPort")
        check(flags.get("proxy-upstream") == f"127.0.0.1:{app_port}",
              f"--proxy-upstream is {flags.get('proxy-upstream')}, expected the app's port {app_port} on loopback")
        check(len(proxy_ports) == 1 and flags.get("proxy-listen") == f"0.0.0.0:{proxy_ports[0]['containerPort']}",
              "--proxy-listen is not the sidecar's elector-proxy port")
        check(flags.get("proxy-follower") in ("forward", "reject", "redirect"), "no --proxy-follower")
    else:
        check(not any(k.startswith("proxy-") for k in flags), "proxy flags outside proxy mode")
        check(not proxy_ports, "an elector-proxy port outside proxy mode")
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in sidecar.get("env", [])}
    check(env.get("POD_NAME") == "metadata.name", "POD_NAME is not the Downward API's metadata.name")
    check(env.get("POD_NAMESPACE") == "metadata.namespace", "POD_NAMESPACE is not metadata.namespace")
    check(env.get("POD_IP") == "status.podIP", "POD_IP is not status.podIP")
    check(env.get("POD_UID") == "metadata.uid", "POD_UID is not metadata.uid (Events on the Pod need it)")

    # Probes per mode.
    check(probe_path(sidecar.get("livenessProbe")) == "/healthz", "the sidecar's liveness probe is not /healthz")
    # Without it a restarted sidecar (it has a startup probe) stays unready up to a minute on the
    # kubelet (kubernetes/kubernetes#95140), and its Pod gets no traffic while it leads.
    check(probe_path(sidecar.get("readinessProbe")) == "/healthz" and
          sidecar["readinessProbe"].get("periodSeconds", 10) <= 2,
          "the sidecar needs a readiness probe on /healthz with a short period")
    readyz = [c["name"] for c in pod["containers"] + pod.get("initContainers", [])
              if probe_path(c.get("readinessProbe")) == "/readyz"]
    if mode == "readiness":
        check(readyz == [app.get("name")], f"readiness mode: /readyz should gate the app container, found {readyz}")
        probe = app.get("readinessProbe", {})
        check(probe.get("periodSeconds") == 1 and probe.get("failureThreshold") == 1,
              "readiness mode: the /readyz probe should use periodSeconds 1, failureThreshold 1")
    else:
        check(not readyz, f"{mode} mode must not probe /readyz (found on {readyz})")
    gates = [g["conditionType"] for g in pod.get("readinessGates", [])]
    if mode == "readiness-gate":
        check(gates == [flags.get("readiness-gate")], f"readinessGates {gates} do not match --readiness-gate")
    else:
        check(not gates, "readinessGates outside readiness-gate mode")

    # Rollouts: the readiness modes cannot keep any pod available during an update.
    strategy = deployment["spec"].get("strategy", {})
    if readiness_modes:
        check(strategy.get("type") == "Recreate" or
              strategy.get("rollingUpdate", {}).get("maxUnavailable") == "100%",
              "readiness modes need Recreate or maxUnavailable 100%")

    # Security.
    security = sidecar.get("securityContext", {})
    check(security.get("runAsNonRoot") is True and security.get("readOnlyRootFilesystem") is True and
          security.get("allowPrivilegeEscalation") is False and
          security.get("capabilities", {}).get("drop") == ["ALL"], "the sidecar's securityContext is not restrictive")
    check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "the Pod does not require non-root")

    # Grace period: longer than the release delay plus the release (3 s).
    release = duration_ms(flags.get("release-delay", ""))
    check(pod.get("terminationGracePeriodSeconds", 30) * 1000 > release + 3000,
          "terminationGracePeriodSeconds is not longer than the release delay plus the release")
    if want_native and args.native != "true":
        check(release == 0, "a native sidecar should default to --release-delay=0s")
    # A step-down leaves the app running: it must get time to notice before the release.
    # (The sidecar's default: the release delay, at least 1 s.)
    step_down_delay = duration_ms(flags["step-down-delay"]) if "step-down-delay" in flags else max(release, 1000)
    check(step_down_delay >= 1000,
          f"a step-down delay of {step_down_delay} ms gives the running app no time to notice a step-down")
    # The control listener moves leadership: loopback only.
    admin = flags.get("admin-http")
    check(admin is None or admin.startswith("127.0.0.1:"), f"--admin-http {admin} is not on loopback")

    # Lease, RBAC.
    leases = by_kind.get("Lease", [])
    if args.lease_create == "true":
        check(len(leases) == 1, "expected the chart to render the Lease")
        if leases:
            lease = leases[0]
            check(lease["metadata"]["name"] == lease_name, "the Lease's name differs from --lease-name")
            check(lease.get("spec") == {}, "the Lease's spec must be empty (no holder)")
            check(lease["metadata"].get("annotations", {}).get("helm.sh/resource-policy") == "keep",
                  "the Lease lacks helm.sh/resource-policy: keep")
    else:
        check(not leases, "lease.create=false still renders a Lease")
    roles = by_kind.get("Role", [])
    if check(len(roles) == 1, "expected one Role"):
        got = rules_of(roles[0])
        want = expected_rules(mode, lease_name, args.lease_create == "true", fullname)
        check(got == want, f"Role rules for {mode}: extra {sorted(got - want)}, missing {sorted(want - got)}")
    bindings = by_kind.get("RoleBinding", [])
    accounts = by_kind.get("ServiceAccount", [])
    if check(len(bindings) == 1 and len(accounts) == 1, "expected one RoleBinding and one ServiceAccount"):
        binding = bindings[0]
        check(binding["roleRef"]["name"] == roles[0]["metadata"]["name"], "the RoleBinding names another Role")
        check(binding["subjects"][0]["name"] == accounts[0]["metadata"]["name"] == pod.get("serviceAccountName"),
              "the RoleBinding, ServiceAccount and Pod disagree on the account")

    # Service per mode.
    services = by_kind.get("Service", [])
    if check(len(services) == 1, "expected one Service"):
        service_selector = services[0]["spec"].get("selector")
        if mode == "endpoints":
            check(not service_selector, "endpoints mode needs a Service without a selector")
            slice_ports = {p.split(":")[0] for p in flags.get("endpoint-ports", "").split(",")}
            check(slice_ports == {p["name"] for p in services[0]["spec"]["ports"]},
                  "endpoint port names must equal the Service's port names")
        elif mode == "label":
            want = dict(selector)
            key, value = flags.get("leader-label", "=").split("=", 1)
            want[key] = value
            check(service_selector == want, f"label mode: the Service selects {service_selector}, expected {want}")
        else:
            check(service_selector == selector, f"{mode} mode: the Service should select the workload's Pods")
        targets = [p.get("targetPort") for p in services[0]["spec"]["ports"]]
        if mode == "proxy":
            check(targets == ["elector-proxy"], f"proxy mode: the Service must target the proxy, found {targets}")
        else:
            check("elector-proxy" not in targets, "a Service targeting the proxy outside proxy mode")

    # Metrics: every Pod's sidecar is scraped (annotations, or the PodMonitor), never the Service.
    elector_ports = [p for p in sidecar.get("ports", []) if p.get("name") == "elector"]
    check(len(elector_ports) == 1, "the sidecar has no port named elector")
    annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
    if args.scrape_annotations == "false":
        check(not any(k.startswith("prometheus.io/") for k in annotations), "scrape annotations that were turned off")
    else:
        check(annotations.get("prometheus.io/scrape") == "true" and annotations.get("prometheus.io/path") == "/metrics",
              "the Pods lack the prometheus.io scrape annotations")
    if elector_ports and args.scrape_annotations != "false":
        check(annotations.get("prometheus.io/port") == str(elector_ports[0]["containerPort"]),
              "prometheus.io/port is not the sidecar's port")
    monitors = by_kind.get("PodMonitor", [])
    want_monitoring = args.monitoring == "true"
    check(len(monitors) == int(want_monitoring), f"PodMonitor rendered {len(monitors)} times")
    check(len(by_kind.get("PrometheusRule", [])) == int(want_monitoring),
          f"PrometheusRule rendered {len(by_kind.get('PrometheusRule', []))} times")
    check(not by_kind.get("ServiceMonitor"), "a ServiceMonitor would see only the leader in label and endpoints modes")
    for monitor in monitors:
        check(monitor["spec"]["selector"]["matchLabels"] == selector, "the PodMonitor selects other Pods")
        endpoints = monitor["spec"]["podMetricsEndpoints"]
        check(len(endpoints) == 1 and endpoints[0].get("port") == "elector" and endpoints[0].get("path") == "/metrics",
              f"the PodMonitor does not scrape the sidecar's /metrics: {endpoints}")

    # PDB: by API version and per mode.
    pdbs = by_kind.get("PodDisruptionBudget", [])
    want_pdb = {"auto": not readiness_modes, "true": True, "false": False}[args.pdb]
    check(len(pdbs) == (1 if want_pdb else 0), f"PDB rendered {len(pdbs)} times, expected {int(want_pdb)}")
    if pdbs:
        want_version = "policy/v1" if version_at_least(args.kube_version, 1, 21) else "policy/v1beta1"
        check(pdbs[0]["apiVersion"] == want_version, f"PDB is {pdbs[0]['apiVersion']}, expected {want_version}")
        check(pdbs[0]["spec"]["selector"]["matchLabels"] == selector, "the PDB selects other Pods")

    if FAILURES:
        print(f"{args.rendered}: {len(FAILURES)} failed check(s) (mode {mode}, kube {args.kube_version}, "
              f"kinds {kinds}):", file=sys.stderr)
        for failure in FAILURES:
            print("  - " + failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
