#!/usr/bin/python3
"""Checks every lease-elector container in the examples' manifests the way a cluster would not:
the Downward API names the sidecar reads (a misspelt name is a valid variable the sidecar never
sees), and a readiness probe beside a startup probe (without one the kubelet may report the
container ready only at its next full sync, up to a minute: kubernetes/kubernetes#95140).
    check_sidecars.py MANIFEST...
"""
import sys

import yaml

failures = []
checked = 0
for path in sys.argv[1:]:
    with open(path) as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    for document in documents:
        spec = ((document.get("spec") or {}).get("template") or {}).get("spec") or document.get("spec") or {}
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            if "lease-elector" not in container.get("image", ""):
                continue
            checked += 1
            name = (document.get("metadata") or {}).get("name", "(a patch)")
            where = "%s: %s %s container %s" % (path, document.get("kind", "patch"), name, container["name"])
            env = {e["name"]: ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") for e in container.get("env") or []}
            if env.get("POD_NAME") != "metadata.name":
                failures.append(where + ": no POD_NAME from metadata.name (env names: %s)" % sorted(env))
            if "POD_NAMESPACE" in env and env["POD_NAMESPACE"] != "metadata.namespace":
                failures.append(where + ": POD_NAMESPACE is not metadata.namespace")
            if "POD_UID" in env and env["POD_UID"] != "metadata.uid":
                failures.append(where + ": POD_UID is not metadata.uid")
            stray = [name for name in env
                     if name.startswith("POD_") and name not in ("POD_NAME", "POD_NAMESPACE", "POD_IP", "POD_UID")]
            if stray:
                failures.append(where + ": env names the sidecar does not read: %s" % stray)
            if container.get("startupProbe") and not container.get("readinessProbe"):
                failures.append(where + ": a startup probe without a readiness probe")
for failure in failures:
    print("FAILED:", failure, file=sys.stderr)
if not checked:
    sys.exit("check_sidecars.py: no lease-elector container found in %s" % sys.argv[1:])
print("%d lease-elector containers checked" % checked)
sys.exit(1 if failures else 0)
