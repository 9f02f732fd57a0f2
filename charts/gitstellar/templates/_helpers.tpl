{{/* The chart's name. */}}
{{- define "gitstellar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's objects. */}}
{{- define "gitstellar.fullname" -}}
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

{{- define "gitstellar.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "gitstellar.labels" -}}
helm.sh/chart: {{ include "gitstellar.chart" . }}
{{ include "gitstellar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: controller
{{- end }}

{{/* Labels that select the Pods. */}}
{{- define "gitstellar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gitstellar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gitstellar.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gitstellar.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false: the name of an existing ServiceAccount in the release namespace" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gitstellar.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Whether leader election is on: asked for, or needed by more than one replica. */}}
{{- define "gitstellar.leaderElect" -}}
{{- if or .Values.leaderElection.enabled (gt (int .Values.replicas) 1) }}true{{ end }}
{{- end }}

{{- define "gitstellar.leaderElectionNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace }}
{{- end }}

{{- define "gitstellar.leaderElectionID" -}}
{{- default (printf "gitstellar-%s" .Values.git.name) .Values.leaderElection.id }}
{{- end }}

{{/*
The rules of the generated RBAC (files/rbac/role.yaml, written by `make generate` from the
+kubebuilder:rbac markers in pkg/): "gitstellar.generatedRules" with (list . KIND) gives the
rules of the document of that kind (ClusterRole: what gitstellar needs in a space; Role: the
leader election Lease) as YAML.
*/}}
{{- define "gitstellar.generatedRules" -}}
{{- $root := index . 0 }}
{{- $kind := index . 1 }}
{{- $file := $root.Files.Get "files/rbac/role.yaml" }}
{{- if not $file }}
{{- fail "files/rbac/role.yaml is missing from the chart: run `make generate`" }}
{{- end }}
{{- $rules := list }}
{{- $found := false }}
{{- range regexSplit "(?m)^---\\s*$" $file -1 }}
{{- $doc := fromYaml . }}
{{- if eq (get $doc "kind") $kind }}
{{- $found = true }}
{{- $rules = concat $rules (get $doc "rules") }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/rbac/role.yaml holds no %s: run `make generate`" $kind) }}
{{- end }}
{{- toYaml $rules }}
{{- end }}

{{/* The Secrets the controller may read: the Git credentials and the spaces' kubeconfigs. */}}
{{- define "gitstellar.secretNames" -}}
{{- $names := list }}
{{- with .Values.git.credentialsSecret }}{{ $names = append $names . }}{{ end }}
{{- range .Values.spaces.secretNames }}{{ $names = append $names . }}{{ end }}
{{- toJson ($names | uniq) }}
{{- end }}
