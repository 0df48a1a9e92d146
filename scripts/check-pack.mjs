// `npm run test:pack`: the package as a new user gets it. Packs this checkout (`npm pack` runs
// prepack: the TypeScript build, the API docs, the prebuilt binary), then installs the tarball in
// a new directory with a PATH that holds only node, npm and sh — no compiler, make or Python — and
// checks that:
//   - the install succeeds, from the prebuilt binary, in seconds;
//   - `import('aloop/native')` runs a coroutine on the native loop, and a CommonJS script
//     `require`s both entry points and runs one on each loop;
//   - strict .mts and .cts consumers type-check against the installed types;
//   - LICENSE, the docs and the prebuilt binary ship, and no source maps or sources do.
// Prints one line per check and a count; exits 1 if any failed.
//   node scripts/check-pack.mjs [--keep]      (--keep leaves the scratch directory)
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const scratch = mkdtempSync(path.join(tmpdir(), 'aloop-pack-'));
let passed = 0;
let failed = 0;

function check(name, fn) {
  const t0 = performance.now();
  try {
    const note = fn();
    passed++;
    console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)${note ? `: ${note}` : ''}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message}`);
  }
}

/** Runs a command; throws with its output when it fails. */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`.trim());
  }
  return r;
}

// A PATH with node, npm and sh only: whatever the install needs beyond them, it does not get.
const bare = path.join(scratch, 'bare-bin');
mkdirSync(bare);
symlinkSync(process.execPath, path.join(bare, 'node'));
const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
symlinkSync(npmCli, path.join(bare, 'npm'));
symlinkSync('/bin/sh', path.join(bare, 'sh'));
const bareEnv = { ...process.env, PATH: bare };
for (const k of Object.keys(bareEnv)) if (k.startsWith('npm_')) delete bareEnv[k]; // not the outer npm's settings

let tarball = '';
check('npm pack', () => {
  const r = run('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  // The prepack scripts print first; npm's JSON is the last thing on stdout, from a line "[".
  const info = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('\n[\n') + 1))[0];
  tarball = path.join(scratch, info.filename);
  const files = info.files.map((f) => f.path);
  const must = ['LICENSE', 'README.md', 'CHANGELOG.md', 'bench/results/full.svg', 'docs/SPEC.md', 'docs/porting-from-asyncio.md', 'docs/api/README.md',
    'dist/index.js', 'dist/index.d.ts', 'dist/native.js', 'scripts/install.mjs', 'binding.gyp',
    `prebuilds/${process.platform}-${process.arch}/aloop.glibc.node`];
  const missing = must.filter((f) => !files.includes(f));
  if (missing.length) throw new Error(`missing from the tarball: ${missing.join(', ')}`);
  const unwanted = files.filter((f) => f.endsWith('.map') || f.startsWith('src/') || f.startsWith('test/') || (f.startsWith('bench/') && f !== 'bench/results/full.svg'));
  if (unwanted.length) throw new Error(`should not ship: ${unwanted.slice(0, 5).join(', ')}`);
  return `${info.filename}, ${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed`;
});

const app = path.join(scratch, 'app');
mkdirSync(app);
writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }, null, 2));

check('npm install <tarball> with no compiler, make or Python on PATH', () => {
  if (!tarball) throw new Error('no tarball');
  for (const tool of ['c++', 'g++', 'cc', 'make', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`], { env: bareEnv }).status === 0) throw new Error(`${tool} is on the bare PATH`);
  }
  const t0 = performance.now();
  run('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app, env: bareEnv });
  const s = (performance.now() - t0) / 1000;
  const log = readFileSync(path.join(app, 'node_modules', 'aloop', 'package.json'), 'utf8');
  if (!log.includes('"name": "aloop"')) throw new Error('aloop is not installed');
  return `${s.toFixed(1)} s`;
});

check("import('aloop/native') runs a coroutine on the native loop", () => {
  const script = `
    const native = await import('aloop/native');
    const aio = await import('aloop');
    if (!native.isAvailable()) throw new Error(native.unavailableReason());
    const r = await native.run(async () => { await aio.sleep(0.01); return aio.getRunningLoop().constructor.name; });
    console.log(r);
  `;
  const r = run('node', ['--input-type=module', '-e', script], { cwd: app, env: bareEnv });
  if (r.stdout.trim() !== 'NativeEventLoop') throw new Error(`printed ${JSON.stringify(r.stdout)}`);
  const which = run('node', ['-p', "require('node-gyp-build').resolve(require('path').dirname(require.resolve('aloop/package.json')))"], { cwd: app, env: bareEnv });
  return `loaded ${path.relative(app, which.stdout.trim())}`;
});

check('a CommonJS script requires aloop and aloop/native and runs a coroutine on each loop', () => {
  writeFileSync(
    path.join(app, 'main.cjs'),
    `const aio = require('aloop');
const native = require('aloop/native');
async function main() { await aio.sleep(0.01); return aio.getRunningLoop().constructor.name; }
(async () => {
  console.log(await aio.run(main), await native.run(main));
})();
`,
  );
  const r = run('node', ['main.cjs'], { cwd: app, env: bareEnv });
  if (r.stdout.trim() !== 'PureEventLoop NativeEventLoop') throw new Error(`printed ${JSON.stringify(r.stdout)}`);
  if (r.stderr) throw new Error(`stderr: ${r.stderr}`);
});

check('strict .mts and .cts consumers type-check against the installed package', () => {
  const fixture = path.join(root, 'test', 'fixtures', 'consumer');
  for (const f of ['esm.mts', 'cjs.cts', 'internals.mts']) cpSync(path.join(fixture, f), path.join(app, f));
  const config = JSON.parse(readFileSync(path.join(fixture, 'tsconfig.json'), 'utf8').replace(/^\s*\/\/.*$/gm, ''));
  config.compilerOptions.typeRoots = [path.join(root, 'node_modules', '@types')];
  writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(config, null, 2));
  run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app });
});

if (keep) console.log(`(kept ${scratch})`);
else rmSync(scratch, { recursive: true, force: true });
console.log(`\ncheck-pack: ${passed} of ${passed + failed} checks passed`);
process.exitCode = failed ? 1 : 0;
