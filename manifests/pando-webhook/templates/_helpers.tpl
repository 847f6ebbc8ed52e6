{{/* Object names: fixed, because the TLS setup program, the CLI and the README name them
(function/names.ts holds them all; test/chart/names.test.ts checks the two agree). */}}
{{- define "pando.httpsService" -}}pando-webhook-https{{- end -}}
{{- define "pando.servingSecret" -}}pando-webhook-tls{{- end -}}
{{- define "pando.caSecret" -}}pando-webhook-ca{{- end -}}
{{- define "pando.tlsSetup" -}}pando-webhook-tls-setup{{- end -}}

{{/* The recommended labels; call with (list . "component"). */}}
{{- define "pando.labels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: pando-webhook
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ index . 1 }}
app.kubernetes.io/part-of: pandocore
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{/* Labels of the webhook's pods (Deployment selector, HTTPS Service selector). */}}
{{- define "pando.selectorLabels" -}}
app.kubernetes.io/name: pando-webhook
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{/* The webhook's pods on each platform: the label Knative puts on a Knative Service's revision
pods, the one the OpenFaaS operator puts on a Function's, or the Deployment's selector. */}}
{{- define "pando.podSelector" -}}
{{- if eq .Values.platform "knative" -}}
serving.knative.dev/service: pando-webhook
{{- else if eq .Values.platform "openfaas" -}}
faas_function: pando-webhook
{{- else -}}
{{- include "pando.selectorLabels" . -}}
{{- end -}}
{{- end -}}

{{/* Pod Security "restricted" on a container (Knative allows no pod-level context). */}}
{{- define "pando.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Namespaces neither the webhook nor the policy looks at: the excluded ones and the release's. */}}
{{- define "pando.skippedNamespaces" -}}
{{- $skipped := concat .Values.excludedNamespaces (list .Release.Namespace) | uniq -}}
{{- toJson $skipped -}}
{{- end -}}

{{/* Where the TLS files are mounted, per platform. */}}
{{- define "pando.tlsDir" -}}
{{- if eq .Values.platform "openfaas" -}}/var/openfaas/secrets{{- else -}}/tls{{- end -}}
{{- end -}}

{{/* Whether the function serves HTTPS itself (the direct route). */}}
{{- define "pando.direct" -}}
{{- if or (ne .Values.platform "knative") (eq .Values.webhook.route "direct") -}}true{{- end -}}
{{- end -}}

{{/* The function's environment as name: value pairs (function/config.ts ENV, function/server config). */}}
{{- define "pando.env" -}}
PANDO_DEFAULT_MODE: {{ .Values.defaultMode | quote }}
PANDO_EXCLUDED_NAMESPACES: {{ join "," .Values.excludedNamespaces | quote }}
PANDO_SIDECAR_IMAGE: {{ .Values.sidecar.image | quote }}
PANDO_SIDECAR_NATIVE: {{ include "pando.nativeSidecar" . | quote }}
PANDO_SYSTEM_NAMESPACE: {{ .Release.Namespace | quote }}
PANDO_SERVICE_ACCOUNT: {{ .Values.sidecar.serviceAccount | quote }}
PANDO_LICENSE_SECRET_NAME: {{ .Values.license.secretName | quote }}
PANDO_LICENSE_SECRET_KEY: {{ .Values.license.secretKey | quote }}
PANDO_SIDECAR_CPU_REQUEST: {{ .Values.sidecar.resources.requests.cpu | quote }}
PANDO_SIDECAR_MEMORY_REQUEST: {{ .Values.sidecar.resources.requests.memory | quote }}
PANDO_SIDECAR_CPU_LIMIT: {{ .Values.sidecar.resources.limits.cpu | quote }}
PANDO_SIDECAR_MEMORY_LIMIT: {{ .Values.sidecar.resources.limits.memory | quote }}
PANDO_SIDECAR_HEALTH_PORT: {{ .Values.sidecar.healthPort | quote }}
PANDO_SIDECAR_UID: {{ .Values.sidecar.uid | quote }}
PANDO_SIDECAR_RESOURCE_OVERRIDES: {{ .Values.sidecar.resourceOverrides | quote }}
PANDO_SIDECAR_IMAGE_PULL_SECRETS: {{ join "," .Values.sidecar.imagePullSecrets | quote }}
PANDO_PROBE_PERIOD_SECONDS: {{ .Values.sidecar.probe.periodSeconds | quote }}
PANDO_PROBE_TIMEOUT_SECONDS: {{ .Values.sidecar.probe.timeoutSeconds | quote }}
PANDO_PROBE_FAILURE_THRESHOLD: {{ .Values.sidecar.probe.failureThreshold | quote }}
{{- if include "pando.direct" . }}
PANDO_TLS_PORT: "8443"
PANDO_TLS_CERT_FILE: {{ printf "%s/tls.crt" (include "pando.tlsDir" .) | quote }}
PANDO_TLS_KEY_FILE: {{ printf "%s/tls.key" (include "pando.tlsDir" .) | quote }}
{{- end }}
{{- end -}}

{{/* sidecar.native resolved: auto is on where native sidecars are GA (1.33); from 1.29 to 1.32
a cluster may have switched the SidecarContainers gate off, and then the API server drops
restartPolicy and the sidecar would block the pod as a plain init container. */}}
{{- define "pando.nativeSidecar" -}}
{{- if eq (toString .Values.sidecar.native) "auto" -}}
{{- semverCompare ">=1.33.0-0" .Capabilities.KubeVersion.Version -}}
{{- else -}}
{{- .Values.sidecar.native -}}
{{- end -}}
{{- end -}}

{{/* The env as a container's env list. */}}
{{- define "pando.envList" -}}
{{- range $name, $value := (include "pando.env" . | fromYaml) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* Rules no schema can state. */}}
{{- define "pando.validate" -}}
{{- if lt (int .Values.maxReplicas) (int .Values.replicas) -}}
{{- fail (printf "maxReplicas (%v) must be at least replicas (%v)" .Values.maxReplicas .Values.replicas) -}}
{{- end -}}
{{- if and (eq .Values.webhook.route "knative-local-tls") .Values.tls.certManager -}}
{{- fail "tls.certManager applies to webhook.route=direct only (knative-local-tls uses the certificate Knative issues)" -}}
{{- end -}}
{{- if and (eq .Values.webhook.route "knative-local-tls") (ne .Values.platform "knative") -}}
{{- fail "webhook.route=knative-local-tls needs platform=knative" -}}
{{- end -}}
{{- range .Values.namespaces -}}
{{- if or (eq . $.Release.Namespace) (has . $.Values.excludedNamespaces) -}}
{{- fail (printf "namespaces: %s is never injected (the release namespace or excludedNamespaces)" .) -}}
{{- end -}}
{{- end -}}
{{- if eq .Values.platform "openfaas" -}}
{{- if .Values.priorityClassName -}}
{{- fail "priorityClassName: an OpenFaaS Function has no such field; set it on the platform=deployment or knative installs" -}}
{{- end -}}
{{- if eq .Release.Namespace "openfaas-fn" -}}
{{- fail "platform=openfaas: not in openfaas-fn, where whoever the OpenFaaS gateway lets deploy could run a function as the TLS setup account (which rewrites the webhook configuration) or mount the CA key and the serving key: install in a namespace only cluster admins deploy into (docs/deploy.md)" -}}
{{- end -}}
{{- if not .Values.openfaas.adminOnlyNamespace -}}
{{- fail (printf "platform=openfaas: set openfaas.adminOnlyNamespace=true to confirm that only cluster admins can deploy functions into %s: its accounts and Secrets can rewrite the webhook configuration and sign certificates (docs/deploy.md)" .Release.Namespace) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.namespaces (not .Values.license.create) (not .Values.licenseKey) -}}
{{- fail "namespaces: enabling a namespace needs licenseKey (its license Secret)" -}}
{{- end -}}
{{- end -}}

{{/* The TLS setup pod (Job and CronJob). */}}
{{- define "pando.tlsPodTemplate" -}}
metadata:
  labels:
    {{- include "pando.labels" (list . "tls") | nindent 4 }}
spec:
  serviceAccountName: {{ include "pando.tlsSetup" . }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
    - name: tls-setup
      image: {{ .Values.image }}
      imagePullPolicy: IfNotPresent
      command: [node, dist/tls-setup.js]
      env:
        - name: PANDO_NAMESPACE
          value: {{ .Release.Namespace }}
        - name: PANDO_SERVICE_NAME
          value: {{ include "pando.httpsService" . }}
        - name: PANDO_TLS_SECRET
          value: {{ include "pando.servingSecret" . }}
        - name: PANDO_CA_SECRET
          value: {{ include "pando.caSecret" . }}
        - name: PANDO_WEBHOOK_CONFIGURATION
          value: pando-webhook
        - name: PANDO_RENEW_BEFORE_DAYS
          value: {{ .Values.tls.renewBeforeDays | quote }}
      resources:
        requests:
          cpu: 50m
          memory: 64Mi
        limits:
          cpu: 500m
          memory: 128Mi
      securityContext:
        {{- include "pando.containerSecurityContext" . | nindent 8 }}
{{- end }}

{{/* The sidecar images the safety net accepts, as a CEL list: the configured one and, after an
upgrade, the one the installed policy accepted before: until the webhook's rollout is over (and
old pods drained), old webhook pods still inject it. Without a cluster (helm template), one. */}}
{{- define "pando.acceptedImagesCel" -}}
{{- $images := list .Values.sidecar.image -}}
{{- $installed := lookup "admissionregistration.k8s.io/v1" "ValidatingAdmissionPolicy" "" "pando-sidecar-required" -}}
{{- $previous := dig "metadata" "annotations" "pandocore.xyz/sidecar-image" "" $installed -}}
{{- if $previous }}{{ $images = append $images $previous | uniq }}{{ end -}}
[{{ range $i, $image := $images }}{{ if $i }}, {{ end }}{{ squote $image }}{{ end }}]
{{- end -}}

{{/* CEL: the pando-sidecar containers of a pod (call with "object" or "oldObject"), as a
container or a native sidecar init container. */}}
{{- define "pando.sidecarsCel" -}}
{{ . }}.spec.containers.filter(c, c.name == 'pando-sidecar') + (has({{ . }}.spec.initContainers) ? {{ . }}.spec.initContainers.filter(c, c.name == 'pando-sidecar') : [])
{{- end }}

{{/* CEL, of a container c: the sidecar as this release injects it, the configured image with
the license from the configured Secret key. A container merely named pando-sidecar is not. */}}
{{- define "pando.oursCel" -}}
c.image in {{ include "pando.acceptedImagesCel" . }} && has(c.env) && c.env.exists(e, e.name == 'PANDO_LICENSE_KEY' && has(e.valueFrom) && has(e.valueFrom.secretKeyRef) && e.valueFrom.secretKeyRef.name == {{ squote .Values.license.secretName }} && e.valueFrom.secretKeyRef.key == {{ squote .Values.license.secretKey }})
{{- end }}

{{/* What both webhooks of the configuration share; each adds its name and namespaceSelector. */}}
{{- define "pando.webhookCommon" -}}
clientConfig:
  service:
    namespace: {{ .Release.Namespace }}
    name: {{ ternary (include "pando.httpsService" .) "pando-webhook" (eq (include "pando.direct" .) "true") }}
    port: 443
    path: /
admissionReviewVersions: [v1]
rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE]
    resources: [pods]
    scope: Namespaced
matchPolicy: Equivalent
objectSelector:
  matchLabels:
    pandocore.xyz/protect: "true"
# Never block pod creation on the webhook; the safety-net policy reports what slipped through.
failurePolicy: Ignore
sideEffects: None
reinvocationPolicy: IfNeeded
timeoutSeconds: {{ .Values.webhook.timeoutSeconds }}
{{- if .Values.webhook.skipInjected }}
# Skip the call only for pods that carry our sidecar, the configured image with the configured
# license, and our status annotation (reinvocation, injected offline). Anything else is sent: a
# foreign pando-sidecar, or our annotation on a pod without our sidecar, cannot skip the webhook.
matchConditions:
  - name: not-injected-yet
    expression: {{ printf "!(has(object.metadata.annotations) && 'pandocore.xyz/status' in object.metadata.annotations && (%s).exists(c, %s))" (include "pando.sidecarsCel" "object") (include "pando.oursCel" .) | quote }}
{{- end }}
{{- end }}

{{/* Where Prometheus finds the metrics when it scrapes pods by annotation (metrics.scrapeAnnotations). */}}
{{- define "pando.scrapeAnnotations" -}}
{{- if .Values.metrics.scrapeAnnotations -}}
prometheus.io/scrape: "true"
prometheus.io/port: "8080"
prometheus.io/path: /metrics
{{- end -}}
{{- end -}}
