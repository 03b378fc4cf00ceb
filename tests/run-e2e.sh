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
#
# Python tools (tuspy, for e2e/tus_interop.spec.ts) go into a venv at tests/.venv from
# the pins of interop/requirements.txt; that needs `python3 -m venv` (python3-venv).
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

# A Python venv at tests/.venv for the Python tus client (tuspy) of
# e2e/tus_interop.spec.ts, with the pins of interop/requirements.txt, installed
# only when the venv was not set up from this exact requirements file.
venv="$tests_dir/.venv"
if [[ -e "$venv" ]] && ! "$venv/bin/python" -c 'import pip' 2>/dev/null; then
  echo "run-e2e: $venv is broken (no working python or pip); making it again" >&2
  rm -rf "$venv"
fi
if [[ ! -e "$venv" ]]; then
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    echo "run-e2e: cannot make the Python venv at $venv: 'python3 -m venv' is unavailable" >&2
    echo "run-e2e: install it (apt-get install -y python3 python3-venv) and run again" >&2
    exit 1
  fi
  python3 -m venv "$venv"
fi
py_stamp="$venv/.khaosat-requirements.sha256"
py_want="$(sha256sum interop/requirements.txt | cut -d' ' -f1)"
if [[ ! -f "$py_stamp" || "$(cat "$py_stamp")" != "$py_want" ]]; then
  "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet -r interop/requirements.txt
  echo "$py_want" > "$py_stamp"
fi
export KHAOSAT_PYTHON="$venv/bin/python"

exec npx --no-install playwright test "$@"
