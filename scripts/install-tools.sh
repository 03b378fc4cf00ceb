#!/usr/bin/env bash
# Installs what building and testing khaosat needs, idempotently and at pinned
# versions, from crates.io, npm and Debian only (no release binaries from
# anywhere else). Sourced by run.sh and test.sh; safe to run again.
#
#   PINNED: cargo-leptos 0.3.11 (without `cargo leptos new`), wasm-bindgen-cli
#           0.2.130 (= Cargo.lock), s3s-fs 0.14.1 (tests only),
#           wasm32-unknown-unknown target, Debian chromium + chromium-driver,
#           binaryen 132.0.0 (npm, its wasm-opt, called through scripts/bin/wasm-opt;
#           Debian's binaryen 108 breaks the module).
set -euo pipefail

KHAOSAT_CARGO_LEPTOS_VERSION=0.3.11
KHAOSAT_WASM_BINDGEN_VERSION=0.2.130
KHAOSAT_S3S_FS_VERSION=0.14.1
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
# (1.95), or that carries a part khaosat never runs: take the published
# source, let "$prepare" (a function, optional) trim it, pin one dependency
# back (optional), install --locked. Every tool builds into one target
# directory per run, so crates two tools share at the same version build once.
install_patched() {
  local name="$1" version="$2" dep="${3:-}" precise="${4:-}" features="${5:-}" prepare="${6:-}"
  local crate
  crate="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -n 1 || true)"
  if [ -z "$crate" ]; then
    # Downloads the source archive into Cargo's cache, from crates.io by cargo
    # itself; the install part fails on purpose when the lock file cannot build here.
    cargo install "$name@$version" --locked >/dev/null 2>&1 || true
    crate="$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"$name-$version.crate" 2>/dev/null | head -n 1 || true)"
  fi
  [ -n "$crate" ] || { log "could not download $name $version from crates.io"; return 1; }
  local work
  work="$(mktemp -d)"
  tar xzf "$crate" -C "$work"
  # Each step says when it failed: callers run this in `||`, where set -e is off.
  (
    cd "$work/$name-$version" || exit 1
    if [ -n "$prepare" ]; then
      "$prepare" . || exit 1
      # Drops what the trimmed source no longer uses from the lock file; every
      # version it keeps stays as published.
      cargo update --workspace --quiet || exit 1
    fi
    if [ -n "$dep" ]; then
      cargo update -p "$dep" --precise "$precise" --quiet || exit 1
    fi
    # Without LTO and with parallel codegen the tools build in about half the
    # time on 2 cores; they run for seconds per build (cargo does the work), so
    # opt-level 1 is enough too.
    CARGO_TARGET_DIR="$tools_target" CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      cargo install --path . --locked --quiet $features
  )
  local status=$?
  rm -rf "$work"
  return $status
}

# cargo-leptos's `new` subcommand (project templates) is its only use of
# cargo-generate, which brings 161 of the 730 crates in its lock file
# (gitoxide, rhai, liquid). khaosat never runs `cargo leptos new`; without it
# the tool builds in 7 minutes instead of 9 on 2 cores
# (tests/bench/tool_builds.sh). The subcommand then says it is left out.
without_cargo_generate() {
  python3 - "$1" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
toml = root / "Cargo.toml"
text = toml.read_text()
trimmed = re.sub(r"\n\[dependencies\.cargo-generate\]\n(?:[^\[\n][^\n]*\n)*", "\n", text)
assert trimmed != text, "cargo-generate is no longer a dependency: revisit install-tools.sh"
toml.write_text(trimmed)
new = root / "src" / "command" / "new.rs"
code = new.read_text()
use = "use cargo_generate::{generate, GenerateArgs, TemplatePath};\n"
assert use in code, "cargo-leptos's new.rs changed: revisit install-tools.sh"
code = code.replace(use, "")
code = code[: code.index("impl NewCommand {")] + """impl NewCommand {
    pub fn run(self) -> Result<()> {
        bail!("`cargo leptos new` is left out of this build: khaosat installs cargo-leptos without cargo-generate")
    }
}
"""
new.write_text(code)
PY
}

# Installs what is missing. With --for-tests, also what only the test command
# needs: Debian's nginx and openssl (the TLS proxy in front of two servers in
# e2e/two_servers_behind_a_tls_proxy.spec.ts; the spec runs its own nginx from a
# temp directory, the package's service is never used) and s3s-fs, the S3
# server the object-storage tests run against.
#
# On a new machine the Debian packages and npm download and unpack in the
# background while the Rust tools compile: one waits on the network and the
# disk, the other on the two cores.
install_tools() {
  local for_tests=0
  [ "${1:-}" = "--for-tests" ] && for_tests=1
  local debian=(ca-certificates chromium chromium-driver brotli postgresql)
  [ "$for_tests" -eq 1 ] && debian+=(nginx openssl)
  # The e2e suite's Python tus client (tuspy) lives in a venv.
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    debian+=(python3 python3-venv)
  fi
  local apt_log
  apt_log="$(mktemp)"
  apt_install "${debian[@]}" >"$apt_log" 2>&1 &
  local apt_pid=$!

  # npm packages of the end-to-end tests and the release build's wasm-opt, from
  # the committed lock file; skipped when node_modules matches it.
  local stamp="$repo_root/tests/node_modules/.khaosat-lock.sha256"
  local want npm_pid="" npm_log
  npm_log="$(mktemp)"
  want="$(sha256sum "$repo_root/tests/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "npm ci (tests/), in the background"
    (cd "$repo_root/tests" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent &&
      echo "$want" > "$stamp") >"$npm_log" 2>&1 &
    npm_pid=$!
  fi

  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "rustup target add wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown
  fi

  local tools_target
  tools_target="$(mktemp -d)"
  local built=0
  if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $KHAOSAT_WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $KHAOSAT_WASM_BINDGEN_VERSION (about 3 minutes, once per machine)"
    install_patched wasm-bindgen-cli "$KHAOSAT_WASM_BINDGEN_VERSION" webpki-roots 1.0.10 || built=1
  fi
  if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $KHAOSAT_CARGO_LEPTOS_VERSION (about 7 minutes, once per machine)"
    install_patched cargo-leptos "$KHAOSAT_CARGO_LEPTOS_VERSION" "" "" "--features no_downloads" \
      without_cargo_generate || built=1
  fi
  if [ "$for_tests" -eq 1 ] &&
    [ "$(s3s-fs --version 2>/dev/null || true)" != "s3s-fs $KHAOSAT_S3S_FS_VERSION" ]; then
    log "installing s3s-fs $KHAOSAT_S3S_FS_VERSION (about 2 minutes, once per machine)"
    # 0.16 and later need Rust 1.96; this machine has 1.95.
    CARGO_TARGET_DIR="$tools_target" CARGO_PROFILE_RELEASE_LTO=false \
      CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      cargo install "s3s-fs@$KHAOSAT_S3S_FS_VERSION" --locked --features binary --quiet || built=1
  fi
  rm -rf "$tools_target"

  local waited=0
  wait "$apt_pid" || { log "apt-get failed"; waited=1; }
  cat "$apt_log" >&2
  if [ -n "$npm_pid" ]; then
    wait "$npm_pid" || { log "npm ci failed"; waited=1; }
    cat "$npm_log" >&2
  fi
  rm -f "$apt_log" "$npm_log"
  [ "$built" -eq 0 ] && [ "$waited" -eq 0 ] || return 1
  # cargo-leptos uses the first wasm-opt on PATH: scripts/bin/wasm-opt, which
  # keeps npm's binaryen 132's outputs in the build cache by what went in.
  export PATH="$repo_root/scripts/bin:$repo_root/tests/node_modules/.bin:$PATH"
}
