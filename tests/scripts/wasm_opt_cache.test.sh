#!/usr/bin/env bash
# Tests scripts/bin/wasm-opt (the release bundle's wasm-opt with its outputs
# cached) against a stand-in wasm-opt that records each call and writes an
# output made of its flags and its input, so a wrong cache hit shows.
#
#   bash tests/scripts/wasm_opt_cache.test.sh
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
wrapper="$repo_root/scripts/bin/wasm-opt"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat > "$work/real" <<'STAND_IN'
#!/usr/bin/env bash
echo "$*" >> "$CALLS"
[[ -n "${FAIL:-}" ]] && { echo "wasm-opt: failed" >&2; exit 1; }
flags=() in="" out=""
while (($#)); do
  case "$1" in -o) out="$2"; shift ;; *.wasm) in="$1" ;; *) flags+=("$1") ;; esac
  shift
done
{ echo "optimised with ${flags[*]}"; cat "$in"; } > "$out.new" && mv "$out.new" "$out"
STAND_IN
chmod +x "$work/real"
export KHAOSAT_REAL_WASM_OPT="$work/real" KHAOSAT_CACHE="$work/cache" CALLS="$work/calls"
: > "$CALLS"

failures=0
check() {
  if [[ "$2" == "$3" ]]; then echo "ok: $1"; else echo "FAILED: $1 (got [$2], want [$3])"; failures=$((failures + 1)); fi
}
calls() { wc -l < "$CALLS" | tr -d ' '; }
cached() { find "$work/cache/wasm-opt" -name '*.wasm' | wc -l | tr -d ' '; }

printf 'module one' > "$work/a.wasm"
"$wrapper" -Oz --enable-bulk-memory "$work/a.wasm" -o "$work/a.wasm"
check "a first module is optimised by wasm-opt" "$(calls)" 1
check "and its output is what wasm-opt wrote" "$(cat "$work/a.wasm")" "$(printf 'optimised with -Oz --enable-bulk-memory\nmodule one')"
check "and it is kept" "$(cached)" 1

mkdir -p "$work/second"
printf 'module one' > "$work/second/a.wasm"
"$wrapper" -Oz --enable-bulk-memory "$work/second/a.wasm" -o "$work/second/a.wasm"
check "the same module elsewhere is not optimised again" "$(calls)" 1
check "and gets the same bytes" "$(cat "$work/second/a.wasm")" "$(cat "$work/a.wasm")"

printf 'module one' > "$work/b.wasm"
"$wrapper" -Os --enable-bulk-memory "$work/b.wasm" -o "$work/b.wasm"
check "other flags are optimised anew" "$(calls)" 2
check "with those flags" "$(head -n 1 "$work/b.wasm")" "optimised with -Os --enable-bulk-memory"

printf 'module two' > "$work/c.wasm"
"$wrapper" -Oz --enable-bulk-memory "$work/c.wasm" -o "$work/c.wasm"
check "another module is optimised anew" "$(calls)" 3
check "from its own bytes" "$(tail -n 1 "$work/c.wasm")" "module two"

printf 'module three' > "$work/d.wasm"
if FAIL=1 "$wrapper" -Oz "$work/d.wasm" -o "$work/d.wasm" 2>/dev/null; then status=0; else status=$?; fi
check "a failed wasm-opt fails the call" "$status" 1
check "and keeps nothing" "$(cached)" 3
"$wrapper" -Oz "$work/d.wasm" -o "$work/d.wasm"
check "so the next call optimises it" "$(calls)" 5

printf 'module one' > "$work/e.wasm"
"$wrapper" -Oz --input-source-map=a.map "$work/e.wasm" -o "$work/e.wasm"
"$wrapper" -Oz --input-source-map=a.map "$work/e.wasm" -o "$work/f.wasm"
check "a flag naming another file is never cached" "$(calls)" 7
check "nor kept" "$(cached)" 4

for n in 4 5 6; do
  printf 'module %s' "$n" > "$work/m$n.wasm"
  KHAOSAT_WASM_OPT_KEEP=3 "$wrapper" -Oz "$work/m$n.wasm" -o "$work/m$n.wasm"
done
check "past the limit the oldest outputs go" "$(cached)" 3
printf 'module 6' > "$work/again.wasm"
"$wrapper" -Oz "$work/again.wasm" -o "$work/again.wasm"
check "and the newest stay" "$(calls)" 10

# A fresh cache and count: another clone's path to the same tool.
rm -rf "$work/cache"
: > "$CALLS"
printf 'module one' > "$work/a.wasm"
"$wrapper" -Oz --enable-bulk-memory "$work/a.wasm" -o "$work/a.wasm"
mkdir -p "$work/clone"
cp "$work/real" "$work/clone/real"
printf 'module one' > "$work/clone/a.wasm"
KHAOSAT_REAL_WASM_OPT="$work/clone/real" "$wrapper" -Oz --enable-bulk-memory "$work/clone/a.wasm" -o "$work/clone/a.wasm"
check "the same tool in another clone finds it too" "$(calls)" 1
{ cat "$work/real"; echo "# another version"; } > "$work/clone/real"
printf 'module one' > "$work/clone/a.wasm"
KHAOSAT_REAL_WASM_OPT="$work/clone/real" "$wrapper" -Oz --enable-bulk-memory "$work/clone/a.wasm" -o "$work/clone/a.wasm"
check "another version of the tool optimises anew" "$(calls)" 2

if ((failures)); then
  echo "wasm-opt cache: $failures checks failed"
  exit 1
fi
echo "wasm-opt cache: all checks passed"
