#!/usr/bin/env bash
# Field-app benchmarks against the release server with fresh demo data: first-load
# transfer (first_load.mjs), then offline start, 150-field keystroke and explicit
# save (field_app.mjs). Run from anywhere after `cargo leptos build --release`.
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
data=$(mktemp -d)
LEPTOS_SITE_ROOT=target/site target/server-release/khaosat serve --demo --addr 127.0.0.1:3913 --data-dir "$data" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -s -o /dev/null http://127.0.0.1:3913/api/health; do sleep 0.2; done
cd tests
node bench/first_load.mjs http://127.0.0.1:3913
node bench/field_app.mjs http://127.0.0.1:3913
