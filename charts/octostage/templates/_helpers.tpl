{{/*
The chart name, or nameOverride.
*/}}
{{- define "octostage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A fully qualified name, cut at 63 characters (some Kubernetes name fields are limited to
that). If the release name already contains the chart name, it is used as is.
*/}}
{{- define "octostage.fullname" -}}
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

{{/*
The name of a component's resources ("server", "worker"): "<fullname>-<component>", cut at 63.
Usage: include "octostage.componentName" (dict "root" . "component" "worker")
*/}}
{{- define "octostage.componentName" -}}
{{- printf "%s-%s" (include "octostage.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "octostage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Common labels.
*/}}
{{- define "octostage.labels" -}}
helm.sh/chart: {{ include "octostage.chart" . }}
{{ include "octostage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: octostage
{{- end }}

{{/*
Selector labels (shared by both Deployments; the component label tells them apart).
*/}}
{{- define "octostage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "octostage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
The worker's ServiceAccount: bound to the ClusterRole, token mounted.
*/}}
{{- define "octostage.workerServiceAccountName" -}}
{{- if .Values.serviceAccount.worker.create }}
{{- default (include "octostage.componentName" (dict "root" . "component" "worker")) .Values.serviceAccount.worker.name }}
{{- else }}
{{- required "serviceAccount.worker.name is required when serviceAccount.worker.create is false" .Values.serviceAccount.worker.name }}
{{- end }}
{{- end }}

{{/*
The server's ServiceAccount: no RBAC binding, token not mounted.
*/}}
{{- define "octostage.serverServiceAccountName" -}}
{{- if .Values.serviceAccount.server.create }}
{{- default (include "octostage.componentName" (dict "root" . "component" "server")) .Values.serviceAccount.server.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.server.name }}
{{- end }}
{{- end }}

{{/*
The Secret holding APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, DATABASE_URL and REDIS_URL.
*/}}
{{- define "octostage.secretName" -}}
{{- if .Values.secrets.create }}
{{- printf "%s-secrets" (include "octostage.fullname" .) }}
{{- else }}
{{- required "secrets.existingSecret is required when secrets.create is false (a Secret with the keys APP_ID, PRIVATE_KEY, WEBHOOK_SECRET, DATABASE_URL and REDIS_URL)" .Values.secrets.existingSecret }}
{{- end }}
{{- end }}

{{/*
The ConfigMap holding the project config (octostage.yaml).
*/}}
{{- define "octostage.configMapName" -}}
{{- printf "%s-config" (include "octostage.fullname" .) }}
{{- end }}

{{/*
The project config file, as it is written into the ConfigMap: a string is taken as is, a
mapping is rendered as YAML.
*/}}
{{- define "octostage.projectConfig" -}}
{{- if kindIs "string" .Values.projectConfig }}
{{- required "projectConfig is required: the project config (octostage.yaml), see values.yaml" .Values.projectConfig }}
{{- else }}
{{- if not .Values.projectConfig.repositories }}
{{- fail "projectConfig.repositories is required: list at least one repository (see values.yaml and docs/operators/configuration.md)" }}
{{- end }}
{{- toYaml .Values.projectConfig }}
{{- end }}
{{- end }}

{{/*
The container image: repository, then @digest or :tag (default: the chart's appVersion).
*/}}
{{- define "octostage.image" -}}
{{- $repository := required "image.repository is required: build and push the Octostage image (see docs/operators/kubernetes.md)" .Values.image.repository }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" $repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/*
Where the project config is mounted, and OCTOSTAGE_CONFIG.
*/}}
{{- define "octostage.configDir" -}}
/etc/octostage
{{- end }}

{{/*
HOME: a writable emptyDir (the root filesystem is read-only; helm writes its cache and
config under HOME).
*/}}
{{- define "octostage.homeDir" -}}
/home/octostage
{{- end }}

{{/*
Pod annotations shared by both Deployments: restart the pods when the project config or the
chart-managed Secret changes (Octostage reads both only at start).
*/}}
{{- define "octostage.checksumAnnotations" -}}
checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- if .Values.secrets.create }}
checksum/secret: {{ include (print $.Template.BasePath "/secret.yaml") . | sha256sum }}
{{- end }}
{{- end }}

{{/*
Environment shared by both roles. Names and allowed values: src/config/env.ts.
*/}}
{{- define "octostage.commonEnv" -}}
- name: OCTOSTAGE_CONFIG
  value: {{ printf "%s/octostage.yaml" (include "octostage.configDir" .) | quote }}
- name: OCTOSTAGE_QUEUE_PREFIX
  value: {{ .Values.config.queuePrefix | quote }}
- name: LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- if .Values.config.gheHost }}
- name: GHE_HOST
  value: {{ .Values.config.gheHost | quote }}
- name: GHE_PROTOCOL
  value: {{ .Values.config.gheProtocol | quote }}
{{- end }}
- name: HOME
  value: {{ include "octostage.homeDir" . | quote }}
- name: TMPDIR
  value: /tmp
{{- $secret := include "octostage.secretName" . }}
{{- range $name := list "APP_ID" "PRIVATE_KEY" "WEBHOOK_SECRET" "DATABASE_URL" "REDIS_URL" }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $name }}
{{- end }}
{{- end }}

{{/*
Volumes shared by both roles: the project config, /tmp and HOME.
*/}}
{{- define "octostage.commonVolumes" -}}
- name: config
  configMap:
    name: {{ include "octostage.configMapName" . }}
- name: tmp
  {{- if .Values.tmpVolume.sizeLimit }}
  emptyDir:
    sizeLimit: {{ .Values.tmpVolume.sizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
- name: home
  {{- if .Values.homeVolume.sizeLimit }}
  emptyDir:
    sizeLimit: {{ .Values.homeVolume.sizeLimit }}
  {{- else }}
  emptyDir: {}
  {{- end }}
{{- end }}

{{- define "octostage.commonVolumeMounts" -}}
- name: config
  mountPath: {{ include "octostage.configDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
- name: home
  mountPath: {{ include "octostage.homeDir" . }}
{{- end }}

{{/*
The command of a role, given the role ("server" or "worker"). Given as args, so the image's
entrypoint (tini, which reaps helm's child processes) stays in front of it. The worker runs as
package.json "serve" does, with V8's young generation capped (--max-semi-space-size=4: about
65 MB less RSS with 1,000 stagings); the server holds no caches and keeps V8's default, which
answers webhook bursts faster (bench/README.md).
*/}}
{{- define "octostage.args" -}}
- node
{{- if eq . "worker" }}
- --max-semi-space-size=4
{{- end }}
- src/main/octostage.js
{{- end }}
