#!/usr/bin/env bash
# Lints for developers (run before committing): rustfmt, and clippy -D warnings
# for both feature sets (the server build and the wasm build). Not part of the
# test command: from cold, clippy's separate check builds take 11 minutes on 2
# cores, which would push the test command past its 40-minute budget.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo fmt --all -- --check
cargo clippy --workspace --features app/ssr --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown --lib --tests -- -D warnings
echo "lint: ok"
