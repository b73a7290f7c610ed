#!/usr/bin/env python3
"""Checks a rendering of the chart in run mode (runMode.enabled): lease-elector is the app
container's entrypoint, running app.command + app.args after "--", with the sidecar's flags,
Downward API values and probes; an init container copies the binary into an emptyDir; no sidecar
container beside the app.
  check_run_mode.py RENDERED.yaml --mode MODE --command "WORD ..." [--run-exit restart|release]"""
import argparse
import sys

import yaml

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rendered")
    parser.add_argument("--mode", required=True)
    parser.add_argument("--command", required=True, help="the words after --, space-separated")
    parser.add_argument("--run-exit", default="restart")
    args = parser.parse_args()
    with open(args.rendered) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    containers = pod["containers"]
    inits = pod.get("initContainers", [])
    check(not any(c["name"] == "lease-elector" for c in containers + inits), "a sidecar container in run mode")
    check(len(containers) == 1, f"run mode should have the app container alone, not {[c['name'] for c in containers]}")
    check([c["name"] for c in inits] == ["lease-elector-install"], f"init containers: {[c['name'] for c in inits]}")
    if inits:
        install = inits[0]
        check(install.get("args") == ["--install-to=/opt/lease-elector/lease-elector"], f"install args {install.get('args')}")
        check("restartPolicy" not in install, "the install container must run once, not as a native sidecar")
        check(install.get("securityContext", {}).get("runAsNonRoot") is True, "the install container runs as root")
        # A ResourceQuota or LimitRange that asks every container for resources refuses it otherwise.
        check(install.get("resources", {}).get("requests", {}).get("memory"),
              f"the install container has no memory request: {install.get('resources')}")
    app = containers[0]
    check(app.get("command") == ["/opt/lease-elector/lease-elector"], f"the app's command is {app.get('command')}")
    argv = app.get("args", [])
    check("--" in argv, "no -- before the app's command")
    if "--" in argv:
        split = argv.index("--")
        check(argv[split + 1:] == args.command.split(), f"after --: {argv[split + 1:]}, not {args.command.split()}")
        flags = dict(a[2:].split("=", 1) for a in argv[:split] if a.startswith("--") and "=" in a)
        for flag in ("lease-name", "http", "lease-duration", "renew-deadline", "retry-period", "run-grace"):
            check(flag in flags, f"--{flag} missing before --")
        check(flags.get("route") == args.mode, f"--route={flags.get('route')}")
        check(flags.get("run-exit") == args.run_exit, f"--run-exit={flags.get('run-exit')}")
    env = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in app.get("env", [])}
    for name, path in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"),
                       ("POD_IP", "status.podIP"), ("POD_UID", "metadata.uid")):
        check(env.get(name) == path, f"{name} is not the Downward API's {path}")
    check(any(p.get("name") == "elector" for p in app.get("ports", [])), "no elector port on the app container")
    check(app.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/healthz", "liveness is not /healthz")
    readiness = app.get("readinessProbe", {}).get("httpGet", {}).get("path")
    check(readiness == ("/readyz" if args.mode == "readiness" else "/healthz"),
          f"readiness probe {readiness} in {args.mode} mode (the app's own would fail on followers)")
    mounts = {m["name"]: m for m in app.get("volumeMounts", [])}
    check(mounts.get("lease-elector-bin", {}).get("mountPath") == "/opt/lease-elector", "the binary is not mounted")
    check(mounts.get("lease-elector-bin", {}).get("readOnly") is True, "the binary's volume is writable by the app")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    check("emptyDir" in volumes.get("lease-elector-bin", {}), "no emptyDir for the binary")
    for message in failures:
        print(f"{args.rendered}: {message}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
