{{/* The sidecar's flags, one list item each: the sidecar container's args, and in run mode the
app container's before "--". */}}
{{- define "lease-elector.args" -}}
{{- $mode := .Values.route.mode -}}
- --lease-name={{ include "lease-elector.leaseName" . }}
- --http=0.0.0.0:{{ .Values.sidecar.port }}
- --lease-duration={{ .Values.lease.duration }}
- --renew-deadline={{ .Values.lease.renewDeadline }}
- --retry-period={{ .Values.lease.retryPeriod }}
- --release-delay={{ include "lease-elector.releaseDelay" . }}
{{- if .Values.lease.stepDownDelay }}
- --step-down-delay={{ .Values.lease.stepDownDelay }}
{{- end }}
- --step-down-holdoff={{ .Values.sidecar.stepDownHoldoff }}
{{- with .Values.sidecar.appHealth }}
{{- if .url }}
- --app-health-url={{ .url }}
- --app-health-period={{ .period }}
- --app-health-timeout={{ .timeout }}
- --app-health-failure-threshold={{ .failureThreshold }}
- --app-health-success-threshold={{ .successThreshold }}
{{- end }}
{{- end }}
{{- with .Values.sidecar.notify }}
{{- if .url }}
- --notify-url={{ .url }}
- --notify-timeout={{ .timeout }}
{{- end }}
{{- end }}
{{- if .Values.sidecar.adminPort }}
- --admin-http=127.0.0.1:{{ .Values.sidecar.adminPort }}
{{- end }}
- --log-level={{ .Values.sidecar.logLevel }}
- --log-format={{ .Values.sidecar.logFormat }}
- --route={{ $mode }}
{{- if has $mode (list "label" "readiness-gate") }}
- --pod-selector={{ include "lease-elector.podSelector" . }}
{{- end }}
{{- if eq $mode "label" }}
- --leader-label={{ .Values.route.leaderLabel.key }}={{ .Values.route.leaderLabel.value }}
{{- else if eq $mode "readiness-gate" }}
- --readiness-gate={{ .Values.route.readinessGate }}
{{- else if eq $mode "endpoints" }}
- --service={{ include "lease-elector.fullname" . }}
- --endpoint-ports={{ include "lease-elector.endpointPorts" . }}
{{- else if eq $mode "proxy" }}
{{- with .Values.route.proxy }}
- --proxy-listen=0.0.0.0:{{ .port }}
- --proxy-upstream=127.0.0.1:{{ include "lease-elector.upstreamPort" $ }}
- --proxy-follower={{ .follower }}
- --proxy-mode={{ .protocol }}
{{- if .trustedCIDRs }}
- --proxy-trusted-cidrs={{ join "," .trustedCIDRs }}
{{- end }}
- --proxy-connect-timeout={{ .connectTimeout }}
- --proxy-idle-timeout={{ .idleTimeout }}
- --proxy-max-body={{ .maxBody }}
{{- end }}
{{- end }}
{{- range .Values.sidecar.extraArgs }}
- {{ . | quote }}
{{- end }}
{{- end }}

{{/* The Downward API values the sidecar reads, as env list items. */}}
{{- define "lease-elector.downwardEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: POD_IP
  valueFrom:
    fieldRef:
      fieldPath: status.podIP
# Events are recorded on this Pod too: kubectl describe pod finds them by its uid.
- name: POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
{{- end }}

{{/* The lease-elector container, placed among the init containers (native sidecar) or beside
the app (classic form) by deployment.yaml. */}}
{{- define "lease-elector.sidecarContainer" -}}
{{- $mode := .Values.route.mode -}}
- name: lease-elector
  image: "{{ .Values.sidecar.image.repository }}:{{ .Values.sidecar.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.sidecar.image.pullPolicy }}
  {{- if eq (include "lease-elector.native" .) "true" }}
  # A native sidecar: started before the app, stopped after it.
  restartPolicy: Always
  {{- end }}
  args:
    {{- include "lease-elector.args" . | nindent 4 }}
  # The Downward API: the identity (Pod name), the Lease's namespace, the IP the leader publishes
  # in endpoints and proxy modes, and the Pod's uid for its Events.
  env:
    {{- include "lease-elector.downwardEnv" . | nindent 4 }}
  ports:
    - name: elector
      containerPort: {{ .Values.sidecar.port }}
      protocol: TCP
    {{- if eq $mode "proxy" }}
    # The Service's traffic, on every replica (proxy mode).
    - name: elector-proxy
      containerPort: {{ .Values.route.proxy.port }}
      protocol: TCP
    {{- end }}
  # The app's first poll finds the sidecar serving (a native sidecar's startup probe also holds the
  # app's start until then).
  startupProbe:
    httpGet:
      path: /healthz
      port: elector
    periodSeconds: 1
    failureThreshold: 30
  # Not for routing: a container with a startup probe and no readiness probe turns ready only at
  # the kubelet's next full sync, up to a minute after it started (kubernetes/kubernetes#95140,
  # seen on 1.20 by test/cluster/run). A restarted sidecar then kept its Pod unready, and without
  # Service traffic in the readiness modes even while it led. With this probe the kubelet reports
  # it ready within a second of the startup probe's success.
  readinessProbe:
    httpGet:
      path: /healthz
      port: elector
    periodSeconds: 1
    failureThreshold: 3
  # /healthz fails only when the election loop is stuck; an unreachable API server does not fail
  # it, since restarting would not bring the server back.
  livenessProbe:
    httpGet:
      path: /healthz
      port: elector
    periodSeconds: 10
    failureThreshold: 3
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    readOnlyRootFilesystem: true
    allowPrivilegeEscalation: false
    capabilities:
      drop: [ALL]
    seccompProfile:
      type: RuntimeDefault
{{- end }}
