#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the real peers of the tests from pinned sources into build/peers/: the OTLP
# clients of tests/test_real_clients.py (and the Collector baseline of
# bench/otlp_receiver_bench.py) and the object-store servers of
# tests/test_dataset_object_stores.py:
#   otelcol          an OpenTelemetry Collector made by the Collector builder (ocb)
#                    from tests/peers/collector/manifest.yaml (Go module proxy)
#   telemetrygen     the Collector contrib load generator (Go module proxy)
#   fake-gcs-server  a Google Cloud Storage API server (Go module proxy)
#   azurite-blob     Microsoft's Azure Blob Storage emulator (npm package azurite,
#                    installed under build/peers/azurite/)
#   otelcol-otap     a Collector with contrib's otelarrowreceiver and fileexporter,
#                    from tests/peers/collector_otap/manifest.yaml (v0.148.0: the one
#                    release the Go proxy serves otelarrowreceiver at), for the
#                    exporter:otap tests
#   arrow_rs_reader  tests/peers/arrow_rs_reader: reads datasets with arrow-rs (the
#                    `parquet` crate, pinned with its Cargo.lock; crates.io) for
#                    tests/test_arrow_rs_reader.py
# Usage: scripts/build_peers.sh [NAME...]  (no name: all of them).
# Idempotent: a peer is rebuilt only when its version, the manifest or the
# toolchain version changed (a stamp file beside each binary). Go's own module and
# build caches (GOMODCACHE, GOCACHE), npm's cache and cargo's registry ($CARGO_HOME,
# ~/.cargo) are used as configured; cargo builds into a cache beside Go's
# ($OTAP_CARGO_TARGET_DIR, default ~/.cache/otap-parquet/cargo-target: cargo's own
# fingerprints keep it right across clones, so a fresh clone does not compile the
# crates again). Cold:
# 11 min on two busy cores for the Collector, 2-3 min each for the others, 6 min for
# arrow_rs_reader (181 s of CPU); cached: instant. Prints the built binaries' paths, one a line.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILDER_VERSION=v0.165.0  # same release as the Collector components of the manifest
TELEMETRYGEN_VERSION=v0.161.0
FAKE_GCS_SERVER_VERSION=v1.56.1
# 3.35 rather than the newest: later releases need Node.js 22 (Debian ships 20).
AZURITE_VERSION=3.35.0
manifest=tests/peers/collector/manifest.yaml
OTAP_BUILDER_VERSION=v0.148.0  # same release as tests/peers/collector_otap's modules
otap_manifest=tests/peers/collector_otap/manifest.yaml
arrow_rs_reader=tests/peers/arrow_rs_reader
out=build/peers

names=("$@")
((${#names[@]})) ||
  names=(otelcol telemetrygen fake-gcs-server azurite-blob otelcol-otap arrow_rs_reader)
for name in "${names[@]}"; do
  case $name in
    otelcol | otelcol-otap | telemetrygen | fake-gcs-server) need_go=1 ;;
    azurite-blob) need_npm=1 ;;
    arrow_rs_reader) need_cargo=1 ;;
    *) echo "build_peers: unknown peer '$name'" >&2; exit 2 ;;
  esac
done
if [[ -n "${need_go:-}" ]] && ! command -v go >/dev/null; then
  echo "build_peers: Go is needed to build the test peers (https://go.dev/dl/)" >&2
  exit 1
fi
if [[ -n "${need_npm:-}" ]] && ! command -v npm >/dev/null; then
  echo "build_peers: npm (Node.js) is needed to install Azurite (scripts/setup.sh)" >&2
  exit 1
fi
# rustup installs cargo into ~/.cargo/bin, which a non-login shell may not have in PATH.
command -v cargo >/dev/null || PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
if [[ -n "${need_cargo:-}" ]] && ! command -v cargo >/dev/null; then
  echo "build_peers: cargo (Rust, https://rustup.rs) is needed to build arrow_rs_reader" >&2
  exit 1
fi
mkdir -p "$out/tools"
abs_out=$(cd "$out" && pwd)
# One build at a time (two test sessions of one checkout may start together).
exec 9>"$out/.lock"
flock 9

go_version=$(go env GOVERSION 2>/dev/null || echo none)

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

build_otelcol_otap() {
  GOBIN="$abs_out/tools/$OTAP_BUILDER_VERSION" go install \
    "go.opentelemetry.io/collector/cmd/builder@$OTAP_BUILDER_VERSION"
  "$out/tools/$OTAP_BUILDER_VERSION/builder" --config "$otap_manifest"
  mv "$out/otelcol-otap-src/otelcol-otap" "$out/otelcol-otap"
}

build_arrow_rs_reader() {
  local target="${OTAP_CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/otap-parquet/cargo-target}"
  CARGO_TARGET_DIR="$target" cargo build --release --locked \
    --manifest-path "$arrow_rs_reader/Cargo.toml"
  cp "$target/release/arrow_rs_reader" "$out/arrow_rs_reader"
}

install_azurite() {
  rm -rf "$out/azurite"
  npm install --prefix "$out/azurite" --no-audit --no-fund --no-save \
    "azurite@$AZURITE_VERSION"
  ln -sfn azurite/node_modules/.bin/azurite-blob "$out/azurite-blob"
}

for name in "${names[@]}"; do
  case $name in
    otelcol)
      build otelcol \
        "builder $BUILDER_VERSION manifest $(sha256sum "$manifest" | cut -c1-16) $go_version" \
        build_otelcol
      ;;
    otelcol-otap)
      build otelcol-otap \
        "builder $OTAP_BUILDER_VERSION manifest $(sha256sum "$otap_manifest" | cut -c1-16) $go_version" \
        build_otelcol_otap
      ;;
    telemetrygen)
      build telemetrygen "$TELEMETRYGEN_VERSION $go_version" \
        env GOBIN="$abs_out" go install \
        "github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@$TELEMETRYGEN_VERSION"
      ;;
    fake-gcs-server)
      build fake-gcs-server "$FAKE_GCS_SERVER_VERSION $go_version" \
        env GOBIN="$abs_out" go install \
        "github.com/fsouza/fake-gcs-server@$FAKE_GCS_SERVER_VERSION"
      ;;
    azurite-blob)
      build azurite-blob "$AZURITE_VERSION node $(node --version)" install_azurite
      ;;
    arrow_rs_reader)
      build arrow_rs_reader \
        "sources $(cat "$arrow_rs_reader"/Cargo.* "$arrow_rs_reader"/src/*.rs | sha256sum | cut -c1-16) $(rustc --version)" \
        build_arrow_rs_reader
      ;;
  esac
  echo "$out/$name"
done
