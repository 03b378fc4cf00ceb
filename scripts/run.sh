#!/usr/bin/env bash
# Quick start, command 1: installs what is missing, builds the release app and
# serves it at http://127.0.0.1:3000 on SQLite (data-dir/khaosat.db) with the
# Bắc Giang 2020 demo. Log in as ksv1 (inspector) or giamsat (supervisor),
# password khaosat-demo. Flags after the command go to `khaosat serve`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/cache.sh
use_build_cache
source scripts/install-tools.sh
install_tools
cargo leptos build --release --split --lib-features hydrate --lib-features split
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
exec target/server-release/khaosat serve --demo "$@"
