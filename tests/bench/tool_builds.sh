#!/usr/bin/env bash
# What a new machine spends building the Rust tools of the two commands:
# wasm-bindgen-cli, cargo-leptos and s3s-fs, built as scripts/install-tools.sh
# builds them (one shared target directory, cargo-leptos without
# cargo-generate), into a throw-away root with an empty target, and timed one
# by one. With --as-before, cargo-leptos is also built as before this change
# (with cargo-generate, its own target directory), for comparison.
# Each built tool must print its pinned version: a build that produced nothing
# cannot look fast. Uses the crates already in Cargo's download cache.
#
#   flock -o /work/.build.lock bash tests/bench/tool_builds.sh [--as-before]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
source scripts/install-tools.sh
root="$(mktemp -d)"
export CARGO_INSTALL_ROOT="$root"
tools_target="$(mktemp -d)"
trap 'rm -rf "$root" "$tools_target"' EXIT

timed() {
  local what="$1" expect="$2"; shift 2
  local start=$SECONDS
  "$@"
  local took=$((SECONDS - start)) got
  got="$("$root/bin/$what" --version 2>&1 | head -n 1)"
  [ "$got" = "$expect" ] || { echo "$what: expected \"$expect\", got \"$got\"" >&2; exit 1; }
  printf '%-32s %4d s  (%s)\n' "$what" "$took" "$got"
}

timed wasm-bindgen "wasm-bindgen $KHAOSAT_WASM_BINDGEN_VERSION" \
  install_patched wasm-bindgen-cli "$KHAOSAT_WASM_BINDGEN_VERSION" webpki-roots 1.0.10
timed cargo-leptos "cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION" \
  install_patched cargo-leptos "$KHAOSAT_CARGO_LEPTOS_VERSION" "" "" "--features no_downloads" \
  without_cargo_generate
timed s3s-fs "s3s-fs $KHAOSAT_S3S_FS_VERSION" \
  env CARGO_TARGET_DIR="$tools_target" CARGO_PROFILE_RELEASE_LTO=false \
  CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
  cargo install "s3s-fs@$KHAOSAT_S3S_FS_VERSION" --locked --features binary --quiet
said="$("$root/bin/cargo-leptos" new --git x 2>&1 || true)"
[[ "$said" == *"left out of this build"* ]] ||
  { echo "cargo leptos new: expected the left-out message, got: $said" >&2; exit 1; }

if [ "${1:-}" = "--as-before" ]; then
  rm -rf "$tools_target" "$root/bin/cargo-leptos"
  tools_target="$(mktemp -d)"
  timed cargo-leptos "cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION" \
    install_patched cargo-leptos "$KHAOSAT_CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1 \
    "--features no_downloads"
fi
