// What a pulled visit record weighs, with and without its `written` times
// (when each answer was written). Pushes one visit with an answer for every
// plain field of the demo form to a running demo server, fails unless every
// change was applied, pulls the record back and prints its size, raw and
// brotli q5.
//
//   khaosat serve --demo --addr 127.0.0.1:4790 --data-dir /tmp/d &
//   node tests/bench/pull_record_size.mjs http://127.0.0.1:4790
import { readFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';
const base = process.argv[2];
const form = JSON.parse(readFileSync(new URL('../../data/forms/khuyen-cong-v1.json', import.meta.url), 'utf8'));
const device = crypto.randomUUID();
const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'ksv1', password: 'khaosat-demo', device_id: device }) });
const cookie = login.headers.get('set-cookie').split(';')[0];
const pull0 = await (await fetch(`${base}/api/sync/pull?cursor=0`, { headers: { cookie } })).json();
const proposal = pull0.changes.find((c) => c.entity === 'proposal').record.id;
const answers = {};
for (const s of form.sections) for (const f of s.fields) {
  if (f.type === 'integer' || f.type === 'decimal') answers[f.key] = 2001;
  else if (f.type === 'text') answers[f.key] = f.key === 'phone' ? '0204 3854 123' : 'Cơ sở sản xuất gạch';
  else if (f.type === 'select_one') answers[f.key] = f.choices?.[0]?.value ?? f.options?.[0]?.value;
}
for (const k of Object.keys(answers)) if (answers[k] === undefined) delete answers[k];
const visit = '01900000-0000-7000-8000-' + Date.now().toString(16).padStart(12, '0');
let seq = 0; let hlcms = Date.now();
const muts = [];
const keys = Object.keys(answers);
muts.push({ seq: ++seq, mutation_id: crypto.randomUUID(), kind: 'upsert', entity: 'visit', record_id: visit, fields: { form_id: 'khuyen-cong', form_version: 1, proposal_id: proposal }, hlc: `${String(hlcms).padStart(15, '0')}-000000`, base_version: 0 });
for (const k of keys) muts.push({ seq: ++seq, mutation_id: crypto.randomUUID(), kind: 'upsert', entity: 'visit', record_id: visit, fields: { [k]: answers[k] }, hlc: `${String(++hlcms).padStart(15, '0')}-000000`, base_version: 0 });
const push = await fetch(`${base}/api/sync/push`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ device_id: device, schema_version: 2, mutations: muts }) });
const pr = await push.json(); if (!pr.results) { console.log(push.status, JSON.stringify(pr).slice(0, 400)); process.exit(1); }
const applied = pr.results.filter((r) => r.status === 'applied').length; for (const r of pr.results) if (r.status !== 'applied') console.error(JSON.stringify(r).slice(0, 300));
let cursor = 0; let rec;
for (;;) { const p = await (await fetch(`${base}/api/sync/pull?cursor=${cursor}`, { headers: { cookie } })).json(); for (const c of p.changes) if (c.entity === 'visit' && c.record.id === visit) rec = c.record; if (!p.has_more) break; cursor = p.cursor; }
const withW = JSON.stringify(rec); const { written, ...rest } = rec; const without = JSON.stringify(rest);
const br = (s) => brotliCompressSync(Buffer.from(s), { params: { [constants.BROTLI_PARAM_QUALITY]: 5 } }).length;
if (applied !== muts.length) { console.error(`only ${applied} of ${muts.length} changes applied`); process.exit(1); }
console.log(JSON.stringify({ status: push.status, applied_of: `${applied}/${muts.length}`, answers: Object.keys(rec.answers).length, written: Object.keys(written ?? {}).length, raw_without: without.length, raw_with: withW.length, br_without: br(without), br_with: br(withW) }));
