{{- define "postgresql.fullname" -}}{{ .Release.Name }}-postgresql{{- end -}}
{{- define "postgresql.labels" -}}
app.kubernetes.io/name: postgresql
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: Helm
{{- end -}}
