#!/usr/bin/env bash
# Lints for developers (run before committing): rustfmt, and clippy -D warnings
# for both feature sets (the server build and the wasm build). The test command
# runs the same checks; this is the quick way to run only them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo fmt --all -- --check
cargo clippy --workspace --features app/ssr --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown --lib --tests -- -D warnings
echo "lint: ok"
