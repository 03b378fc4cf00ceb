#!/usr/bin/env bash
# Compiled artefacts kept outside the clone, so that CI's fresh clone of main
# reuses them: only the workspace's own crates rebuild after a small change.
# Sourced by test.sh and run.sh.
#
#   KHAOSAT_CACHE  where the cache lives (default ~/.cache/khaosat); a new,
#                  empty directory gives a cold build, as on a bare machine.
#
# A clone without its own target/ gets a symbolic link to the cache's target/,
# so every path (target/site, target/server-release/khaosat) stays the same. A
# clone that already has a real target/ (a developer's) keeps it.

use_build_cache() {
  local cache="${KHAOSAT_CACHE:-$HOME/.cache/khaosat}"
  if [ -e target ] || [ -L target ]; then
    return 0
  fi
  mkdir -p "$cache/target"
  ln -s "$cache/target" target
  echo "[khaosat] build artefacts: $(readlink target)" >&2
}

# Keeps the cache from filling the disk: the incremental caches are the part
# that grows with every change; past the budget they go (the next build
# recompiles the workspace's crates from scratch, dependencies stay).
trim_build_cache() {
  local budget_gb="${KHAOSAT_CACHE_BUDGET_GB:-40}"
  [ -d target/ ] || return 0
  local used_kb
  used_kb="$(du -sk target/ 2>/dev/null | cut -f1)"
  if [ "${used_kb:-0}" -gt $((budget_gb * 1024 * 1024)) ]; then
    echo "[khaosat] build cache over ${budget_gb} GB: dropping incremental caches" >&2
    find target/ -maxdepth 4 -type d -name incremental -prune -exec rm -rf {} + 2>/dev/null || true
  fi
}
