{{/* The chart's name, shortened for label values. */}}
{{- define "k8flex.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name of the release's objects. */}}
{{- define "k8flex.fullname" -}}
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

{{- define "k8flex.selectorLabels" -}}
app.kubernetes.io/name: {{ include "k8flex.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "k8flex.labels" -}}
{{ include "k8flex.selectorLabels" . }}
app.kubernetes.io/part-of: k8flex
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "k8flex.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "k8flex.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The Secret the pod reads its secret keys from. */}}
{{- define "k8flex.secretName" -}}
{{- default (include "k8flex.fullname" .) .Values.secret.existingSecret -}}
{{- end -}}

{{/* True (non-empty) when the store is PostgreSQL rather than the embedded file. */}}
{{- define "k8flex.postgres" -}}
{{- if or .Values.secret.kb.database_url .Values.databaseUrlFrom.secretName -}}true{{- end -}}
{{- end -}}

{{/* The environment variable of a configuration key: K8FLEX_SECTION_KEY. */}}
{{- define "k8flex.envName" -}}
{{- printf "K8FLEX_%s_%s" (upper (index . 0)) (upper (index . 1)) -}}
{{- end -}}

{{/*
An environment value for a configuration value: lists joined with commas,
whole numbers without an exponent (YAML numbers arrive as float64).
*/}}
{{- define "k8flex.envValue" -}}
{{- if kindIs "slice" . -}}
{{- join "," . -}}
{{- else if and (kindIs "float64" .) (eq (float64 .) (floor .)) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
{{- end -}}
