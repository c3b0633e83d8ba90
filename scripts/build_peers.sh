#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the real OTLP peers of tests/test_real_clients.py (and the Collector
# baseline of bench/otlp_receiver_bench.py) from pinned sources through the Go
# module proxy, into build/peers/:
#   otelcol       an OpenTelemetry Collector made by the Collector builder (ocb) from
#                 tests/peers/collector/manifest.yaml
#   telemetrygen  the Collector contrib load generator
#   otelcol-otap  a Collector with contrib's otelarrowreceiver and fileexporter, from
#                 tests/peers/collector_otap/manifest.yaml (v0.148.0: the one release
#                 the Go proxy serves otelarrowreceiver at), for the exporter:otap tests
# Idempotent: a peer is rebuilt only when its version, the manifest or the Go
# version changed (a stamp file beside each binary). Go's own module and build
# caches (GOMODCACHE, GOCACHE) are used as configured. Cold: 11 min on two
# busy cores; cached: instant. Prints the two binaries' paths.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILDER_VERSION=v0.165.0  # same release as the Collector components of the manifest
TELEMETRYGEN_VERSION=v0.161.0
manifest=tests/peers/collector/manifest.yaml
OTAP_BUILDER_VERSION=v0.148.0  # same release as tests/peers/collector_otap's modules
otap_manifest=tests/peers/collector_otap/manifest.yaml
out=build/peers

if ! command -v go >/dev/null; then
  echo "build_peers: Go is needed to build the test peers (https://go.dev/dl/)" >&2
  exit 1
fi
mkdir -p "$out/tools"
abs_out=$(cd "$out" && pwd)
# One build at a time (two test sessions of one checkout may start together).
exec 9>"$out/.lock"
flock 9

go_version=$(go env GOVERSION)

# build NAME KEY COMMAND...: runs COMMAND unless build/peers/NAME exists with the
# stamp KEY.
build() {
  local name=$1 key=$2
  shift 2
  if [[ -x "$out/$name" && "$(cat "$out/.$name.stamp" 2>/dev/null)" == "$key" ]]; then
    return
  fi
  echo "build_peers: building $name ($key)" >&2
  local start=$SECONDS
  rm -f "$out/.$name.stamp"
  "$@" >&2
  echo "$key" > "$out/.$name.stamp"
  echo "build_peers: $name built in $((SECONDS - start)) s" >&2
}

build_otelcol() {
  GOBIN="$abs_out/tools" go install "go.opentelemetry.io/collector/cmd/builder@$BUILDER_VERSION"
  "$out/tools/builder" --config "$manifest"
  mv "$out/otelcol-src/otelcol" "$out/otelcol"
}

build otelcol "builder $BUILDER_VERSION manifest $(sha256sum "$manifest" | cut -c1-16) $go_version" \
  build_otelcol
build_otelcol_otap() {
  GOBIN="$abs_out/tools/$OTAP_BUILDER_VERSION" go install \
    "go.opentelemetry.io/collector/cmd/builder@$OTAP_BUILDER_VERSION"
  "$out/tools/$OTAP_BUILDER_VERSION/builder" --config "$otap_manifest"
  mv "$out/otelcol-otap-src/otelcol-otap" "$out/otelcol-otap"
}

build otelcol-otap \
  "builder $OTAP_BUILDER_VERSION manifest $(sha256sum "$otap_manifest" | cut -c1-16) $go_version" \
  build_otelcol_otap
build telemetrygen "$TELEMETRYGEN_VERSION $go_version" \
  env GOBIN="$abs_out" go install \
  "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION"

echo "$out/otelcol"
echo "$out/telemetrygen"
echo "$out/otelcol-otap"
