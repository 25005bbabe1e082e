{{/* Names: services keep their Python names in values (md_gateway) and get DNS names here. */}}
{{- define "mm.dnsName" -}}
{{- . | replace "_" "-" -}}
{{- end -}}

{{- define "mm.fullname" -}}
{{- $root := index . 0 -}}{{- $service := index . 1 -}}
{{- printf "%s-%s" $root.Release.Name (include "mm.dnsName" $service) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "mm.selectorLabels" -}}
{{- $root := index . 0 -}}{{- $service := index . 1 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ include "mm.dnsName" $service }}
{{- end -}}

{{- define "mm.labels" -}}
{{- $root := index . 0 -}}
{{ include "mm.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end -}}

{{/* The settings prefix of a service: md_gateway -> MD_GATEWAY_. */}}
{{- define "mm.prefix" -}}
{{- printf "%s_" (upper .) -}}
{{- end -}}

{{/* Sharded services run as StatefulSets: md_gateway always (shard = ordinal), quoter and
executor when symbolShards is set. */}}
{{- define "mm.sharded" -}}
{{- $service := index . 0 -}}{{- $config := index . 1 -}}
{{- if or (eq $service "md_gateway") (gt (len ($config.symbolShards | default list)) 0) -}}true{{- end -}}
{{- end -}}

{{/* Lease mode (docs/sharding.md): quoter or executor replicas each given every symbol, sharing
them by per-symbol lease in KV; a StatefulSet so that each pod has a stable index. */}}
{{- define "mm.leased" -}}
{{- $config := index . 1 -}}
{{- if and $config.lease $config.lease.enabled -}}
{{- if gt (len ($config.symbolShards | default list)) 0 -}}
{{- fail (printf "services.%s: lease.enabled and symbolShards exclude each other; set one" (index . 0)) -}}
{{- end -}}true
{{- end -}}
{{- end -}}

{{- define "mm.replicas" -}}
{{- $service := index . 0 -}}{{- $config := index . 1 -}}
{{- if or (eq $service "risk") (eq $service "ledger") -}}1
{{- else if gt (len ($config.symbolShards | default list)) 0 -}}{{ len $config.symbolShards }}
{{- else -}}{{ $config.replicas | default 1 }}
{{- end -}}
{{- end -}}

{{- define "mm.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* The bus as the services see it: every node of the chart's own NATS cluster, or nats.url. */}}
{{- define "mm.natsUrl" -}}
{{- if .Values.nats.cluster.enabled -}}
{{- $name := include "mm.fullname" (list . "nats") -}}
{{- $urls := list -}}
{{- range $index := until (int .Values.nats.cluster.replicas) -}}
{{- $urls = append $urls (printf "nats://%s-%d.%s.%s.svc:4222" $name $index $name $.Release.Namespace) -}}
{{- end -}}
{{- join "," $urls -}}
{{- else -}}
{{- .Values.nats.url -}}
{{- end -}}
{{- end -}}
