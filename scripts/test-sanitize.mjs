// `npm run test:sanitize`: the native loop under AddressSanitizer and UndefinedBehaviorSanitizer.
//
//   1. builds the addon with -fsanitize=address,undefined into build-sanitize/ (a binding.gyp
//      made from the package's, with the sources named from there; build/ is left alone)
//   2. builds and runs the timer-wheel fuzz (native/test/timer_wheel_fuzz.cc) with the same flags
//   3. runs every test that drives the native loop (`vitest run -t native`: the [native loop]
//      half of each suite and the native-only suites) with that addon (ALOOP_NATIVE_BUILD), the
//      sanitizer runtime preloaded into every node process (node itself is not instrumented, and
//      ASan must come first in the library list); child processes and workers inherit it
//
// Any sanitizer report ends the process that hit it, so the test it ran in fails. Leak checking
// is off: node and V8 keep memory until exit by design, and LeakSanitizer would report theirs.
// Linux with gcc or clang (libasan). Options: --skip-build; --all (every test, not only the
// native ones); anything after -- goes to vitest instead (e.g. -- test/udp.test.ts -t native).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'build-sanitize');
const args = process.argv.slice(2);
const skipBuild = args.includes('--skip-build');
const dashes = args.indexOf('--');
const vitestArgs = dashes >= 0 ? args.slice(dashes + 1) : args.includes('--all') ? [] : ['-t', 'native'];
const FLAGS = ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g', '-O1'];
const cxx = process.env.CXX || 'c++';

function step(what) {
  console.log(`\n== ${what}`);
  return performance.now();
}

function done(t0) {
  console.log(`   ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...options });
  if (r.status !== 0) {
    console.error(`test:sanitize: ${cmd} ${argv.join(' ')} failed (${r.signal ?? `exit ${r.status}`})`);
    process.exit(1);
  }
}

/** The sanitizer runtime to preload: the compiler's own libasan. */
function libasan() {
  const file = execFileSync(cxx, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(file) || !existsSync(file)) {
    console.error(`test:sanitize: ${cxx} has no libasan.so (install the compiler's ASan runtime, e.g. libasan8)`);
    process.exit(1);
  }
  return file;
}

/** node-gyp's own copy, as npm runs it for the install script. */
function nodeGyp() {
  const npm = process.env.npm_execpath;
  const candidates = [
    npm && path.join(path.dirname(npm), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const found = candidates.find((c) => c && existsSync(c));
  if (!found) {
    console.error('test:sanitize: node-gyp not found (it comes with npm)');
    process.exit(1);
  }
  return found;
}

const t00 = performance.now();
if (!skipBuild) {
  let t0 = step('building the addon with ASan + UBSan into build-sanitize/');
  // The package's binding.gyp is JSON apart from its # comments.
  const gyp = JSON.parse(
    readFileSync(path.join(root, 'binding.gyp'), 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n'),
  );
  for (const target of gyp.targets) {
    target.sources = target.sources.map((s) => `../${s}`);
    const strip = (flags) => (flags ?? []).filter((f) => !/^-O/.test(f));
    target.cflags = [...strip(target.cflags), ...FLAGS];
    target.cflags_cc = [...strip(target.cflags_cc), ...FLAGS];
    target.ldflags = [...(target.ldflags ?? []), '-fsanitize=address,undefined'];
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'binding.gyp'), `# Made by scripts/test-sanitize.mjs from ../binding.gyp.\n${JSON.stringify(gyp, null, 2)}\n`);
  // Node's headers from the install when it has them (no download), else node-gyp's default.
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const nodedir = existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && !process.env.npm_config_nodedir ? [`--nodedir=${prefix}`] : [];
  run(process.execPath, [nodeGyp(), 'rebuild', ...nodedir], { cwd: out });
  done(t0);

  t0 = step('timer wheel fuzz (native/test/timer_wheel_fuzz.cc) with ASan + UBSan');
  const fuzz = path.join(out, 'timer_wheel_fuzz');
  run(cxx, ['-std=c++17', ...FLAGS, path.join(root, 'native', 'test', 'timer_wheel_fuzz.cc'), path.join(root, 'native', 'timer_wheel.cc'), '-o', fuzz]);
  run(fuzz, ['200'], { env: { ...process.env, ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' } });
  done(t0);
}

const t0 = step(`the tests with the sanitized addon (vitest run ${vitestArgs.join(' ')})`);
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')]);
const env = {
  ...process.env,
  ALOOP_NATIVE_BUILD: path.join(out, 'build'),
  LD_PRELOAD: [libasan(), process.env.LD_PRELOAD].filter(Boolean).join(' '),
  // exitcode 66: told apart from a test failure; a report ends the process that hit it.
  ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:exitcode=66:allow_user_segv_handler=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=67',
};
delete env.ALOOP_FORCE_PURE;
delete env.ALOOP_NATIVE_PATH;
// The loader must pick the sanitized addon, and the runtime must be in: check before trusting a pass.
const probe = spawnSync(
  process.execPath,
  ['--input-type=module', '-e', `import { getBinding } from ${JSON.stringify(new URL('../dist/loops/native/binding.js', import.meta.url).href)};
getBinding(); const maps = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8');
console.log(maps.includes(${JSON.stringify(path.join(out, 'build', 'Release', 'aloop.node'))}) && /libasan/.test(maps) ? 'sanitized' : 'not sanitized');`],
  { env, encoding: 'utf8' },
);
if (probe.stdout.trim() !== 'sanitized') {
  console.error(`test:sanitize: the sanitized addon did not load: ${probe.stdout}${probe.stderr}`);
  process.exit(1);
}
run(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...vitestArgs], { cwd: root, env });
done(t0);
console.log(`\ntest:sanitize: passed in ${((performance.now() - t00) / 1000).toFixed(0)} s`);
