// `npm run test:node-matrix [-- 20 22 24 26]`: the whole suite on each Node major. Each Node comes
// from the npm registry (the `node` package installs that version's binary) into
// .cache/node-matrix/<major>/, kept for the next run; the running Node is used for its own major.
// Nothing is rebuilt per Node: dist/ is plain JavaScript and the addon is N-API (one binary for
// every Node >= 20). Prints each run's output, then a summary; exits 1 if any run failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = path.join(root, '.cache', 'node-matrix');
const args = process.argv.slice(2);
const majors = (args.length ? args : ['20', '22', '24', '26']).map((a) => {
  if (!/^\d+$/.test(a)) throw new TypeError(`a Node major version is a number like 22, not ${JSON.stringify(a)}`);
  return Number(a);
});

function major(version) {
  return Number(version.replace(/^v/, '').split('.')[0]);
}

/** The node binary for `m`: this one, or the `node` package's, installed once into the cache. */
function nodeFor(m) {
  if (major(process.version) === m) return process.execPath;
  const dir = path.join(cache, String(m));
  const bin = path.join(dir, 'node_modules', 'node', 'bin', 'node');
  const have = existsSync(bin) ? spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim() : '';
  if (have && major(have) === m) return bin;
  mkdirSync(dir, { recursive: true });
  console.log(`\n== fetching node@${m} into ${path.relative(root, dir)} (npm install node@${m})`);
  const r = spawnSync('npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node@${m}`], {
    stdio: 'inherit',
    cwd: dir,
  });
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`npm install node@${m} failed (exit ${r.status})`);
  return bin;
}

// dist/ for the tests that run the built package in child processes, built once for every Node.
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
  cwd: root,
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const results = [];
for (const m of majors) {
  const t0 = performance.now();
  let node;
  try {
    node = nodeFor(m);
  } catch (e) {
    results.push({ m, version: '-', ok: false, seconds: (performance.now() - t0) / 1000, note: e.message });
    continue;
  }
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\n== Node ${version}: vitest run`);
  const t1 = performance.now();
  // Its directory first on PATH, so tests that spawn `node` by name get this one too.
  const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` };
  const r = spawnSync(node, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run'], { cwd: root, env, stdio: 'inherit' });
  results.push({ m, version, ok: r.status === 0, seconds: (performance.now() - t1) / 1000, fetch: (t1 - t0) / 1000 });
}

console.log('\nNode matrix:');
for (const r of results) {
  const fetch = r.fetch > 1 ? ` (+${r.fetch.toFixed(0)} s to fetch)` : '';
  console.log(`  Node ${r.version.padEnd(9)} ${r.ok ? 'passed' : 'FAILED'} in ${r.seconds.toFixed(0)} s${fetch}${r.note ? `: ${r.note}` : ''}`);
}
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
