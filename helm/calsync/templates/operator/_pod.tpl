{{- /*
The operator's pod template, shared by the Deployment (one shard) and the StatefulSet (several
shards, each pod its shard). Included right after `template:`, at the indentation it has here.
*/}}
{{ define "calsync.operator.podTemplate" }}{{- $webhookUrl := include "calsync.webhookUrl" . }}
    metadata:
      labels:
        {{- include "calsync.componentLabels" (dict "ctx" . "component" "operator") | nindent 8 }}
        {{- with .Values.operator.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Roll the pod when a chart-made Secret changes: env from Secrets is read at start only.
        checksum/secrets: {{ include (print $.Template.BasePath "/secrets.yaml") . | sha256sum }}
        {{- with .Values.operator.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "calsync.operator.serviceAccountName" . }}
      enableServiceLinks: false
      {{- with .Values.operator.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- include "calsync.podSecurityContext" . | nindent 8 }}
      containers:
        - name: operator
          image: {{ include "calsync.image" . }}
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          args: ["operator"]
          env:
            {{- include "calsync.commonEnv" . | nindent 12 }}
            {{- if gt (int .Values.operator.shards) 1 }}
            # The shard is the StatefulSet ordinal at the end of the pod name (docs/operator.md).
            - name: CALSYNC_SHARDS
              value: {{ .Values.operator.shards | quote }}
            - name: POD_NAME
              valueFrom:
                fieldRef:
                  fieldPath: metadata.name
            {{- end }}
            {{- if $webhookUrl }}
            - name: CALSYNC_WEBHOOK_URL
              value: {{ $webhookUrl | quote }}
            {{- end }}
            - name: CALSYNC_GOOGLE_API_ROOT
              value: {{ .Values.google.apiRoot | quote }}
            {{- with .Values.google.tokenUri }}
            - name: CALSYNC_GOOGLE_TOKEN_URI
              value: {{ . | quote }}
            {{- end }}
            - name: CALSYNC_RATE_PER_MINUTE
              value: {{ .Values.google.ratePerMinute | quote }}
            - name: CALSYNC_GOOGLE_BATCH_SIZE
              value: {{ .Values.google.batchSize | quote }}
            - name: CALSYNC_CHANNEL_TTL_SECONDS
              value: {{ .Values.operator.channelTtlSeconds | quote }}
            - name: CALSYNC_FULL_SYNC_INTERVAL_SECONDS
              value: {{ .Values.operator.fullSyncIntervalSeconds | quote }}
            # The ports below, the probe and the Service use these same numbers.
            - name: CALSYNC_HEALTH_PORT
              value: "8080"
            - name: CALSYNC_METRICS_PORT
              value: "9090"
            {{- include "calsync.alertEnv" . | nindent 12 }}
            {{- if or .Values.heartbeat.url .Values.heartbeat.existingSecret }}
            - name: CALSYNC_HEARTBEAT_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "calsync.heartbeat.secretName" . }}
                  key: {{ include "calsync.heartbeat.secretKey" . }}
            {{- end }}
            {{- with .Values.operator.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          ports:
            # kopf's liveness endpoint (`calsync operator` serves it on 8080 at /healthz).
            - name: health
              containerPort: 8080
              protocol: TCP
            - name: metrics
              containerPort: 9090
              protocol: TCP
          livenessProbe:
            httpGet:
              path: /healthz
              port: health
            # kopf answers only after its startup handlers ran; give it time to list the cluster.
            initialDelaySeconds: 15
            periodSeconds: 20
            timeoutSeconds: 5
            failureThreshold: 3
          resources:
            {{- toYaml .Values.operator.resources | nindent 12 }}
          securityContext:
            {{- include "calsync.containerSecurityContext" . | nindent 12 }}
          volumeMounts:
            {{- include "calsync.tmpVolumeMount" . | nindent 12 }}
      volumes:
        {{- include "calsync.tmpVolume" . | nindent 8 }}
      {{- with .Values.operator.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.operator.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.operator.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
