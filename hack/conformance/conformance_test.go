// Package conformance only pins the module graph: the suite that runs is the unmodified
// sigs.k8s.io/gateway-api/conformance package at v1.6.1, compiled by `go test -c` (see build.sh).
package conformance

import _ "sigs.k8s.io/gateway-api/conformance"
