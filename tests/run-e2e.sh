#!/usr/bin/env bash
# Runs the Playwright end-to-end suite against an existing build of khaosat.
#
#   tests/run-e2e.sh [playwright test arguments...]   e.g. tests/run-e2e.sh -g login
#
# Assumes the release build exists (cargo leptos build --release): the binary at
# $KHAOSAT_BIN (default target/release/khaosat) and the site at $LEPTOS_SITE_ROOT
# (default target/site), both relative to the repo root. The suite starts its own
# servers; set KHAOSAT_BASE_URL to test a server that is already running instead.
#
# npm installs run with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1: the browser is Debian's
# /usr/bin/chromium (apt-get install chromium; override with CHROMIUM_PATH). Never run
# `npx playwright install` here: it downloads a browser build, which this network refuses.
set -euo pipefail

tests_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$tests_dir/.." && pwd)"
cd "$tests_dir"

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

bin="${KHAOSAT_BIN:-target/release/khaosat}"
case "$bin" in /*) ;; *) bin="$repo_root/$bin" ;; esac
if [[ -z "${KHAOSAT_BASE_URL:-}" && ! -x "$bin" ]]; then
  echo "run-e2e: no khaosat binary at $bin; build it first (cargo leptos build --release)" >&2
  exit 1
fi
site="${LEPTOS_SITE_ROOT:-target/site}"
case "$site" in /*) ;; *) site="$repo_root/$site" ;; esac
if [[ -z "${KHAOSAT_BASE_URL:-}" && ! -d "$site/pkg" ]]; then
  echo "run-e2e: no site at $site/pkg; build it first (cargo leptos build --release)" >&2
  exit 1
fi
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  echo "run-e2e: no Chromium at $chromium (apt-get install -y chromium)" >&2
  exit 1
fi

# npm ci only when node_modules was not installed from this exact lock file.
stamp="node_modules/.khaosat-lock.sha256"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi

exec npx --no-install playwright test "$@"
