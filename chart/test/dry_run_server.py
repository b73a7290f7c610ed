"""Sends every object the chart renders, for each route mode, to a real API server as a
server-side dry run (POST ...?dryRun=All) and fails on any refusal, showing the server's answer.
Resources, and the API versions the chart is rendered for, are found through the server's discovery
documents, as `helm install` finds them, so the chart's version choices (policy/v1beta1
PodDisruptionBudget and discovery.k8s.io/v1beta1 EndpointSlice on 1.20, policy/v1 and
discovery.k8s.io/v1 on current versions) are what is tested."""
import argparse
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request

import yaml

MODES = ["readiness", "label", "readiness-gate", "endpoints"]
NAMESPACE = "default"


def load_kubeconfig(path):
    config = yaml.safe_load(open(path))
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if "token" in user:
        headers["Authorization"] = "Bearer " + user["token"]
    else:
        context.load_cert_chain(user["client-certificate"], user["client-key"])
    return cluster["server"], context, headers


def call(server, context, headers, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--helm", required=True)
    parser.add_argument("--chart", required=True)
    parser.add_argument("--kubeconfig", required=True)
    args = parser.parse_args()
    server, context, headers = load_kubeconfig(args.kubeconfig)

    status, version = call(server, context, headers, "GET", "/version")
    kube_version = "%s.%s" % (version["major"], version["minor"].rstrip("+"))
    plurals = {}  # (apiVersion, kind) -> (path prefix, namespaced)

    def resource(api_version, kind):
        if (api_version, kind) not in plurals:
            base = "/api/v1" if api_version == "v1" else "/apis/" + api_version
            status, listing = call(server, context, headers, "GET", base)
            if status != 200:
                return None
            for entry in listing.get("resources", []):
                if "/" not in entry["name"]:
                    plurals[(api_version, entry["kind"])] = (base, entry["name"], entry["namespaced"])
        return plurals.get((api_version, kind))

    # What `helm install` sees as .Capabilities.APIVersions: every group/version the server serves,
    # and group/version/Kind for each of its resources. helm template otherwise uses its client
    # library's built-in list (1.21's for helm 3.6), so the chart would pick policy/v1beta1 for a
    # PodDisruptionBudget on a server that no longer serves it (removed in 1.25).
    api_versions = []
    status, core = call(server, context, headers, "GET", "/api/v1")
    if status != 200:
        print("FAIL: GET /api/v1 answered %d" % status)
        return 1
    api_versions += ["v1"] + ["v1/" + r["kind"] for r in core["resources"] if "/" not in r["name"]]
    status, groups = call(server, context, headers, "GET", "/apis")
    if status != 200:
        print("FAIL: GET /apis answered %d" % status)
        return 1
    for group in groups["groups"]:
        for entry in group["versions"]:
            gv = entry["groupVersion"]
            status, listing = call(server, context, headers, "GET", "/apis/" + gv)
            if status != 200:
                continue  # listed but not served (an aggregated API without its backend)
            api_versions.append(gv)
            api_versions += [gv + "/" + r["kind"] for r in listing["resources"] if "/" not in r["name"]]

    # From 1.25 the server can refuse a field it does not know instead of dropping it silently (a
    # misspelt or misplaced key in a template); 1.20 cannot.
    strict = int(version["major"]) > 1 or int(version["minor"].rstrip("+")) >= 25

    failures = 0
    checked = 0
    for mode in MODES:
        command = [args.helm, "template", "dry-run", args.chart, "--namespace", NAMESPACE,
                   "--kube-version", kube_version, "--set", "route.mode=" + mode]
        for api_version in api_versions:
            command += ["--api-versions", api_version]
        rendered = subprocess.run(command, check=True, capture_output=True, text=True).stdout
        for document in yaml.safe_load_all(rendered):
            if not document:
                continue
            api_version, kind = document["apiVersion"], document["kind"]
            found = resource(api_version, kind)
            if found is None:
                print("FAIL %s: %s %s is not served by this %s server" % (mode, api_version, kind, kube_version))
                failures += 1
                continue
            base, plural, namespaced = found
            path = base + ("/namespaces/" + NAMESPACE if namespaced else "") + "/" + plural + "?dryRun=All"
            if strict:
                path += "&fieldValidation=Strict"
            status, answer = call(server, context, headers, "POST", path, document)
            checked += 1
            name = document["metadata"]["name"]
            if status not in (200, 201):
                print("FAIL %s: %s %s: %d %s" % (mode, kind, name, status, json.dumps(answer)))
                failures += 1
            else:
                print("ok   %s: %s %s (%s)" % (mode, kind, name, api_version))
    print("chart dry run on kube-apiserver %s: %d objects, %d refused" % (kube_version, checked, failures))
    return 1 if failures or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
