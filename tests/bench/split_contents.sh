#!/usr/bin/env bash
# What each lazy chunk of the release bundle holds, by crate and by app module.
#
#   tests/bench/split_contents.sh [APP_WASM]   (default: the last release bundle's
#   target/front/wasm32-unknown-unknown/wasm-release/app.wasm)
#
# Runs the splitter cargo-leptos uses (wasm_split_cli_support 0.2.3, from the
# crates.io source in Cargo's registry) on the linked, un-stripped module, with
# its trace on, and sums the function bodies it puts in each output module.
# The published binary logs at INFO only and to stdout, so this builds it with
# the subscriber set to TRACE on stderr (into target/split-contents, once).
# Sizes are bytes of function bodies before wasm-opt and compression: use them
# to compare parts, and `.br` sizes in target/site/pkg for what goes on the wire.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo_root"
wasm="${1:-target/front/wasm32-unknown-unknown/wasm-release/app.wasm}"
work="target/split-contents"
cli="$work/bin/wasm-split-cli"
if [ ! -x "$cli" ]; then
  src="$(ls -d ~/.cargo/registry/src/*/wasm_split_cli_support-0.2.3 2>/dev/null | head -n 1 || true)"
  [ -n "$src" ] || { echo "no wasm_split_cli_support 0.2.3 in Cargo's registry: build the release bundle first" >&2; exit 1; }
  rm -rf "$work/src" && mkdir -p "$work" && cp -r "$src" "$work/src"
  sed -i 's/tracing_subscriber::fmt::init();/tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(std::io::stderr).with_ansi(false).init();/' \
    "$work/src/src/bin/wasm-split-cli.rs"
  grep -q 'Level::TRACE' "$work/src/src/bin/wasm-split-cli.rs"
  # Its own workspace, not khaosat's (target/ is under the repository).
  printf '\n[workspace]\n' >> "$work/src/Cargo.toml"
  cargo install --path "$work/src" --features build-binary --root "$(pwd)/$work" --quiet
fi
rm -rf "$work/out" && mkdir -p "$work/out"
"$cli" -v "$wasm" "$work/out" 2> "$work/trace.txt" > /dev/null
python3 tests/bench/split_contents.py "$work/trace.txt"
