{{/* Names ------------------------------------------------------------------------------ */}}

{{- define "course-controller.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "course-controller.fullname" -}}
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

{{- define "course-controller.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "course-controller.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "course-controller.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "course-controller.workerServiceAccountName" -}}
{{- default (printf "%s-worker" (include "course-controller.fullname" .) | trunc 63 | trimSuffix "-") .Values.worker.serviceAccount.name -}}
{{- end -}}

{{- define "course-controller.databaseSecretName" -}}
{{- if .Values.database.url -}}
{{- printf "%s-database" (include "course-controller.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- default (printf "%s-database" (include "course-controller.fullname" .) | trunc 63 | trimSuffix "-") .Values.database.existingSecret.name -}}
{{- end -}}
{{- end -}}

{{- define "course-controller.databaseSecretKey" -}}
{{- if .Values.database.url -}}url{{- else -}}{{ .Values.database.existingSecret.key }}{{- end -}}
{{- end -}}

{{/* Labels: selectors use only the stable name/instance/component labels. -------------- */}}

{{- define "course-controller.selectorLabels" -}}
app.kubernetes.io/name: {{ include "course-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "course-controller.labels" -}}
helm.sh/chart: {{ include "course-controller.chart" . }}
app.kubernetes.io/name: {{ include "course-controller.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: course-controller
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "course-controller.controllerLabels" -}}
{{ include "course-controller.labels" . }}
app.kubernetes.io/component: controller
{{- end -}}

{{- define "course-controller.workerLabels" -}}
{{ include "course-controller.labels" . }}
app.kubernetes.io/component: worker
{{- end -}}

{{/* Images, namespaces, settings -------------------------------------------------------- */}}

{{- define "course-controller.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "course-controller.workerImage" -}}
{{- $repository := default .Values.image.repository .Values.worker.image.repository -}}
{{- if .Values.worker.image.tag -}}
{{- printf "%s:%s" $repository .Values.worker.image.tag -}}
{{- else if .Values.image.digest -}}
{{- printf "%s@%s" $repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The watched namespaces as a list (the release namespace when none is given). */}}
{{- define "course-controller.watchNamespaces" -}}
{{- $namespaces := .Values.watch.namespaces | default (list .Release.Namespace) -}}
{{- toJson (uniq $namespaces) -}}
{{- end -}}

{{/* Namespaces that get the workers' service account and Role. */}}
{{- define "course-controller.workerNamespaces" -}}
{{- $namespaces := list -}}
{{- if not .Values.watch.allNamespaces -}}
{{- $namespaces = include "course-controller.watchNamespaces" . | fromJsonArray -}}
{{- end -}}
{{- toJson (uniq (concat $namespaces .Values.worker.serviceAccount.namespaces)) -}}
{{- end -}}

{{- define "course-controller.replicas" -}}
{{- if .Values.database.sqlite.enabled -}}1{{- else -}}{{ .Values.replicaCount }}{{- end -}}
{{- end -}}

{{- define "course-controller.sqliteClaim" -}}
{{- default (printf "%s-sqlite" (include "course-controller.fullname" .) | trunc 63 | trimSuffix "-") .Values.database.sqlite.persistence.existingClaim -}}
{{- end -}}

{{/* The RBAC rules the controller needs; keep tests/install/test_rbac.py in step. */}}
{{- define "course-controller.controllerRules" -}}
# kopf lists and watches Courses, and patches them (finalizer, progress annotations).
- apiGroups: [learning.dev]
  resources: [courses]
  verbs: [list, watch, patch]
# The controller writes each Course's status.
- apiGroups: [learning.dev]
  resources: [courses/status]
  verbs: [patch]
# The controller lists, creates and deletes its worker pods; kopf watches them.
- apiGroups: [""]
  resources: [pods]
  verbs: [list, watch, create, delete]
# kopf posts events about the Courses it handles.
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}

{{/* The workers' only permission: patch their own pod's progress annotation. */}}
{{- define "course-controller.workerRules" -}}
- apiGroups: [""]
  resources: [pods]
  verbs: [patch]
{{- end -}}

{{/* COURSE_DATABASE_URL: a file on the SQLite volume, or the URL from a Secret. */}}
{{- define "course-controller.databaseEnv" -}}
{{- if .Values.database.sqlite.enabled -}}
- name: COURSE_DATABASE_URL
  value: sqlite:////var/lib/course-controller/queue.db
{{- else -}}
- name: COURSE_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "course-controller.databaseSecretName" . }}
      key: {{ include "course-controller.databaseSecretKey" . }}
{{- end -}}
{{- end -}}

{{- define "course-controller.sqliteMounts" -}}
- name: sqlite
  mountPath: /var/lib/course-controller
- name: tmp
  mountPath: /tmp
{{- end -}}
