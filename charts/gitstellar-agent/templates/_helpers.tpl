{{/* The chart's name. */}}
{{- define "gitstellar-agent.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects. */}}
{{- define "gitstellar-agent.fullname" -}}
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

{{- define "gitstellar-agent.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "gitstellar-agent.labels" -}}
helm.sh/chart: {{ include "gitstellar-agent.chart" . }}
{{ include "gitstellar-agent.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: agent
{{- end }}

{{/* Labels that select the Pods. */}}
{{- define "gitstellar-agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitstellar-agent.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gitstellar-agent.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gitstellar-agent.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: the name of an existing ServiceAccount in the release namespace" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gitstellar-agent.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* The verbs the agent has on what it applies: never bind, escalate, impersonate or "*". */}}
{{- define "gitstellar-agent.verbs" -}}
[get, list, watch, create, update, patch, delete]
{{- end }}

{{/* The rules of what the agent may apply: rbac.resources, or everything. */}}
{{- define "gitstellar-agent.rules" -}}
{{- $verbs := include "gitstellar-agent.verbs" . }}
{{- if .Values.rbac.resources }}
{{- range .Values.rbac.resources }}
- apiGroups: {{ toJson .apiGroups }}
  resources: {{ toJson .resources }}
  verbs: {{ $verbs }}
{{- end }}
{{- else }}
- apiGroups: ["*"]
  resources: ["*"]
  verbs: {{ $verbs }}
{{- end }}
{{- end }}
