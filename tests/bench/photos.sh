#!/usr/bin/env bash
# Photo benchmarks: the server's image pipeline against vipsthumbnail (cargo
# bench, same run), then the phone's downscale, tus overhead and a throttled
# batch in Chromium (photo_uplink.mjs) against the release server.
#   tests/bench/photos.sh [VISITS] [PHOTOS_PER_VISIT]
# Installs Debian's libvips-tools when missing (apt-get).
set -eu
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
if ! command -v vipsthumbnail >/dev/null; then
  apt-get install -y libvips-tools >/dev/null
fi
cargo bench -p server --bench photos --profile server-release
data=$(mktemp -d)
LEPTOS_SITE_ROOT=target/site target/server-release/khaosat serve --demo --addr 127.0.0.1:3914 --data-dir "$data" >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -s -o /dev/null http://127.0.0.1:3914/api/health; do sleep 0.2; done
cd tests
node bench/photo_uplink.mjs http://127.0.0.1:3914 "${1:-4}" "${2:-10}"
