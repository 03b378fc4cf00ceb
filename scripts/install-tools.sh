#!/usr/bin/env bash
# Installs what building and testing khaosat needs, idempotently and at pinned
# versions, from crates.io, npm and Debian only (no release binaries from
# anywhere else). Sourced by run.sh and test.sh; safe to run again.
#
#   PINNED: cargo-leptos 0.3.11, wasm-bindgen-cli 0.2.130 (= Cargo.lock),
#           wasm32-unknown-unknown target, Debian chromium + chromium-driver,
#           binaryen 132.0.0 (npm, its wasm-opt; Debian's binaryen 108 breaks the module).
set -euo pipefail

KHAOSAT_CARGO_LEPTOS_VERSION=0.3.11
KHAOSAT_WASM_BINDGEN_VERSION=0.2.130
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf '\033[1m[khaosat setup]\033[0m %s\n' "$*" >&2; }

apt_updated=0
apt_install() {
  # Installs the Debian packages in "$@" that are missing.
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$apt_updated" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A crate whose own lock file no longer resolves on this registry or this Rust
# (1.95): take the published source, pin one dependency back, install --locked.
install_patched() {
  local name="$1" version="$2" dep="$3" precise="$4" features="${5:-}"
  local crate
  crate="$(ls ~/.cargo/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -n 1 || true)"
  if [ -z "$crate" ]; then
    # Fails on purpose (its lock file cannot build here) but leaves the source
    # archive in Cargo's cache, downloaded from crates.io by cargo itself.
    cargo install "$name@$version" --locked >/dev/null 2>&1 || true
    crate="$(ls ~/.cargo/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -n 1 || true)"
  fi
  [ -n "$crate" ] || { log "could not download $name $version from crates.io"; return 1; }
  local work
  work="$(mktemp -d)"
  tar xzf "$crate" -C "$work"
  # Without LTO and with parallel codegen the tool builds in 19 instead of 23
  # minutes on 2 cores; it runs for seconds per build (cargo does the work), so
  # opt-level 1 is enough too and keeps a bare machine's first run inside CI's
  # 90 minutes.
  (cd "$work/$name-$version" && cargo update -p "$dep" --precise "$precise" >/dev/null 2>&1 &&
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      cargo install --path . --locked --quiet $features)
  rm -rf "$work"
}

install_tools() {
  apt_install ca-certificates chromium chromium-driver brotli postgresql
  # The e2e suite's Python tus client (tuspy) lives in a venv.
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3 python3-venv
  fi

  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi

  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $KHAOSAT_WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $KHAOSAT_WASM_BINDGEN_VERSION (about 3 minutes)"
    install_patched wasm-bindgen-cli "$KHAOSAT_WASM_BINDGEN_VERSION" webpki-roots 1.0.10
  fi

  if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION (about 10 minutes, once per machine)"
    install_patched cargo-leptos "$KHAOSAT_CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1 "--features no_downloads"
  fi

  # npm packages of the end-to-end tests and the release build's wasm-opt, from
  # the committed lock file; skipped when node_modules matches it.
  local stamp="$repo_root/tests/node_modules/.khaosat-lock.sha256"
  local want
  want="$(sha256sum "$repo_root/tests/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci (tests/)"
    (cd "$repo_root/tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
    echo "$want" > "$stamp"
  fi
  # cargo-leptos uses the first wasm-opt on PATH: npm's binaryen 132.
  export PATH="$repo_root/tests/node_modules/.bin:$PATH"
}
