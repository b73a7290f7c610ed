{{/* Names, labels and the per-mode and per-version choices the templates share. */}}

{{- define "lease-elector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "lease-elector.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The workload's labels: the Deployment's selector, the sidecar's --pod-selector, and (with the
leader label added in label mode) the Service's selector. Never the leader label itself: the
Deployment must keep owning a Pod whose label the leader changes. */}}
{{- define "lease-elector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "lease-elector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lease-elector.labels" -}}
{{ include "lease-elector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The same labels as the sidecar's --pod-selector value: key=value,key=value. */}}
{{- define "lease-elector.podSelector" -}}
{{- $pairs := list -}}
{{- range $key, $value := include "lease-elector.selectorLabels" . | fromYaml -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{- define "lease-elector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "lease-elector.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "lease-elector.leaseName" -}}
{{- default (include "lease-elector.fullname" .) .Values.lease.name -}}
{{- end -}}

{{/* "true" when the sidecar runs as a native sidecar: an init container with restartPolicy
Always. GA-on-by-default from 1.29; an older API server drops the field and then refuses the
Deployment (an init container may not have the sidecar's probes), so "auto" never picks it below
1.29. */}}
{{- define "lease-elector.native" -}}
{{- $native := .Values.sidecar.native | toString -}}
{{- if eq $native "auto" -}}
{{- semverCompare ">=1.29.0-0" .Capabilities.KubeVersion.Version | toString -}}
{{- else -}}
{{- $native -}}
{{- end -}}
{{- end -}}

{{- define "lease-elector.releaseDelay" -}}
{{- if .Values.lease.releaseDelay -}}
{{- .Values.lease.releaseDelay -}}
{{- else if eq (include "lease-elector.native" .) "true" -}}
0s
{{- else -}}
1s
{{- end -}}
{{- end -}}

{{/* A Go duration as the schema allows it (e.g. 1m30s, 500ms) in milliseconds. */}}
{{- define "lease-elector.durationMs" -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+(ms|s|m)" . -1 -}}
{{- $number := regexFind "^[0-9]+" . | atoi -}}
{{- if hasSuffix "ms" . -}}
{{- $total = add $total $number -}}
{{- else if hasSuffix "s" . -}}
{{- $total = add $total (mul $number 1000) -}}
{{- else -}}
{{- $total = add $total (mul $number 60000) -}}
{{- end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* The readiness modes feed the Pod's Ready condition from leadership. */}}
{{- define "lease-elector.readinessMode" -}}
{{- has .Values.route.mode (list "readiness" "readiness-gate") | toString -}}
{{- end -}}

{{- define "lease-elector.pdbEnabled" -}}
{{- $enabled := .Values.pdb.enabled | toString -}}
{{- if eq $enabled "auto" -}}
{{- not (eq (include "lease-elector.readinessMode" .) "true") | toString -}}
{{- else -}}
{{- $enabled -}}
{{- end -}}
{{- end -}}

{{/* policy/v1 from 1.21; 1.20 serves only policy/v1beta1. Both the discovered API versions and
the server version must allow v1, so that `helm template --kube-version 1.20` (whose default API
list comes from helm's own client library) renders what a 1.20 server accepts. The group version,
not "policy/v1/PodDisruptionBudget": helm's default list (helm template and helm lint without
--api-versions) names no kinds, and helm 4 defaults to a Kubernetes that no longer serves v1beta1. */}}
{{- define "lease-elector.pdbApiVersion" -}}
{{- if and (.Capabilities.APIVersions.Has "policy/v1") (semverCompare ">=1.21.0-0" .Capabilities.KubeVersion.Version) -}}
policy/v1
{{- else -}}
policy/v1beta1
{{- end -}}
{{- end -}}

{{/* endpoints mode: the ports the leader writes into the EndpointSlice, name:port/protocol,
from the Service's ports; a named targetPort is looked up among the app's ports. */}}
{{- define "lease-elector.endpointPorts" -}}
{{- $out := list -}}
{{- range .Values.service.ports -}}
{{- $port := .targetPort | default .port -}}
{{- if kindIs "string" $port -}}
{{- $name := $port -}}
{{- $port = "" -}}
{{- range $.Values.app.ports -}}
{{- if eq .name $name -}}{{- $port = .containerPort -}}{{- end -}}
{{- end -}}
{{- if not $port -}}
{{- fail (printf "service.ports: targetPort %q names no port in app.ports" $name) -}}
{{- end -}}
{{- end -}}
{{- $out = append $out (printf "%s:%v/%s" .name $port (.protocol | default "TCP")) -}}
{{- end -}}
{{- join "," $out -}}
{{- end -}}

{{/* The sidecar's port shares the Pod with the app's: a second port named "elector" would make the
probes and the PodMonitor that name it ambiguous, and a second listener on its number cannot bind
(every container of a Pod shares one network namespace). Checked here, not left to a Pod that
never becomes Ready. */}}
{{- define "lease-elector.checkPorts" -}}
{{- $proxy := eq .Values.route.mode "proxy" -}}
{{- range .Values.app.ports -}}
{{- if or (eq .name "elector") (and $proxy (eq .name "elector-proxy")) -}}
{{- fail (printf "app.ports: the name %q is the sidecar's port's; give the app's port another name" .name) -}}
{{- end -}}
{{- if eq (int .containerPort) (int $.Values.sidecar.port) -}}
{{- fail (printf "app.ports: containerPort %v is sidecar.port; the app and the sidecar share the Pod's network, so one of them needs another port" .containerPort) -}}
{{- end -}}
{{- if and $proxy (eq (int .containerPort) (int $.Values.route.proxy.port)) -}}
{{- fail (printf "app.ports: containerPort %v is route.proxy.port; the app and the proxy share the Pod's network, so one of them needs another port" .containerPort) -}}
{{- end -}}
{{- end -}}
{{- if $proxy -}}
{{- if eq (int .Values.route.proxy.port) (int .Values.sidecar.port) -}}
{{- fail "route.proxy.port is sidecar.port: the proxy needs a port of its own" -}}
{{- end -}}
{{- if and .Values.service.enabled (gt (len .Values.service.ports) 1) -}}
{{- fail "service.ports: proxy mode passes every request to one app port (route.proxy.upstreamPort): give the Service one port" -}}
{{- end -}}
{{- if .Values.runMode.enabled -}}
{{- fail "route.mode proxy cannot be combined with runMode: the app runs only on the leader there, and the proxy needs it on every replica to serve the Service" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* proxy mode: the app's port the proxy passes requests to, on loopback. */}}
{{- define "lease-elector.upstreamPort" -}}
{{- if .Values.route.proxy.upstreamPort -}}
{{- .Values.route.proxy.upstreamPort -}}
{{- else if .Values.app.ports -}}
{{- (first .Values.app.ports).containerPort -}}
{{- else -}}
{{- fail "route.proxy.upstreamPort: the app has no ports (app.ports) to pass requests to; set one" -}}
{{- end -}}
{{- end -}}

{{/* Timing rules the sidecar enforces too, checked here so a bad value fails at install time
rather than in a crash-looping Pod. */}}
{{- define "lease-elector.checkTiming" -}}
{{- $duration := include "lease-elector.durationMs" .Values.lease.duration | atoi -}}
{{- $renew := include "lease-elector.durationMs" .Values.lease.renewDeadline | atoi -}}
{{- $retry := include "lease-elector.durationMs" .Values.lease.retryPeriod | atoi -}}
{{- $release := include "lease-elector.durationMs" (include "lease-elector.releaseDelay" .) | atoi -}}
{{- if or (lt $duration 1000) (ne (mod $duration 1000) 0) -}}
{{- fail (printf "lease.duration %s: the Lease stores whole seconds, at least 1s" .Values.lease.duration) -}}
{{- end -}}
{{- if ge $renew $duration -}}
{{- fail "lease.renewDeadline must be shorter than lease.duration" -}}
{{- end -}}
{{- if ge (mul $retry 12) (mul $renew 10) -}}
{{- fail "1.2 x lease.retryPeriod must be shorter than lease.renewDeadline" -}}
{{- end -}}
{{- if gt $release 15000 -}}
{{- fail "lease.releaseDelay is at most 15s" -}}
{{- end -}}
{{- /* the release itself: one request, at most 3s after the signal */ -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) (add $release 3000) -}}
{{- fail (printf "terminationGracePeriodSeconds %v must be longer than the release delay (%s) plus the release (3s)" .Values.terminationGracePeriodSeconds (include "lease-elector.releaseDelay" .)) -}}
{{- end -}}
{{- if .Values.runMode.enabled -}}
{{- if not .Values.app.command -}}
{{- fail "runMode.enabled: set app.command to the app's command (lease-elector becomes the container's entrypoint, so the image's ENTRYPOINT is not used)" -}}
{{- end -}}
{{- if .Values.sidecar.appHealth.url -}}
{{- fail "runMode.enabled cannot be combined with sidecar.appHealth.url: the app runs only on the leader, so a follower has no app to check" -}}
{{- end -}}
{{- if .Values.sidecar.notify.url -}}
{{- fail "runMode.enabled cannot be combined with sidecar.notify.url: the app runs only while its replica leads, and is told so by its start and by SIGTERM" -}}
{{- end -}}
{{- /* the sidecar's own rule, as --run-grace checks it */ -}}
{{- $grace := include "lease-elector.durationMs" .Values.runMode.grace | atoi -}}
{{- if ge $grace (sub $renew (mul $retry 2)) -}}
{{- fail (printf "runMode.grace %s must be below lease.renewDeadline minus two lease.retryPeriod" .Values.runMode.grace) -}}
{{- end -}}
{{- /* the release comes only after the app has exited */ -}}
{{- if le (mul (int .Values.terminationGracePeriodSeconds) 1000) (add $release 3000 $grace) -}}
{{- fail (printf "terminationGracePeriodSeconds %v must be longer than runMode.grace (%s) plus the release delay (%s) plus the release (3s)" .Values.terminationGracePeriodSeconds .Values.runMode.grace (include "lease-elector.releaseDelay" .)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Fails the rendering when a monitoring.coreos.com/v1 object is enabled on a cluster without the
Prometheus operator's API: rendering nothing would look like success and scrape nothing. */}}
{{- define "lease-elector.requireMonitoringApi" -}}
{{- $what := index . 0 -}}
{{- $root := index . 1 -}}
{{- if not ($root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1") -}}
{{- fail (printf "%s: the cluster has no monitoring.coreos.com/v1 API (the Prometheus operator's CRDs); install the operator, or set %s=false and use metrics.scrapeAnnotations (helm template needs --api-versions monitoring.coreos.com/v1)" $what $what) -}}
{{- end -}}
{{- end -}}

{{/* The label matchers that pick this release's sidecars out of every series of a metric name
(kube-controller-manager and the scheduler export leader_election_master_status too). */}}
{{- define "lease-elector.ruleSelector" -}}
{{- if .Values.prometheusRule.selector -}}
{{- .Values.prometheusRule.selector -}}
{{- else if .Values.metrics.podMonitor.enabled -}}
job="{{ .Release.Namespace }}/{{ include "lease-elector.fullname" . }}"
{{- else -}}
{{- fail "prometheusRule.enabled: the alerts find this release's series by the PodMonitor's job label; set metrics.podMonitor.enabled=true, or prometheusRule.selector to the labels your scrape config gives them (without either, LeaseElectorNoLeader would fire forever)" -}}
{{- end -}}
{{- end -}}
