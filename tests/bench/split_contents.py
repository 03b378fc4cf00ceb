"""Sums wasm-split's trace (see split_contents.sh) per output module: bytes of
function bodies by crate, and by app module (a generic that names an app type
counts for that module too)."""
import collections
import re
import sys

# Rust's legacy symbol escapes.
ESCAPES = {'$LT$': '<', '$GT$': '>', '$u20$': ' ', '$C$': ',', '$RF$': '&', '$BP$': '*',
           '$u7b$': '{', '$u7d$': '}', '$u27$': "'", '$u5b$': '[', '$u5d$': ']', '$u3b$': ';',
           '$u2b$': '+', '$u22$': '"', '$u7e$': '~', '$LP$': '(', '$RP$': ')', '$SP$': '@',
           '$u3d$': '='}


def demangle(name):
    """`_ZN3app5field...17h<hash>E` → `app::field::...` (legacy mangling)."""
    m = re.match(r'^_ZN(.*?)E?(\.llvm\.\d+)?$', name)
    if not m:
        return name
    body, parts, i = m.group(1), [], 0
    while i < len(body) and body[i].isdigit():
        j = i
        while j < len(body) and body[j].isdigit():
            j += 1
        n = int(body[i:j])
        parts.append(body[j:j + n])
        i = j + n
    if parts and re.fullmatch(r'h[0-9a-f]{16}', parts[-1]):
        parts.pop()
    out = []
    for p in parts:
        if p.startswith('_$'):
            p = p[1:]
        for k, v in ESCAPES.items():
            p = p.replace(k, v)
        out.append(p.replace('..', '::'))
    return '::'.join(out)


def main(path, depth=3):
    begin = re.compile(r'SPLIT: ============== (.+?)\s*$')
    end = re.compile(r'SPLIT: ============== .+  : total size: \d+')
    func = re.compile(r'func\[\d+\] <(.*)> size=(\d+)')
    modules, current = {}, None
    for line in open(path, errors='replace'):
        if end.search(line):
            current = None
            continue
        m = begin.search(line)
        if m:
            current = m.group(1)
            modules[current] = (collections.Counter(), collections.Counter())
            continue
        m = func.search(line) if current else None
        if not m:
            continue
        name = demangle(re.sub(r'^Some\("(.*)"\)$', r'\1', m.group(1)))
        size = int(m.group(2))
        first = re.match(r'[<&\s]*(?:dyn |mut )?([A-Za-z_][A-Za-z0-9_]*)', name)
        crate = first.group(1) if first else '?'
        if re.fullmatch(r'[A-Z]', crate):
            crate = '<T as …> (blanket impls)'
        if crate != 'app' and 'app::' in name:
            crate += ' (naming app types)'
        by_crate, by_app = modules[current]
        by_crate[crate] += size
        am = re.search(r'app::((?:[a-z_0-9]+::){0,%d}[A-Za-z_0-9]+)' % (depth - 1), name)
        if am:
            by_app['app::' + am.group(1)] += size
    for name, (by_crate, by_app) in sorted(modules.items(), key=lambda kv: -sum(kv[1][0].values())):
        print(f'\n== {name}: {sum(by_crate.values())} B of function bodies')
        for c, s in by_crate.most_common(14):
            print(f'   {s:>9}  {c}')
        print('   -- app modules')
        for c, s in by_app.most_common(20):
            print(f'   {s:>9}  {c}')


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3)
