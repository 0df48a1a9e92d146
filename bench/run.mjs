// The benchmark table (`npm run bench`). Every row runs on every available loop (pure, native)
// and its plain-Node baseline, each measurement in a fresh process, `--repeat` times (default 3);
// the table shows medians and `ratio` = how many times faster aloop is than the baseline
// (> 1: aloop is faster), computed from medians of the same run.
//
//   node bench/run.mjs [--json] [--repeat N] [--loops pure,native] [--echo-client c|node] [row names...]
//
// `--echo-client` picks the echo rows' load client (default: the C one, bench/echo_client.c,
// if it compiles, else the Node one); it sets ALOOP_ECHO_CLIENT for the measuring processes.
//
// Harness: our own, timing whole phases (schedule + dispatch of a million callbacks), not
// tinybench: tinybench times many short iterations of a function, while these workloads are
// single phases that must drain a loop; benchmark.js is unmaintained.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const here = path.dirname(new URL(import.meta.url).pathname);
const args = process.argv.slice(2);
let json = false;
let repeat = 3;
let loopsArg = null;
const names = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') json = true;
  else if (a === '--repeat') repeat = Math.max(1, Number(args[++i]));
  else if (a === '--loops') loopsArg = args[++i].split(',');
  else if (a === '--echo-client') process.env.ALOOP_ECHO_CLIENT = args[++i];
  else names.push(a);
}

let nativeAvailable = false;
let nativeWhy = '';
try {
  const native = await import(pathToFileURL(path.resolve(here, '../dist/native.js')).href);
  nativeAvailable = native.isAvailable();
  if (!nativeAvailable) nativeWhy = 'addon not available';
} catch (e) {
  nativeWhy = e.message.split('\n')[0];
}
const loops = (loopsArg ?? ['pure', 'native']).filter((l) => l !== 'native' || nativeAvailable);
if (!json && !loops.includes('native') && (loopsArg ?? []).includes('native') === false && !nativeAvailable) {
  console.error(`(native loop skipped: ${nativeWhy})`);
}

// Files in this order first (core, then tasks), the rest alphabetically.
const order = ['core.mjs', 'tasks.mjs'];
const rank = (f) => (order.includes(f) ? order.indexOf(f) : order.length);
const files = readdirSync(path.join(here, 'workloads')).filter((f) => f.endsWith('.mjs'));
files.sort((a, b) => (rank(a) - rank(b)) || a.localeCompare(b));

// Row fields the harness honours besides name/unit/baseline/run/runBaseline: `env` (extra
// environment), `nodeArgs` (extra node flags, e.g. a bigger heap) and `timeout` (ms per measuring
// process, default 120 s); all apply to the baseline and to every loop alike.
function measure(file, row, target) {
  const env = { ...process.env, ...(row.env ?? {}) };
  const nodeArgs = ['--expose-gc', ...(row.nodeArgs ?? [])];
  const out = execFileSync(process.execPath, [...nodeArgs, path.join(here, 'one.mjs'), file, row.name, target], {
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: row.timeout ?? 120_000,
  });
  return JSON.parse(out.trim().split('\n').pop());
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(v) {
  if (v >= 1000) return Math.round(v).toLocaleString('en-US');
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

const results = [];
const table = [];
const footnotes = [];
for (const file of files) {
  const mod = await import(pathToFileURL(path.join(here, 'workloads', file)).href);
  const rows = mod.default;
  let prepared = false;
  for (const row of rows) {
    if (names.length && !names.includes(row.name)) continue;
    // A workload file may export prepare(): run once here, before its first selected row (the echo
    // rows build their C client), so the measuring processes find it done. It may return a note.
    if (!prepared && typeof mod.prepare === 'function') {
      const note = await mod.prepare();
      if (note) footnotes.push(note);
      prepared = true;
    }
    const base = [];
    const per = Object.fromEntries(loops.map((l) => [l, []]));
    let baseNote = '';
    const notes = {};
    const clients = {};
    for (let r = 0; r < repeat; r++) {
      // Interleave targets so drift on a noisy machine hits every column alike.
      const b = measure(file, row, 'baseline');
      base.push(b.value);
      baseNote = b.note ?? baseNote;
      for (const l of loops) {
        const m = measure(file, row, l);
        per[l].push(m.value);
        notes[l] = m.note ?? notes[l];
        clients[l] = m.client ?? clients[l];
      }
    }
    const bv = median(base);
    for (const l of loops) {
      const v = median(per[l]);
      const ratio = row.higherIsBetter ? v / bv : bv / v;
      const rec = { name: row.name, loop: l, value: v, unit: row.unit, baseline: row.baseline, baseline_value: bv, ratio };
      if (notes[l]) rec.note = notes[l];
      if (clients[l]) rec.client = clients[l]; // echo rows: which load client measured them
      if (baseNote) rec.baseline_note = baseNote;
      results.push(rec);
      if (json) console.log(JSON.stringify(rec));
      table.push([row.name, l, `${fmt(v)}${notes[l] ? ` (${notes[l]})` : ''}`, row.unit, row.baseline, `${fmt(bv)}${baseNote ? ` (${baseNote})` : ''}`, ratio.toFixed(2)]);
    }
    if (!json) process.stderr.write(`  ${row.name} done\n`);
  }
}

if (!json) {
  const head = ['row', 'loop', 'aloop', 'unit', 'baseline', 'baseline value', 'ratio'];
  const lines = [head, head.map(() => '---'), ...table];
  console.log(`Node ${process.version}, ${repeat} runs per cell, medians; ratio > 1 means aloop is faster.\n`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
  if (footnotes.length) console.log(`\n${footnotes.join('\n')}`);
}
