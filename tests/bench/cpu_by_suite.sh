#!/usr/bin/env bash
# How busy the machine's cores are while the test command runs, per suite.
#
#   tests/bench/cpu_by_suite.sh LOG [INTERVAL]   LOG: the test command's output, as it is written
#
# Every INTERVAL seconds (default 2) it reads /proc/stat and the last suite
# header in LOG; when LOG ends ("real" from `time`, or "khaosat: " from the
# command itself) it prints, per suite, the seconds sampled, the average
# number of busy cores and the CPU seconds. Whole machine, not a process
# tree: Chromium's renderers are children of its zygote, which `time` misses.
set -euo pipefail
log="$1"
interval="${2:-2}"
cores="$(nproc)"
busy_total() {
  local _ u n s i w q sq st
  read -r _ u n s i w q sq st _ < /proc/stat
  echo "$((u + n + s + q + sq + st)) $((u + n + s + q + sq + st + i + w))"
}
samples="$(mktemp)"
trap 'rm -f "$samples"' EXIT
read -r prev_busy prev_total <<< "$(busy_total)"
while true; do
  sleep "$interval"
  read -r busy total <<< "$(busy_total)"
  suite="$(grep -a '^.\[1m== ' "$log" 2>/dev/null | tail -n 1 | sed 's/.*== \(.*\) ==.*/\1/' || true)"
  echo "$((busy - prev_busy)) $((total - prev_total)) ${suite:-setup}" >> "$samples"
  prev_busy=$busy
  prev_total=$total
  grep -aq '^real\|^khaosat: ' "$log" 2>/dev/null && break
done
awk -v cores="$cores" -v interval="$interval" '
  { b = $1; t = $2; $1 = ""; $2 = ""; name = substr($0, 3)
    if (!(name in n)) order[++k] = name
    n[name]++; busy[name] += t ? cores * b / t : 0 }
  END { printf "%-70s %8s %6s %8s\n", "suite", "sampled", "cores", "CPU s"
        for (i = 1; i <= k; i++) { s = order[i]
          printf "%-70s %7ds %6.2f %8.0f\n", substr(s, 1, 70), n[s] * interval, busy[s] / n[s], busy[s] * interval } }
' "$samples"
