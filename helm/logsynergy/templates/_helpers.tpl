{{/* Names ------------------------------------------------------------------------------------------ */}}

{{- define "logsynergy.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource-name prefix. Kept short (40) so that the names KubeRay derives stay under 63 characters. */}}
{{- define "logsynergy.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "logsynergy.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "logsynergy.apiName" -}}{{ include "logsynergy.fullname" . }}-api{{- end -}}
{{- define "logsynergy.trainName" -}}{{ include "logsynergy.fullname" . }}-train{{- end -}}
{{- define "logsynergy.detectName" -}}{{ include "logsynergy.fullname" . }}-detect{{- end -}}
{{- define "logsynergy.postgresqlName" -}}{{ include "logsynergy.fullname" . }}-postgresql{{- end -}}
{{- define "logsynergy.minioName" -}}{{ include "logsynergy.fullname" . }}-minio{{- end -}}

{{- define "logsynergy.secretName" -}}
{{- default (include "logsynergy.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{- define "logsynergy.apiServiceAccountName" -}}
{{- if .Values.api.serviceAccount.create -}}
{{- default (include "logsynergy.apiName" .) .Values.api.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.api.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels ----------------------------------------------------------------------------------------- */}}

{{- define "logsynergy.labels" -}}
helm.sh/chart: {{ include "logsynergy.chart" . }}
app.kubernetes.io/name: {{ include "logsynergy.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: logsynergy
{{- end -}}

{{/* Selector labels of one component: include with (dict "ctx" . "component" "api"). */}}
{{- define "logsynergy.selectorLabels" -}}
app.kubernetes.io/name: {{ include "logsynergy.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Images ----------------------------------------------------------------------------------------- */}}

{{- define "logsynergy.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "logsynergy.gpuImage" -}}
{{- $img := .Values.training.gpuWorkers.image -}}
{{- printf "%s:%s" (default .Values.image.repository $img.repository) (default (default .Chart.AppVersion .Values.image.tag) $img.tag) -}}
{{- end -}}

{{/* Endpoints -------------------------------------------------------------------------------------- */}}

{{- define "logsynergy.storeUrl" -}}
{{- if .Values.store.prefix -}}
s3://{{ .Values.store.bucket }}/{{ trimAll "/" .Values.store.prefix }}
{{- else -}}
s3://{{ .Values.store.bucket }}
{{- end -}}
{{- end -}}

{{- define "logsynergy.storeEndpoint" -}}
{{- if .Values.minio.enabled -}}
{{ include "logsynergy.minioName" . }}:9000
{{- else -}}
{{ .Values.external.store.endpoint }}
{{- end -}}
{{- end -}}

{{- define "logsynergy.storeSecure" -}}
{{- if .Values.minio.enabled -}}false{{- else -}}{{ ternary "true" "false" .Values.external.store.secure }}{{- end -}}
{{- end -}}

{{- define "logsynergy.rayAddress" -}}
http://{{ include "logsynergy.trainName" . }}-head-svc:8265
{{- end -}}

{{- define "logsynergy.serveUrl" -}}
http://{{ include "logsynergy.detectName" . }}-serve-svc:8000
{{- end -}}

{{/* Environment ------------------------------------------------------------------------------------ */}}

{{- define "logsynergy.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "logsynergy.secretName" .ctx }}
      key: {{ .key }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end -}}

{{/* Object-store and LLM settings: needed by the API, the training workers and the serving replicas. */}}
{{- define "logsynergy.sharedEnv" -}}
- name: LOGSYNERGY_STORE_URL
  value: {{ include "logsynergy.storeUrl" . | quote }}
- name: LOGSYNERGY_STORE_ENDPOINT
  value: {{ include "logsynergy.storeEndpoint" . | quote }}
- name: LOGSYNERGY_STORE_SECURE
  value: {{ include "logsynergy.storeSecure" . | quote }}
{{- if .Values.store.region }}
- name: LOGSYNERGY_STORE_REGION
  value: {{ .Values.store.region | quote }}
{{- end }}
{{ include "logsynergy.secretEnv" (dict "ctx" . "name" "LOGSYNERGY_STORE_ACCESS_KEY" "key" "store-access-key") }}
{{ include "logsynergy.secretEnv" (dict "ctx" . "name" "LOGSYNERGY_STORE_SECRET_KEY" "key" "store-secret-key") }}
- name: LOGSYNERGY_LLM_BASE_URL
  value: {{ .Values.llm.baseUrl | quote }}
- name: LOGSYNERGY_LLM_MODEL
  value: {{ .Values.llm.model | quote }}
{{- if .Values.llm.provider }}
- name: LOGSYNERGY_LLM_PROVIDER
  value: {{ .Values.llm.provider | quote }}
{{- end }}
{{ include "logsynergy.secretEnv" (dict "ctx" . "name" "LOGSYNERGY_LLM_API_KEY" "key" "llm-api-key" "optional" true) }}
- name: HF_HUB_OFFLINE
  value: "1"
{{- end -}}

{{/* Ray pods ---------------------------------------------------------------------------------------- */}}

{{/* Pod template of a Ray node: include with (dict "ctx" . "component" "train" "container" "ray-head"
     "group" .Values.training.head "image" "<image>" "head" true "gpus" 0). */}}
{{- define "logsynergy.rayPodTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "logsynergy.labels" $ctx | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  enableServiceLinks: false
  {{- with $ctx.Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  securityContext:
    {{- toYaml $ctx.Values.ray.podSecurityContext | nindent 4 }}
  containers:
    - name: {{ .container }}
      image: {{ .image | quote }}
      imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
      {{- if .head }}
      ports:
        - name: gcs-server
          containerPort: 6379
        - name: dashboard
          containerPort: 8265
        - name: client
          containerPort: 10001
        {{- if .serve }}
        - name: serve
          containerPort: 8000
        {{- end }}
      {{- end }}
      env:
        {{- include "logsynergy.sharedEnv" $ctx | nindent 8 }}
        - name: RAY_max_direct_call_object_size
          value: {{ $ctx.Values.ray.maxDirectCallObjectSize | int64 | toString | quote }}
        {{- with $ctx.Values.ray.extraEnv }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      resources:
        {{- $res := deepCopy .group.resources }}
        {{- if .gpus }}
        {{- $limits := merge (dict "nvidia.com/gpu" (.gpus | toString)) ($res.limits | default dict) }}
        {{- $_ := set $res "limits" $limits }}
        {{- end }}
        {{- toYaml $res | nindent 8 }}
      securityContext:
        {{- toYaml $ctx.Values.ray.securityContext | nindent 8 }}
      lifecycle:
        preStop:
          exec:
            command: ["/bin/bash", "-lc", "ray stop"]
  {{- with .group.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .group.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .group.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/* ray start parameters with every value a string (KubeRay expects map[string]string). */}}
{{- define "logsynergy.rayStartParams" -}}
{{- $out := dict -}}
{{- range $k, $v := . -}}
{{- $_ := set $out $k (toString $v) -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/* Autoscaler options shared by both Ray clusters: include with (dict "ctx" . "autoscaling" <values>). */}}
{{- define "logsynergy.autoscalerOptions" -}}
upscalingMode: {{ .autoscaling.upscalingMode }}
idleTimeoutSeconds: {{ .autoscaling.idleTimeoutSeconds }}
resources:
  {{- toYaml .ctx.Values.ray.autoscalerResources | nindent 2 }}
securityContext:
  {{- toYaml .ctx.Values.ray.securityContext | nindent 2 }}
{{- end -}}

{{/* Checks ------------------------------------------------------------------------------------------ */}}

{{- define "logsynergy.checkGroup" -}}
{{- $g := .group -}}
{{- if or (lt (int $g.replicas) (int $g.minReplicas)) (gt (int $g.replicas) (int $g.maxReplicas)) -}}
{{- fail (printf "%s: need minReplicas (%v) <= replicas (%v) <= maxReplicas (%v)" .path $g.minReplicas $g.replicas $g.maxReplicas) -}}
{{- end -}}
{{- end -}}

{{- define "logsynergy.validate" -}}
{{- include "logsynergy.checkGroup" (dict "path" "training.cpuWorkers" "group" .Values.training.cpuWorkers) -}}
{{- if .Values.training.gpuWorkers.enabled -}}
{{- include "logsynergy.checkGroup" (dict "path" "training.gpuWorkers" "group" .Values.training.gpuWorkers) -}}
{{- end -}}
{{- include "logsynergy.checkGroup" (dict "path" "serving.workers" "group" .Values.serving.workers) -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.secrets.existingSecret) (not .Values.external.database.url) -}}
{{- fail "postgresql.enabled is false: set external.database.url (or secrets.existingSecret with a database-url key)" -}}
{{- end -}}
{{- if and (not .Values.minio.enabled) (not .Values.external.store.endpoint) -}}
{{- fail "minio.enabled is false: set external.store.endpoint (host:port of the S3 endpoint)" -}}
{{- end -}}
{{- if and .Values.minio.enabled .Values.minio.rootPassword (lt (len .Values.minio.rootPassword) 8) -}}
{{- fail "minio.rootPassword must have at least 8 characters" -}}
{{- end -}}
{{- end -}}
