#!/usr/bin/env bash
# Login latency on the release server (argon2id verification dominates), for a
# right password, a wrong one and an unknown user: the last two must cost the same
# (no user enumeration by timing). Five failures per series: the sixth would be
# rate limited. Run from the repository root after `cargo leptos build --release`.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=target/server-release/khaosat
run() { # label user password n
  local d; d=$(mktemp -d); LEPTOS_SITE_ROOT=target/site $bin serve --demo --addr 127.0.0.1:3912 --data-dir "$d" >/dev/null 2>&1 & local pid=$!
  until curl -s -o /dev/null http://127.0.0.1:3912/api/health; do sleep 0.2; done
  local times=()
  for i in $(seq 1 "$4"); do
    times+=("$(curl -s -o /dev/null -w '%{time_total}' -H 'content-type: application/json' --data "{\"username\":\"$2\",\"password\":\"$3\"}" http://127.0.0.1:3912/api/auth/login)")
  done
  kill $pid; wait $pid 2>/dev/null; rm -rf "$d"
  printf '%s: %s\n' "$1" "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "n=%d min=%.0f ms median=%.0f ms max=%.0f ms", NR, a[1]*1000, a[int((NR+1)/2)]*1000, a[NR]*1000}')"
}
run "unknown user" nobody-here not-the-password 5
run "right password" ksv1 khaosat-demo 20
run "wrong password" ksv1 not-the-password 5
run "unknown user" nobody-here not-the-password 5
