# Sourced by CI scripts that run something against the local API server (build/fake-apiserver):
#   local_cluster_start DIR   starts it with TLS in DIR; sets API_URL, ADMIN_URL, ADMIN_TOKEN,
#                             CA_FILE, KUBECONFIG_FILE (a kubeconfig with the admin token)
#   local_cluster_stop        stops it (call it from the caller's EXIT trap)
#   lease_holder NS NAME      prints the Lease's spec.holderIdentity ("" when released); fails,
#                             printing nothing, when it cannot tell (see below)
# Only processes this file started are ever signalled, by their process id.

LOCAL_CLUSTER_PID=""

local_cluster_start() {
  local dir=$1 binary=${FAKE_APISERVER:-build/fake-apiserver}
  [ -x "$binary" ] || { echo "local-cluster: $binary is missing (build it: cmake --build build --target fake-apiserver)" >&2; return 1; }
  mkdir -p "$dir"
  # What an earlier start in DIR wrote would pass the wait below before this server answered.
  rm -f "$dir/apiserver.json" "$dir/kubeconfig"
  "$binary" --listen 127.0.0.1:0 --tls --state-dir "$dir" --port-file "$dir/apiserver.json" \
    --kubeconfig-out "$dir/kubeconfig" >"$dir/apiserver.log" 2>&1 &
  LOCAL_CLUSTER_PID=$!
  local tries=0
  until [ -s "$dir/apiserver.json" ] && [ -s "$dir/kubeconfig" ]; do
    kill -0 "$LOCAL_CLUSTER_PID" 2>/dev/null || { echo "local-cluster: the API server exited:" >&2; cat "$dir/apiserver.log" >&2; return 1; }
    tries=$((tries + 1))
    [ $tries -lt 400 ] || { echo "local-cluster: the API server did not start in 20 s" >&2; return 1; }
    sleep 0.05
  done
  API_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$dir/apiserver.json")
  ADMIN_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$dir/apiserver.json")
  ADMIN_TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("token","admin-token"))' "$dir/apiserver.json")
  CA_FILE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("ca",sys.argv[2]))' "$dir/apiserver.json" "$dir/ca.crt")
  KUBECONFIG_FILE=$dir/kubeconfig
}

local_cluster_stop() {
  if [ -n "$LOCAL_CLUSTER_PID" ]; then
    kill "$LOCAL_CLUSTER_PID" 2>/dev/null || true
    wait "$LOCAL_CLUSTER_PID" 2>/dev/null || true
    LOCAL_CLUSTER_PID=""
  fi
}

# lease_holder NS NAME: prints the Lease's spec.holderIdentity and a newline, an empty line when the
# Lease exists without a holder (released), and returns 0. On any failure (no answer, a missing
# Lease, an error status, a body that is not that Lease) it prints nothing on stdout, the reason
# on stderr, and returns 1. Take its output into a variable first (holder=$(lease_holder NS NAME),
# under set -e or with `|| ...`): inside [ "$(lease_holder NS NAME)" = ... ] its status is lost.
lease_holder() {
  python3 - "$API_URL/apis/coordination.k8s.io/v1/namespaces/$1/leases/$2" "$2" "$CA_FILE" "$ADMIN_TOKEN" <<'PY'
import http.client, json, ssl, sys, urllib.error, urllib.request
url, name, ca, token = sys.argv[1:5]
request = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
try:
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=ca), timeout=10) as r:
        lease = json.load(r)
except urllib.error.HTTPError as error:
    sys.exit("lease_holder: GET %s: %d %s" % (url, error.code, error.read(300).decode(errors="replace")))
except (OSError, ValueError, http.client.HTTPException) as error:
    sys.exit("lease_holder: GET %s: %s" % (url, error))
if not isinstance(lease, dict) or (lease.get("metadata") or {}).get("name") != name:
    sys.exit("lease_holder: GET %s: not the Lease %s: %.300s" % (url, name, json.dumps(lease)))
print((lease.get("spec") or {}).get("holderIdentity") or "")
PY
}

# lease_set_holder NS NAME HOLDER: writes the Lease as another process would (HOLDER "" releases
# it), with a conditional update on the resourceVersion just read, retried on a conflict with a
# sidecar's renewal (one process, so the read and the write are close together). Used to take
# leadership away from a sidecar without stopping it.
lease_set_holder() {
  python3 - "$API_URL/apis/coordination.k8s.io/v1/namespaces/$1/leases/$2" "$3" "$CA_FILE" "$ADMIN_TOKEN" <<'PY'
import datetime, json, ssl, sys, time, urllib.error, urllib.request
url, holder, ca, token = sys.argv[1:5]
context = ssl.create_default_context(cafile=ca)
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for attempt in range(20):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), context=context) as r:
        lease = json.load(r)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    spec = lease.setdefault("spec", {})
    spec.update(holderIdentity=holder, acquireTime=now, renewTime=now,
                leaseTransitions=spec.get("leaseTransitions", 0) + 1)
    request = urllib.request.Request(url, data=json.dumps(lease).encode(), headers=headers, method="PUT")
    try:
        urllib.request.urlopen(request, context=context).close()
        sys.exit(0)
    except urllib.error.HTTPError as error:
        if error.code != 409:
            raise
        time.sleep(0.02)
sys.exit("lease_set_holder: 20 conflicts in a row on " + url)
PY
}
