{{/* Names: the release's full name, truncated to the 63 characters a label value allows. */}}
{{- define "outreach-hub.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "outreach-hub.fullname" -}}
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

{{- define "outreach-hub.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "outreach-hub.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "outreach-hub.selectorLabels" -}}
app.kubernetes.io/name: {{ include "outreach-hub.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Every worker pod, whatever its pool: what the Service selects. */}}
{{- define "outreach-hub.workerSelectorLabels" -}}
{{ include "outreach-hub.selectorLabels" . }}
app.kubernetes.io/component: worker
{{- end }}

{{- define "outreach-hub.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "outreach-hub.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "outreach-hub.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The sending settings and the keys they are read from in the sending Secret. They are never
values of the chart: provider, credentials, link secrets and public URLs differ per
environment and some are secrets, so all of them live in one Secret the operator creates.
A name marked required keeps a pod from starting until the Secret has it: a worker that
silently fell back to the sandbox provider would record sends that never happened.
*/}}
{{- define "outreach-hub.sendingKeys" -}}
OUTREACH_EMAIL_PROVIDER: {key: email-provider, required: true}
OUTREACH_UNSUBSCRIBE_SECRET: {key: unsubscribe-secret, required: true}
OUTREACH_CALENDAR_SECRET: {key: calendar-secret, required: true}
OUTREACH_PUBLIC_BASE_URL: {key: public-base-url, required: true}
OUTREACH_BOOKING_URL: {key: booking-url, required: false}
OUTREACH_FROM_EMAIL: {key: from-email, required: false}
OUTREACH_FROM_NAME: {key: from-name, required: false}
OUTREACH_SMTP_HOST: {key: smtp-host, required: false}
OUTREACH_SMTP_PORT: {key: smtp-port, required: false}
OUTREACH_SMTP_USERNAME: {key: smtp-username, required: false}
OUTREACH_SMTP_PASSWORD: {key: smtp-password, required: false}
OUTREACH_SMTP_START_TLS: {key: smtp-start-tls, required: false}
OUTREACH_SENDGRID_API_KEY: {key: sendgrid-api-key, required: false}
OUTREACH_SENDGRID_BASE_URL: {key: sendgrid-base-url, required: false}
OUTREACH_OPERATOR_TOKENS: {key: operator-tokens, required: false}
{{- end }}

{{/* Settings that must never be given as a literal, through extraEnv or otherwise. */}}
{{- define "outreach-hub.secretNames" -}}
{{- $names := keys (include "outreach-hub.sendingKeys" . | fromYaml) }}
{{- $names = concat $names (list "OUTREACH_DATABASE_URL" "OUTREACH_KAFKA_SASL_PASSWORD" "OUTREACH_KAFKA_SSL_KEY_PASSWORD") }}
{{- toJson $names }}
{{- end }}

{{/* The environment every hub container gets: infrastructure, then the operator's extras. */}}
{{- define "outreach-hub.env" -}}
{{- $secretNames := include "outreach-hub.secretNames" . | fromJsonArray }}
{{- range .Values.extraEnv }}
{{- if and (has .name $secretNames) (not .valueFrom) }}
{{- fail (printf "extraEnv: %s is read from a Secret (valueFrom), never given as a value" .name) }}
{{- end }}
{{- end }}
- name: OUTREACH_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
{{- include "outreach-hub.kafkaSecurityEnv" . }}
- name: OUTREACH_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.secretName | quote }}
      key: {{ .Values.database.secretKey | quote }}
- name: OUTREACH_APP_ID
  value: {{ .Values.appId | quote }}
- name: OUTREACH_DATA_DIR
  value: {{ .Values.dataDir | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Workers only: the hook Job neither sends nor signs links, so it never sees these. */}}
{{- define "outreach-hub.sendingEnv" -}}
{{- range $name, $ref := include "outreach-hub.sendingKeys" . | fromYaml }}
- name: {{ $name }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.sending.secretName | quote }}
      key: {{ $ref.key }}
      {{- if not $ref.required }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{- define "outreach-hub.envFrom" -}}
{{- with .Values.envFrom }}
envFrom:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Kafka SASL / TLS (streams/kernel/kafka_security.py): the password from a Secret, the TLS
files from a Secret mounted read-only; every container that talks to Kafka gets both. */}}
{{- define "outreach-hub.kafkaTlsDir" -}}/etc/outreach-hub/kafka-tls{{- end }}
{{- define "outreach-hub.kafkaTlsMounted" -}}
{{- $s := .Values.kafka.security }}
{{- if and (has $s.protocol (list "SSL" "SASL_SSL")) $s.tls.secretName }}true{{ end }}
{{- end }}
{{- define "outreach-hub.kafkaSecurityEnv" -}}
{{- $s := .Values.kafka.security }}
{{- $dir := include "outreach-hub.kafkaTlsDir" . }}
- name: OUTREACH_KAFKA_SECURITY_PROTOCOL
  value: {{ $s.protocol | quote }}
{{- if has $s.protocol (list "SASL_PLAINTEXT" "SASL_SSL") }}
{{- $secret := required "kafka.security.sasl.secretName: a SASL protocol needs the Secret holding the username and password" $s.sasl.secretName }}
- name: OUTREACH_KAFKA_SASL_MECHANISM
  value: {{ $s.sasl.mechanism | quote }}
- name: OUTREACH_KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $s.sasl.usernameKey | quote }}}
- name: OUTREACH_KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $secret | quote }}, key: {{ $s.sasl.passwordKey | quote }}}
{{- end }}
{{- if has $s.protocol (list "SSL" "SASL_SSL") }}
- name: OUTREACH_KAFKA_SSL_CHECK_HOSTNAME
  value: {{ $s.tls.checkHostname | toString | quote }}
{{- if include "outreach-hub.kafkaTlsMounted" . }}
{{- if $s.tls.caKey }}
- name: OUTREACH_KAFKA_SSL_CAFILE
  value: {{ printf "%s/%s" $dir $s.tls.caKey | quote }}
{{- end }}
{{- if $s.tls.certKey }}
- name: OUTREACH_KAFKA_SSL_CERTFILE
  value: {{ printf "%s/%s" $dir $s.tls.certKey | quote }}
{{- if $s.tls.keyKey }}
- name: OUTREACH_KAFKA_SSL_KEYFILE
  value: {{ printf "%s/%s" $dir $s.tls.keyKey | quote }}
{{- end }}
{{- if $s.tls.keyPasswordKey }}
- name: OUTREACH_KAFKA_SSL_KEY_PASSWORD
  valueFrom:
    secretKeyRef: {name: {{ $s.tls.secretName | quote }}, key: {{ $s.tls.keyPasswordKey | quote }}}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* emptyDirs: the root filesystem is read-only, the hub writes only these two. */}}
{{- define "outreach-hub.volumes" -}}
- name: data
  emptyDir: {{ with .Values.dataVolume.sizeLimit }}{sizeLimit: {{ . }}}{{ else }}{}{{ end }}
- name: tmp
  emptyDir: {{ with .Values.tmpVolume.sizeLimit }}{sizeLimit: {{ . }}}{{ else }}{}{{ end }}
{{- if include "outreach-hub.kafkaTlsMounted" . }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.security.tls.secretName | quote }}
    defaultMode: 0440  # owner and fsGroup: the hub's uid reads its key, nobody else
{{- end }}
{{- end }}

{{- define "outreach-hub.volumeMounts" -}}
- name: data
  mountPath: {{ .Values.dataDir }}
- name: tmp
  mountPath: /tmp
{{- if include "outreach-hub.kafkaTlsMounted" . }}
- name: kafka-tls
  mountPath: {{ include "outreach-hub.kafkaTlsDir" . }}
  readOnly: true
{{- end }}
{{- end }}
