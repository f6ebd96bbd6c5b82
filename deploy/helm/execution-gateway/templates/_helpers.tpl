{{- define "gateway.name" -}}{{ .Release.Name }}-execution-gateway{{- end -}}

{{- define "gateway.labels" -}}
app.kubernetes.io/name: execution-gateway
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "gateway.name" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/* The environment every gateway container (and the migration Job) reads: secrets by reference only. */}}
{{- define "gateway.env" -}}
- name: DATABASE_URL
  valueFrom: { secretKeyRef: { name: {{ .Values.secrets.databaseUrl.name }}, key: {{ .Values.secrets.databaseUrl.key }} } }
- name: REDIS_URL
  valueFrom: { secretKeyRef: { name: {{ .Values.secrets.redisUrl.name }}, key: {{ .Values.secrets.redisUrl.key }} } }
{{- range .Values.secrets.extra }}
- name: {{ .env }}
  valueFrom: { secretKeyRef: { name: {{ .name }}, key: {{ .key }} } }
{{- end }}
- name: ENVIRONMENTS
  value: {{ .Values.environment | quote }}
- name: KEY_PROVIDER
  value: aws-kms
- name: KMS_KEY_ID
  value: {{ required "kms.keyId is required: broker credentials are envelope-encrypted under AWS KMS" .Values.kms.keyId | quote }}
{{- if .Values.kms.region }}
- name: KMS_REGION
  value: {{ .Values.kms.region | quote }}
{{- end }}
{{- if .Values.auth.issuer }}
- name: AUTH_ISSUER
  value: {{ .Values.auth.issuer | quote }}
- name: AUTH_AUDIENCE
  value: {{ .Values.auth.audience | quote }}
{{- end }}
{{- if .Values.paperVenue.enabled }}
- name: PAPER_VENUE_URL
  value: "http://{{ include "gateway.name" . }}-venue:{{ .Values.paperVenue.port }}"
{{- end }}
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}
