{{/*
crossway (copied into the chart by hack/build-module.ts): the webhook's credentials, made once per
render and shared by the two Secrets, the webhook configuration and the Deployments' pod templates.
Each template file renders on its own, so the result is kept in .Values under a private key.

- Install: a new CA and serving certificate for the webhook Service (genCA, genSignedCert; valid
  webhookCredentials.validityDays) and a random API token (randAlphaNum). The CA's key is never stored.
- Upgrade: what the cluster already holds (lookup) is kept, so an upgrade does not rotate it, unless
  the certificate expires within webhookCredentials.renewDaysBefore days (the TLS Secret's
  crossway.dev/certificate-expires annotation; a Secret without it, or without ca.crt, is made anew).
  A renewal keeps the previous CA in the caBundle beside the new one while the pods roll to the new
  certificate (the fingerprint annotation changes their template). The API token is always kept.
- Without a cluster (helm template, a GitOps tool rendering the chart) lookup finds nothing, so every
  render makes new ones.
*/}}
{{- define "crossway.webhookCredentials" -}}
{{- if not (hasKey .Values "_crosswayWebhookCredentials") -}}
{{- $ns := "pepr-system" -}}
{{- $svc := .Values.uuid -}}
{{- $days := int .Values.webhookCredentials.validityDays -}}
{{- if le $days (int .Values.webhookCredentials.renewDaysBefore) -}}
{{- fail (printf "webhookCredentials.validityDays (%d) must be more than renewDaysBefore (%d): every upgrade would make a new certificate" $days (int .Values.webhookCredentials.renewDaysBefore)) -}}
{{- end -}}
{{- $tls := lookup "v1" "Secret" $ns (printf "%s-tls" $svc) -}}
{{- $api := lookup "v1" "Secret" $ns (printf "%s-api-path" $svc) -}}
{{- $c := dict "crt" (dig "data" "tls.crt" "" $tls) "key" (dig "data" "tls.key" "" $tls) "ca" (dig "data" "ca.crt" "" $tls) "expires" (dig "metadata" "annotations" "crossway.dev/certificate-expires" "" $tls) -}}
{{- $renewBy := now | dateModify (printf "+%dh" (mul (int .Values.webhookCredentials.renewDaysBefore) 24)) -}}
{{- $keep := false -}}
{{- if and $c.crt $c.key $c.ca $c.expires -}}
{{- $keep = gt (toDate "2006-01-02T15:04:05Z07:00" $c.expires).Unix $renewBy.Unix -}}
{{- end -}}
{{- if $keep -}}
{{- $_ := set $c "caBundle" $c.ca -}}
{{- else -}}
{{- $previousCa := $c.ca | b64dec -}}
{{- $host := printf "%s.%s.svc" $svc $ns -}}
{{- $ca := genCA (printf "%s webhook CA %s" $svc (randAlphaNum 8 | lower)) $days -}}
{{- $cert := genSignedCert $host nil (list $svc (printf "%s.%s" $svc $ns) $host (printf "%s.cluster.local" $host)) $days $ca -}}
{{- $_ := set $c "crt" ($cert.Cert | b64enc) -}}
{{- $_ := set $c "key" ($cert.Key | b64enc) -}}
{{- $_ := set $c "ca" ($ca.Cert | b64enc) -}}
{{- $_ := set $c "expires" (dateInZone "2006-01-02T15:04:05Z07:00" (now | dateModify (printf "+%dh" (mul $days 24))) "UTC") -}}
{{- $_ := set $c "caBundle" (print $ca.Cert $previousCa | b64enc) -}}
{{- end -}}
{{- $token := dig "data" "value" "" $api | b64dec -}}
{{- if not $token -}}
{{- /* lowercase: the API server accepts a webhook path segment only as an RFC 1123 name */ -}}
{{- $token = randAlphaNum 64 | lower -}}
{{- end -}}
{{- $_ := set $c "apiToken" $token -}}
{{- $_ := set $c "fingerprint" (sha256sum $c.crt | trunc 16) -}}
{{- $_ := set .Values "_crosswayWebhookCredentials" $c -}}
{{- end -}}
{{- index .Values "_crosswayWebhookCredentials" | toJson -}}
{{- end -}}
