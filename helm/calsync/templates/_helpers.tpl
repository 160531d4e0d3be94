{{/*
Shared names, labels and pod settings. Every object carries the standard app.kubernetes.io/*
labels; selectors use only the stable subset (name, instance, component), because selectors of
Deployments are immutable and must survive chart upgrades.
*/}}

{{- define "calsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "calsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "calsync.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name of a component: <fullname>-<component>, at most 63 characters. */}}
{{- define "calsync.componentName" -}}
{{- printf "%s-%s" (include "calsync.fullname" .ctx | trunc 50 | trimSuffix "-") .component }}
{{- end }}

{{- define "calsync.labels" -}}
helm.sh/chart: {{ include "calsync.chart" . }}
{{ include "calsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: calsync
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "calsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "calsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of a component's objects; call with (dict "ctx" $ "component" "operator"). */}}
{{- define "calsync.componentLabels" -}}
{{ include "calsync.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "calsync.componentSelectorLabels" -}}
{{ include "calsync.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "calsync.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "calsync.operator.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create }}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "operator")) .Values.operator.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.operator.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "calsync.webhook.serviceAccountName" -}}
{{- if .Values.webhook.serviceAccount.create }}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "webhook")) .Values.webhook.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.webhook.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "calsync.check.serviceAccountName" -}}
{{- if .Values.check.serviceAccount.create }}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "check")) .Values.check.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.check.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
Namespaces the RBAC grants cover in namespaced mode: the watched ones, or the release's own.
Rendered as a JSON list so templates can `range` over `fromJsonArray`.
*/}}
{{- define "calsync.rbacNamespaces" -}}
{{- if .Values.watchNamespaces }}
{{- toJson .Values.watchNamespaces }}
{{- else }}
{{- toJson (list .Release.Namespace) }}
{{- end }}
{{- end }}

{{/* CALSYNC_NAMESPACES: empty means every namespace, except in namespaced mode. */}}
{{- define "calsync.servedNamespaces" -}}
{{- if .Values.rbac.namespaced }}
{{- include "calsync.rbacNamespaces" . | fromJsonArray | join "," }}
{{- else }}
{{- join "," .Values.watchNamespaces }}
{{- end }}
{{- end }}

{{/* The public push URL: explicit, else derived from the tunnel or ingress hostname. */}}
{{- define "calsync.webhookUrl" -}}
{{- if .Values.operator.webhookUrl }}
{{- .Values.operator.webhookUrl }}
{{- else if and .Values.cloudflared.enabled .Values.cloudflared.hostname }}
{{- printf "https://%s/push" .Values.cloudflared.hostname }}
{{- else if and .Values.ingress.enabled .Values.ingress.host }}
{{- printf "https://%s/push" .Values.ingress.host }}
{{- end }}
{{- end }}

{{- define "calsync.sendgrid.enabled" -}}
{{- if or .Values.alerts.sendgrid.existingSecret .Values.alerts.sendgrid.apiKey }}true{{ end }}
{{- end }}

{{- define "calsync.sendgrid.secretName" -}}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "sendgrid")) .Values.alerts.sendgrid.existingSecret }}
{{- end }}

{{- define "calsync.sendgrid.secretKey" -}}
{{- if .Values.alerts.sendgrid.existingSecret }}{{ .Values.alerts.sendgrid.existingSecretKey }}{{ else }}api-key{{ end }}
{{- end }}

{{- define "calsync.heartbeat.secretName" -}}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "heartbeat")) .Values.heartbeat.existingSecret }}
{{- end }}

{{- define "calsync.heartbeat.secretKey" -}}
{{- if .Values.heartbeat.existingSecret }}{{ .Values.heartbeat.existingSecretKey }}{{ else }}url{{ end }}
{{- end }}

{{- define "calsync.cloudflared.secretName" -}}
{{- default (include "calsync.componentName" (dict "ctx" . "component" "tunnel")) .Values.cloudflared.existingSecret }}
{{- end }}

{{- define "calsync.cloudflared.secretKey" -}}
{{- if .Values.cloudflared.existingSecret }}{{ .Values.cloudflared.existingSecretKey }}{{ else }}token{{ end }}
{{- end }}

{{- define "calsync.check.stateConfigMap" -}}
{{- include "calsync.componentName" (dict "ctx" . "component" "check-state") }}
{{- end }}

{{/*
Restricted Pod Security Standard, fixed rather than configurable: the image runs as uid 10001
and needs no privilege, so there is nothing a user should have to loosen.
*/}}
{{- define "calsync.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "calsync.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* The root filesystem is read-only: /tmp is the only writable place. */}}
{{- define "calsync.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- end }}

{{- define "calsync.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Environment every calsync process reads. */}}
{{- define "calsync.commonEnv" -}}
- name: CALSYNC_NAMESPACES
  value: {{ include "calsync.servedNamespaces" . | quote }}
- name: CALSYNC_LOG_FORMAT
  value: {{ .Values.logging.format | quote }}
- name: CALSYNC_LOG_LEVEL
  value: {{ .Values.logging.level | quote }}
{{- end }}

{{/* Alert mail settings, shared by the operator and the check CronJob. */}}
{{- define "calsync.alertEnv" -}}
{{ if include "calsync.sendgrid.enabled" . -}}
- name: SENDGRID_API_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "calsync.sendgrid.secretName" . }}
      key: {{ include "calsync.sendgrid.secretKey" . }}
{{ end -}}
{{ with .Values.alerts.sendgrid.apiHost -}}
- name: CALSYNC_SENDGRID_API_HOST
  value: {{ . | quote }}
{{ end -}}
- name: CALSYNC_ALERT_FROM
  value: {{ .Values.alerts.from | quote }}
- name: CALSYNC_ALERT_TO
  value: {{ join "," .Values.alerts.to | quote }}
{{- end }}

{{/*
Refuse combinations that would install something that cannot work; each message says the fix.
Included from NOTES.txt and from the workloads, so `helm template` fails as `helm install` does.
*/}}
{{- define "calsync.validate" -}}
{{- if and .Values.cloudflared.enabled (not (or .Values.cloudflared.existingSecret .Values.cloudflared.tunnelToken)) }}
{{- fail "cloudflared.enabled needs the tunnel token: set cloudflared.existingSecret (a Secret with key \"token\", see docs/cloudflare.md) or cloudflared.tunnelToken" }}
{{- end }}
{{- if and .Values.cloudflared.enabled (not (or .Values.cloudflared.hostname .Values.operator.webhookUrl)) }}
{{- fail "cloudflared.enabled needs the tunnel's public hostname: set cloudflared.hostname (e.g. calsync.example.com) or operator.webhookUrl" }}
{{- end }}
{{- if and .Values.ingress.enabled (not .Values.ingress.host) }}
{{- fail "ingress.enabled needs ingress.host: the public hostname Google pushes to" }}
{{- end }}
{{- if and .Values.cloudflared.enabled .Values.ingress.enabled }}
{{- fail "choose one way in for Google's pushes: cloudflared.enabled or ingress.enabled, not both" }}
{{- end }}
{{- if and .Values.alerts.to (not .Values.alerts.from) }}
{{- fail "alerts.to is set but alerts.from is empty: set alerts.from to a SendGrid-verified sender" }}
{{- end }}
{{- if and .Values.alerts.to (not (include "calsync.sendgrid.enabled" .)) }}
{{- fail "alerts.to is set but no SendGrid key: set alerts.sendgrid.existingSecret (or alerts.sendgrid.apiKey)" }}
{{- end }}
{{- end }}
