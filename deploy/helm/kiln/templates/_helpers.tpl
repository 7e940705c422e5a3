{{/* Names and labels. */}}
{{- define "kiln.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kiln.fullname" -}}
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

{{- define "kiln.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kiln.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kiln.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "kiln.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "kiln.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "kiln.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "kiln.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* "true" when metadata lives in a shared PostgreSQL database. */}}
{{- define "kiln.sharedDatabase" -}}
{{- $uri := .Values.database.uri | default "" -}}
{{- if or (hasPrefix "postgresql://" $uri) (hasPrefix "postgres://" $uri) -}}true{{- end -}}
{{- end -}}

{{/*
The processes this release runs, as YAML {roles: [{name, component, fullname,
services, replicaCount, resources, ingressPaths}]}: one entry per values.roles
key (sorted), or a single entry running every service.
*/}}
{{- define "kiln.roles" -}}
{{- $root := . -}}
{{- $full := include "kiln.fullname" . -}}
roles:
{{- if .Values.roles }}
{{- range $name := keys .Values.roles | sortAlpha }}
{{- $r := get $root.Values.roles $name }}
  - name: {{ $name | quote }}
    component: {{ $name | quote }}
    fullname: {{ printf "%s-%s" $full $name | trunc 63 | trimSuffix "-" | quote }}
    services: {{ required (printf "roles.%s.services is required (a comma list of tracking,registry,serving,features,platform)" $name) $r.services | quote }}
    replicaCount: {{ hasKey $r "replicaCount" | ternary $r.replicaCount $root.Values.replicaCount }}
    resources: {{ default $root.Values.resources $r.resources | toJson }}
    ingressPaths: {{ default (list) $r.ingressPaths | toJson }}
{{- end }}
{{- else }}
  - name: ""
    component: server
    fullname: {{ $full | quote }}
    services: all
    replicaCount: {{ .Values.replicaCount }}
    resources: {{ .Values.resources | toJson }}
    ingressPaths: ["/"]
{{- end }}
{{- end -}}

{{/*
Refuses value sets that would run but answer wrongly: several processes over
per-pod stores (SQLite, a local artifact directory, the embedded online store,
per-pod server and audit keys) would each keep their own data.
*/}}
{{- define "kiln.validate" -}}
{{- $roles := (include "kiln.roles" . | fromYaml).roles -}}
{{- $processes := 0 -}}
{{- range $roles }}{{ $processes = add $processes .replicaCount }}{{ end -}}
{{- $multi := or (gt (int $processes) 1) (gt (len $roles) 1) .Values.autoscaling.enabled -}}
{{- if $multi -}}
{{- if not (include "kiln.sharedDatabase" .) -}}
{{- fail "more than one kiln process (replicaCount > 1, roles or autoscaling) needs database.uri = postgresql://...: the embedded SQLite database cannot be shared between pods" -}}
{{- end -}}
{{- if not .Values.artifacts.uri -}}
{{- fail "more than one kiln process needs artifacts.uri (s3://... or file:// on a shared volume): each pod would keep its own artifacts" -}}
{{- end -}}
{{- if not .Values.onlineStore.uri -}}
{{- fail "more than one kiln process needs onlineStore.uri (redis:// or rediss://): each pod would keep its own online features" -}}
{{- end -}}
{{- if not .Values.secretKey.secret.name -}}
{{- fail "more than one kiln process needs secretKey.secret (one server key shared by replicas): tokens issued by one pod would be refused by the others" -}}
{{- end -}}
{{- if and .Values.audit.enabled (not .Values.audit.signingKeySecret.name) -}}
{{- fail "more than one kiln process with audit on needs audit.signingKeySecret (one checkpoint key shared by replicas)" -}}
{{- end -}}
{{- end -}}
{{- if and .Values.database.uri (not (include "kiln.sharedDatabase" .)) (not (hasPrefix "sqlite://" .Values.database.uri)) -}}
{{- fail (printf "database.uri must be postgresql://..., postgres://... or sqlite://... (got %q)" .Values.database.uri) -}}
{{- end -}}
{{- range $what, $uri := dict "database.uri" .Values.database.uri "onlineStore.uri" .Values.onlineStore.uri -}}
{{- if regexMatch "^[a-z]+://[^/@]*:[^/@]*@" $uri -}}
{{- fail (printf "%s holds a password: reference a Secret instead (database.passwordSecret / onlineStore.passwordSecret)" $what) -}}
{{- end -}}
{{- end -}}
{{- if and .Values.auth.enabled (not .Values.auth.adminPasswordSecret.name) -}}
{{- fail "auth.enabled needs auth.adminPasswordSecret (kiln has no default admin password)" -}}
{{- end -}}
{{- if and .Values.onlineStore.caSecret.name (not (hasPrefix "rediss://" .Values.onlineStore.uri)) -}}
{{- fail "onlineStore.caSecret verifies a TLS Redis: onlineStore.uri must be rediss://..." -}}
{{- end -}}
{{- $managed := list "host" "port" "grpc-port" "data-dir" "services" "database-uri" "database-password-file" "database-pool" "artifacts-uri" "online-store-uri" "redis-password-file" "redis-ca-file" "auth" "admin-password" "admin-password-file" "default-role" "oidc-issuer" "oidc-audience" "secret-key-file" "audit" "audit-key-file" "tls-cert-file" "tls-key-file" "tls-client-ca-file" "shutdown-delay-ms" "shutdown-grace-ms" "config" -}}
{{- range $k, $v := .Values.config -}}
{{- if has $k $managed -}}
{{- fail (printf "config.%s is set by the chart's own values (or, for tls-client-ca-file, unsupported: kubelet's probes carry no client certificate); see values.yaml" $k) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kiln.secretDir" -}}/etc/kiln/secrets{{- end -}}

{{/* KILN_* settings shared by the server pods and the migration Job (no secret values, only file paths). */}}
{{- define "kiln.settings" -}}
{{- $dir := include "kiln.secretDir" . -}}
KILN_HOST: "0.0.0.0"
KILN_PORT: {{ .Values.service.port | quote }}
KILN_GRPC_PORT: {{ ternary .Values.service.grpcPort -1 .Values.grpc.enabled | quote }}
KILN_DATA_DIR: "/var/lib/kiln"
KILN_SHUTDOWN_DELAY_MS: {{ .Values.shutdown.delayMs | quote }}
KILN_SHUTDOWN_GRACE_MS: {{ .Values.shutdown.graceMs | quote }}
{{- with .Values.database.uri }}
KILN_DATABASE_URI: {{ . | quote }}
{{- end }}
{{- if .Values.database.passwordSecret.name }}
KILN_DATABASE_PASSWORD_FILE: {{ printf "%s/database/%s" $dir .Values.database.passwordSecret.key | quote }}
{{- end }}
{{- if include "kiln.sharedDatabase" . }}
KILN_DATABASE_POOL: {{ .Values.database.pool | quote }}
{{- end }}
{{- with .Values.artifacts.uri }}
KILN_ARTIFACTS_URI: {{ . | quote }}
{{- end }}
{{- with .Values.artifacts.region }}
AWS_REGION: {{ . | quote }}
{{- end }}
{{- with .Values.artifacts.endpoint }}
AWS_ENDPOINT_URL_S3: {{ . | quote }}
{{- end }}
{{- if .Values.artifacts.credentialsSecret.name }}
AWS_SHARED_CREDENTIALS_FILE: {{ printf "%s/aws/%s" $dir .Values.artifacts.credentialsSecret.key | quote }}
{{- end }}
{{- with .Values.onlineStore.uri }}
KILN_ONLINE_STORE_URI: {{ . | quote }}
{{- end }}
{{- if .Values.onlineStore.passwordSecret.name }}
KILN_REDIS_PASSWORD_FILE: {{ printf "%s/redis/%s" $dir .Values.onlineStore.passwordSecret.key | quote }}
{{- end }}
{{- if .Values.onlineStore.caSecret.name }}
KILN_REDIS_CA_FILE: {{ printf "%s/redis-ca/%s" $dir .Values.onlineStore.caSecret.key | quote }}
{{- end }}
KILN_AUTH: {{ .Values.auth.enabled | quote }}
{{- if .Values.auth.enabled }}
KILN_ADMIN_PASSWORD_FILE: {{ printf "%s/admin/%s" $dir .Values.auth.adminPasswordSecret.key | quote }}
KILN_DEFAULT_ROLE: {{ .Values.auth.defaultRole | quote }}
{{- with .Values.auth.oidc.issuer }}
KILN_OIDC_ISSUER: {{ . | quote }}
KILN_OIDC_AUDIENCE: {{ required "auth.oidc.audience is required with auth.oidc.issuer" $.Values.auth.oidc.audience | quote }}
{{- end }}
{{- end }}
{{- if .Values.secretKey.secret.name }}
KILN_SECRET_KEY_FILE: {{ printf "%s/secret-key/%s" $dir .Values.secretKey.secret.key | quote }}
{{- end }}
KILN_AUDIT: {{ .Values.audit.enabled | quote }}
{{- if .Values.audit.signingKeySecret.name }}
KILN_AUDIT_KEY_FILE: {{ printf "%s/audit-key/%s" $dir .Values.audit.signingKeySecret.key | quote }}
{{- end }}
{{- if .Values.tls.secretName }}
KILN_TLS_CERT_FILE: "/etc/kiln/tls/tls.crt"
KILN_TLS_KEY_FILE: "/etc/kiln/tls/tls.key"
{{- end }}
{{- range $k, $v := .Values.config }}
{{ printf "KILN_%s" ($k | upper | replace "-" "_") }}: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* Secret volumes: one per referenced Secret, mounted read-only under kiln.secretDir. */}}
{{- define "kiln.secretRefs" -}}
{{- $refs := list -}}
{{- if .Values.database.passwordSecret.name }}{{ $refs = append $refs (dict "dir" "database" "ref" .Values.database.passwordSecret) }}{{ end -}}
{{- if .Values.artifacts.credentialsSecret.name }}{{ $refs = append $refs (dict "dir" "aws" "ref" .Values.artifacts.credentialsSecret) }}{{ end -}}
{{- if .Values.onlineStore.passwordSecret.name }}{{ $refs = append $refs (dict "dir" "redis" "ref" .Values.onlineStore.passwordSecret) }}{{ end -}}
{{- if .Values.onlineStore.caSecret.name }}{{ $refs = append $refs (dict "dir" "redis-ca" "ref" .Values.onlineStore.caSecret) }}{{ end -}}
{{- if .Values.auth.enabled }}{{ $refs = append $refs (dict "dir" "admin" "ref" .Values.auth.adminPasswordSecret) }}{{ end -}}
{{- if .Values.secretKey.secret.name }}{{ $refs = append $refs (dict "dir" "secret-key" "ref" .Values.secretKey.secret) }}{{ end -}}
{{- if .Values.audit.signingKeySecret.name }}{{ $refs = append $refs (dict "dir" "audit-key" "ref" .Values.audit.signingKeySecret) }}{{ end -}}
{{- toJson (dict "refs" $refs) -}}
{{- end -}}

{{- define "kiln.secretVolumes" -}}
{{- range (include "kiln.secretRefs" . | fromJson).refs }}
- name: {{ printf "secret-%s" .dir }}
  secret:
    secretName: {{ .ref.name }}
    defaultMode: 0440
    items:
      - key: {{ .ref.key }}
        path: {{ .ref.key }}
{{- end }}
{{- if .Values.tls.secretName }}
- name: tls
  secret:
    secretName: {{ .Values.tls.secretName }}
    defaultMode: 0440
    items:
      - {key: tls.crt, path: tls.crt}
      - {key: tls.key, path: tls.key}
{{- end }}
{{- end -}}

{{- define "kiln.secretMounts" -}}
{{- $dir := include "kiln.secretDir" . -}}
{{- range (include "kiln.secretRefs" . | fromJson).refs }}
- name: {{ printf "secret-%s" .dir }}
  mountPath: {{ printf "%s/%s" $dir .dir }}
  readOnly: true
{{- end }}
{{- if .Values.tls.secretName }}
- name: tls
  mountPath: /etc/kiln/tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "kiln.probeScheme" -}}{{ ternary "HTTPS" "HTTP" (not (empty .Values.tls.secretName)) }}{{- end -}}
