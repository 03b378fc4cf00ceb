#!/usr/bin/env bash
# Quick start, command 2: installs what is missing and runs every test:
#   data checks, rustfmt, Rust unit + integration tests (SQLite and PostgreSQL),
#   wasm-bindgen-test in headless Chromium (IndexedDB), and the end-to-end
#   Playwright suite against the release bundle (what phones get) served by the
#   test build of the server.
# Every suite runs even when an earlier one failed; the exit code says if any did.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo_root="$(pwd)"
source scripts/cache.sh
use_build_cache
source scripts/install-tools.sh
set -e
install_tools --for-tests
source scripts/postgres.sh
start_postgres
set +e

failed=()
release_has_no_test_hooks() {
  local release tests
  # --depth 0 prints the crate's own line first (then section headers).
  release="$(cargo tree -q -p server -e normal,build -i app --target all --depth 0 -f '{f}' | head -n 1)"
  tests="$(cargo tree -q -p server -e normal,build,dev -i app --target all --depth 0 -f '{f}' | head -n 1)"
  echo "app features: release [$release], test build [$tests]"
  [[ ",$release," != *,testing,* && ",$tests," == *,testing,* ]]
}

suite() {
  local name="$1"; shift
  printf '\n\033[1m== %s ==\033[0m\n' "$name"
  local start=$SECONDS
  if "$@"; then
    printf '== %s: ok (%ss) ==\n' "$name" "$((SECONDS - start))"
  else
    printf '== %s: FAILED (%ss) ==\n' "$name" "$((SECONDS - start))"
    failed+=("$name")
  fi
}

export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=120

suite "data files" python3 data/check_data.py
suite "formatting (rustfmt)" cargo fmt --all -- --check
# The release bundle's wasm-opt reuses outputs from the build cache; its own
# tests, against a stand-in wasm-opt, before the bundle trusts it.
suite "wasm-opt cache" bash tests/scripts/wasm_opt_cache.test.sh

# Test hooks (fault injection, throw-away databases) are for test builds only: the
# feature set a release build resolves must not enable them, while the test build's
# must (else this check could not fail).
suite "release build enables no test hooks" release_has_no_test_hooks
suite "rust tests: build (app, server)" \
  cargo nextest run --workspace --features app/ssr --no-run

# The Rust tests' run keeps two cores about 1.7 busy, the builds below about
# one (the bundle's LTO and its wasm-opt, clippy): run side by side, they
# finish about two minutes sooner than one after the other (BENCHMARKS.md,
# "The test command's CPU"). Builds still run one at a time, in this order;
# their output follows the Rust tests' in the log.
browser_tmp="$repo_root/target/browser-tmp"
mkdir -p "$browser_tmp"
builds_log="$(mktemp)"
builds_failed="$(mktemp)"
(
  failed=()
  # The phone's bundle as users get it (wasm-release: size-optimised, LTO, wasm-opt).
  # The server the end-to-end suite drives is the test build above: the Rust tests
  # compile it anyway, and a second, release-profile compile of the app and server
  # crates was the largest part of a run after a small change (see BENCHMARKS.md).
  suite "release bundle (cargo leptos build --release --frontend-only --split)" \
    cargo leptos build --release --frontend-only --split --lib-features hydrate --lib-features split
  # What a phone downloads before /login works, and for an inspector's home on a
  # cold profile, against the recorded numbers (tests/bench/first_load_budget.json):
  # bytes, not a timing. The check's own tests first, on a made-up site.
  suite "phone sizes: /login and the inspector's home (brotli, at most 5 % above the recorded numbers)" \
    bash -c 'node --test tests/bench/bundle_size.test.mjs && node tests/bench/bundle_size.mjs target/site target/server-release/hash.txt'
  # Both feature sets, every target. After the builds above, so only the
  # workspace's own crates are checked when the cache is warm.
  suite "clippy (server and tests, -D warnings)" \
    cargo clippy --workspace --features app/ssr --all-targets -- -D warnings
  suite "clippy (wasm app and its tests, -D warnings)" \
    cargo clippy -p app --features hydrate --target wasm32-unknown-unknown --lib --tests -- -D warnings
  # Chromium leaves an ~80 MB profile in $TMPDIR whenever chromedriver kills it; keep
  # those inside target/ and drop them afterwards so repeated runs do not fill the disk.
  suite "wasm tests (IndexedDB in headless Chromium)" \
    env TMPDIR="$browser_tmp" \
    cargo test -p app --features hydrate --target wasm32-unknown-unknown --test offline_db --test form_rules_table
  printf '%s\n' "${failed[@]}" > "$builds_failed"
) > "$builds_log" 2>&1 &
builds=$!
suite "rust tests (app, server; SQLite + PostgreSQL)" cargo nextest run --workspace --features app/ssr --no-fail-fast
wait "$builds"
cat "$builds_log"
while read -r name; do
  [ -n "$name" ] && failed+=("$name")
done < "$builds_failed"
rm -f "$builds_log" "$builds_failed"

# The test build of the server (it has the test hooks the crash tests use) beside
# the release bundle's hash file, which it reads from its own directory.
e2e_bin="$repo_root/target/e2e/khaosat"
mkdir -p "$(dirname "$e2e_bin")"
cp target/debug/khaosat target/server-release/hash.txt "$(dirname "$e2e_bin")/" 2>/dev/null
suite "end-to-end (Playwright, Chromium, release bundle)" \
  env TMPDIR="$browser_tmp" KHAOSAT_BIN="$e2e_bin" LEPTOS_SITE_ROOT=target/site \
  RUST_BACKTRACE=1 RUST_LIB_BACKTRACE=0 tests/run-e2e.sh
# The servers' logs go with the browser profiles below: a failed run prints
# their errors first, so the cause of a 500 stays in the CI log.
if [[ " ${failed[*]} " == *"end-to-end"* ]]; then
  grep -h "ERROR\|status=500\|panicked" "$browser_tmp"/khaosat-e2e-*/server.log 2>/dev/null | tail -40 || true
  # The first panic's stack, without the runtime's and the standard library's frames.
  grep -h -m1 -A 150 "panicked" "$browser_tmp"/khaosat-e2e-*/server.log 2>/dev/null |
    grep "^ *[0-9]*: \|^ *at /" | grep -v "/rustc/\|/tokio-\|/hyper-\|/tower" | head -60 || true
  # A request that never returned leaves no line of its own: the shared
  # server's last answered requests show when it stopped answering.
  for log in "$browser_tmp"/khaosat-e2e-shared-*/server.log; do
    [[ -f "$log" ]] || continue
    echo "== the last lines of $log =="
    tail -n 30 "$log" | cut -c1-400
  done
fi
rm -rf "$browser_tmp"
trim_build_cache

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "khaosat: all suites passed"
else
  echo "khaosat: failed suites: ${failed[*]}"
  exit 1
fi
