// The benchmark table (`npm run bench`). Every row runs on every available loop (pure, native)
// and its plain-Node baseline, each measurement in a fresh process, `--repeat` times (default 3);
// the table shows medians and `ratio` = how many times faster aloop is than the baseline
// (> 1: aloop is faster), computed from medians of the same run.
//
//   node bench/run.mjs [--full] [--json] [--repeat N] [--loops pure,native] [--echo-client c|node] [row names...]
//
// By default a quick set of rows (QUICK below, ~2 minutes on 2 cores); `--full` runs every row
// (~10 minutes); names given as arguments run only those rows. Progress goes to stderr: on a
// terminal one line rewritten in place (row i of n, the cell being measured, elapsed time and an
// estimate of the time left), otherwise one line per finished row. The estimate uses each row's
// duration from the last saved run when there is one, else the average measurement so far.
// Results are saved as bench/results/<set>.json and drawn as bench/results/<set>.svg (bench/chart.mjs),
// where <set> is `quick`, `full`, or `rows` for a run of named rows; `--out <prefix>` saves elsewhere.
//
// `--echo-client` picks the echo rows' load client (default: the C one, bench/echo_client.c,
// if it compiles, else the Node one); it sets ALOOP_ECHO_CLIENT for the measuring processes.
//
// Harness: our own, timing whole phases (schedule + dispatch of a million callbacks), not
// tinybench: tinybench times many short iterations of a function, while these workloads are
// single phases that must drain a loop; benchmark.js is unmaintained.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { renderChart } from './chart.mjs';
import { Progress } from './progress.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const args = process.argv.slice(2);
let json = false;
let repeat = 3;
let loopsArg = null;
let full = false;
let out = null;
const names = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') json = true;
  else if (a === '--full') full = true;
  else if (a === '--out') out = args[++i];
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

// The default set: one row or two per concern (dispatch, timers, task steps of both forms, the
// tax on plain awaits, the network, sync primitives), the fast ones; ~2 minutes here.
const QUICK = [
  'callsoon', 'timers-1m', 'gather-100k', 'task-step-async-1k', 'task-step-generator-1k', 'await-tax',
  'echo-protocol-1k-c10', 'lock-uncontended', 'queue-pingpong', 'udp-pingpong-100b',
];
const set = names.length ? 'rows' : full ? 'full' : 'quick';
const wanted = (name) => (names.length ? names.includes(name) : full || QUICK.includes(name));

// Every selected row, in table order, with its module (loaded once per file).
const plan = [];
for (const file of files) {
  const mod = await import(pathToFileURL(path.join(here, 'workloads', file)).href);
  for (const row of mod.default) if (wanted(row.name)) plan.push({ file, mod, row });
}
const unknown = names.filter((n) => !plan.some((p) => p.row.name === n));
if (unknown.length) {
  console.error(`no such row: ${unknown.join(', ')}`);
  process.exit(2);
}

const resultsDir = path.join(here, 'results');
const outPrefix = out ?? path.join(resultsDir, set);
/** Seconds each row took per measurement in earlier saved runs: the estimate's first guess. */
const history = new Map();
for (const f of ['full', 'quick', 'rows'].map((s) => path.join(resultsDir, `${s}.json`)).concat(`${outPrefix}.json`)) {
  if (!existsSync(f)) continue;
  try {
    const saved = JSON.parse(readFileSync(f, 'utf8'));
    for (const [name, secs] of Object.entries(saved.seconds ?? {})) history.set(name, secs / saved.measurementsPerRow);
  } catch {
    // An unreadable earlier run only costs the estimate its first guess.
  }
}

// Row fields the harness honours besides name/unit/baseline/run/runBaseline: `env` (extra
// environment), `nodeArgs` (extra node flags, e.g. a bigger heap) and `timeout` (ms per measuring
// process, default 120 s); all apply to the baseline and to every loop alike.
// Asynchronous, so the progress clock keeps ticking while a measurement runs; the child's stderr
// goes through the progress display so it does not tear the status line.
function measure(file, row, target) {
  const env = { ...process.env, ...(row.env ?? {}) };
  const nodeArgs = ['--expose-gc', ...(row.nodeArgs ?? [])];
  const args = [...nodeArgs, path.join(here, 'one.mjs'), file, row.name, target];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: row.timeout ?? 120_000 });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => progress.log(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) reject(new Error(`${row.name} (${target}) exited ${signal ?? code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()));
    });
  });
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
const cells = repeat * (1 + loops.length);
const progress = new Progress({
  rows: plan.map((p) => ({ name: p.row.name, guess: history.has(p.row.name) ? history.get(p.row.name) * cells : null })),
  cells,
  stream: process.stderr,
});
const seconds = {};
const prepared = new Set();
for (const { file, mod, row } of plan) {
  // A workload file may export prepare(): run once here, before its first selected row (the echo
  // rows build their C client), so the measuring processes find it done. It may return a note.
  if (!prepared.has(file) && typeof mod.prepare === 'function') {
    const note = await mod.prepare();
    if (note) footnotes.push(note);
  }
  prepared.add(file);
  progress.startRow(row.name);
  const base = [];
  const per = Object.fromEntries(loops.map((l) => [l, []]));
  let baseNote = '';
  const notes = {};
  const clients = {};
  for (let r = 0; r < repeat; r++) {
    // Interleave targets so drift on a noisy machine hits every column alike.
    progress.cell(`baseline ${r + 1}/${repeat}`);
    const b = await measure(file, row, 'baseline');
    base.push(b.value);
    baseNote = b.note ?? baseNote;
    for (const l of loops) {
      progress.cell(`${l} ${r + 1}/${repeat}`);
      const m = await measure(file, row, l);
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
  seconds[row.name] = progress.endRow();
}
progress.done();

// Saved for the README's chart, for comparing runs, and for the next run's estimate.
const saved = {
  set,
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: os.cpus().length,
  cpu: os.cpus()[0]?.model ?? '',
  date: new Date().toISOString(),
  repeat,
  loops,
  measurementsPerRow: cells,
  seconds,
  footnotes,
  results,
};
mkdirSync(path.dirname(outPrefix), { recursive: true });
writeFileSync(`${outPrefix}.json`, JSON.stringify(saved, null, 2) + '\n');
let chartNote = '';
if (results.length) {
  try {
    writeFileSync(`${outPrefix}.svg`, await renderChart(saved));
  } catch (e) {
    chartNote = ` (no chart: ${e.message.split('\n')[0]})`;
  }
}
const rel = path.relative(process.cwd(), outPrefix);
process.stderr.write(`results: ${rel}.json, chart: ${results.length && !chartNote ? `${rel}.svg` : 'none'}${chartNote}\n`);

if (!json) {
  const head = ['row', 'loop', 'aloop', 'unit', 'baseline', 'baseline value', 'ratio'];
  const lines = [head, head.map(() => '---'), ...table];
  const which = set === 'quick' ? 'the quick set (`--full` for every row)' : set === 'full' ? 'every row' : 'the rows asked for';
  console.log(`Node ${process.version}, ${which}, ${repeat} runs per cell, medians; ratio > 1 means aloop is faster.\n`);
  for (const l of lines) console.log(`| ${l.join(' | ')} |`);
  if (footnotes.length) console.log(`\n${footnotes.join('\n')}`);
}
