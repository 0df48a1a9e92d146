/**
 * The package as users get it: `require()` from CommonJS (Node's require(esm), one module
 * instance for both), the published types for strict `.mts` and `.cts` consumers with no `_`
 * internals, and how the addon is found (node-gyp-build: a local build, else the prebuilt
 * binary) or, when the install could not build it, why not. Child processes run the built
 * package (dist/), as users do; `npm test` builds it first. `npm run test:pack` checks the
 * packed tarball itself, installed where no compiler is on PATH.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eachLoop } from './loops.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distBinding = pathToFileURL(path.join(root, 'dist', 'loops', 'native', 'binding.js')).href;
const built = path.join(root, 'build', 'Release', 'aloop.node');
const prebuilt = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? root, env: options.env ?? process.env, timeout: options.timeout ?? 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (err as { code?: unknown }).code : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

const node = (args: string[], options?: Parameters<typeof exec>[2]) => exec(process.execPath, args, options);

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` first');
});

describe('CommonJS', () => {
  eachLoop((lc) => {
    test('a CommonJS script requires aloop and aloop/native and runs a coroutine on this loop', async () => {
      const script = `
        const aio = require('aloop');
        const native = require('aloop/native');
        const loopFactory = ${JSON.stringify(lc.name)} === 'native' ? () => new native.NativeEventLoop() : () => new aio.PureEventLoop();
        aio.run(async () => {
          await aio.sleep(0.001);
          const t = aio.createTask(function* () { yield* aio.sleep(0.001); return 41; });
          return aio.getRunningLoop().constructor.name + ' ' + ((await t) + 1);
        }, { loopFactory }).then((r) => console.log(r));
      `;
      const r = await node(['-e', script]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe(`${lc.name === 'native' ? 'NativeEventLoop' : 'PureEventLoop'} 42`);
    });
  });

  test('require() and import give the same module instance (no second copy of the loop state)', async () => {
    const script = `
      const { createRequire } = await import('node:module');
      const require = createRequire(process.cwd() + '/');
      const [a, b] = [require('aloop'), await import('aloop')];
      const [n, m] = [require('aloop/native'), await import('aloop/native')];
      console.log(a.Future === b.Future, a.getEventLoopPolicy === b.getEventLoopPolicy, n.NativeEventLoop === m.NativeEventLoop);
    `;
    const r = await node(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('true true true');
  });
});

describe('published types', () => {
  test('strict .mts and .cts consumers type-check against dist/ with skipLibCheck off, and see no _ internals', async () => {
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = await node([tsc, '-p', path.join(root, 'test', 'fixtures', 'consumer')], { timeout: 60_000 });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);
});

/** A scratch package directory named aloop (node-gyp-build reads its package.json). */
function scratchPackage(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'aloop-pkg-'));
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'aloop', version: '0.0.0' }));
  return dir;
}

/** The built addon (a clone's build, or the prebuild `npm pack` left), to copy into scratch packages. */
function anyBinary(): string | null {
  if (existsSync(built)) return built;
  const libc = path.join(prebuilt, 'aloop.glibc.node');
  return existsSync(libc) ? libc : null;
}

describe('finding the addon (node-gyp-build)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** loadBinding({ root }) in a child process (a second copy of the addon stays out of this one). */
  async function load(dir: string): Promise<ChildResult> {
    const script = `
      const { loadBinding } = await import(${JSON.stringify(distBinding)});
      try {
        const b = loadBinding({ root: ${JSON.stringify(dir)}, env: {} });
        console.log('loaded', typeof b.Loop, typeof b.now());
      } catch (e) {
        console.log('error', e.name, JSON.stringify(e.message));
      }
    `;
    return node(['--input-type=module', '-e', script]);
  }

  test('a package with only the prebuilt binary (prebuilds/<platform>-<arch>/) loads it', async () => {
    const binary = anyBinary();
    expect(binary, 'the addon is built (build/Release) or prebuilt (prebuilds/)').not.toBeNull();
    const dir = scratchPackage();
    dirs.push(dir);
    mkdirSync(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
    copyFileSync(binary!, path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, 'aloop.glibc.node'));
    const r = await load(dir);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('loaded function number');
  });

  test('with no binary, the error says where node-gyp-build looked and quotes the failed build', async () => {
    const dir = scratchPackage();
    dirs.push(dir);
    const none = await load(dir);
    expect(none.stdout).toContain('error NativeUnavailableError');
    expect(none.stdout).toContain(`node-gyp-build in ${dir}`);
    expect(none.stdout).toContain('No native build was found for platform=');
    expect(none.stdout).toContain('npm rebuild aloop');
    expect(none.stdout).not.toContain('npm install tried to build it');

    mkdirSync(path.join(dir, 'build'));
    writeFileSync(path.join(dir, 'build', 'aloop-build-failed.txt'), 'building it failed (exit code 1).\nReason: Could not find any Python installation to use\n');
    const failed = await load(dir);
    expect(failed.stdout).toContain('npm install tried to build it: building it failed (exit code 1).');
    expect(failed.stdout).toContain('Reason: Could not find any Python installation to use');
  });
});

describe('the install script (scripts/install.mjs)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /**
   * A scratch package with the install script and this checkout's node_modules, and a fake
   * `node-gyp` first on PATH that records its call and fails as node-gyp does without Python.
   */
  function installFixture(): { dir: string; env: NodeJS.ProcessEnv; called: string } {
    const dir = scratchPackage();
    dirs.push(dir);
    mkdirSync(path.join(dir, 'scripts'));
    copyFileSync(path.join(root, 'scripts', 'install.mjs'), path.join(dir, 'scripts', 'install.mjs'));
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
    const bin = path.join(dir, 'fakebin');
    mkdirSync(bin);
    const called = path.join(dir, 'node-gyp-called');
    const fake = path.join(bin, 'node-gyp');
    writeFileSync(
      fake,
      `#!/bin/sh\necho "$@" > '${called}'\necho 'gyp info it worked if it ends with ok' >&2\n` +
        `echo 'gyp ERR! find Python You need to install the latest version of Python.' >&2\n` +
        `echo 'gyp ERR! stack Error: Could not find any Python installation to use' >&2\n` +
        `echo 'gyp ERR! stack     at PythonFinder.fail (find-python.js:300:11)' >&2\necho 'gyp ERR! not ok' >&2\nexit 1\n`,
    );
    chmodSync(fake, 0o755);
    const env = { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` };
    delete env.npm_config_build_from_source;
    return { dir, env, called };
  }

  test('a failed build keeps the install succeeding, says the pure loop is used, and saves the reason', async () => {
    const { dir, env, called } = installFixture();
    const r = await node([path.join(dir, 'scripts', 'install.mjs')], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(existsSync(called)).toBe(true);
    expect(readFileSync(called, 'utf8').trim()).toBe('rebuild');
    expect(r.stderr).toContain('gyp ERR! stack Error: Could not find any Python installation to use'); // streamed through
    const line = r.stderr.split('\n').find((l) => l.startsWith('aloop: '));
    expect(line).toContain('Could not find any Python installation to use');
    expect(line).toContain('the pure-TypeScript loop will be used');
    const marker = readFileSync(path.join(dir, 'build', 'aloop-build-failed.txt'), 'utf8');
    expect(marker).toContain('Reason: Could not find any Python installation to use');
    expect(marker).toContain('gyp ERR! find Python You need to install the latest version of Python.');
    expect(marker).not.toContain('PythonFinder.fail'); // node-gyp's stack and boilerplate are left out
  });

  test('a matching prebuilt binary means nothing is built; a git checkout builds anyway', async () => {
    const binary = anyBinary();
    expect(binary).not.toBeNull();
    const { dir, env, called } = installFixture();
    const target = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`);
    mkdirSync(target, { recursive: true });
    copyFileSync(binary!, path.join(target, 'aloop.glibc.node'));
    const r = await node([path.join(dir, 'scripts', 'install.mjs')], { cwd: dir, env });
    expect(r.code).toBe(0);
    expect(existsSync(called)).toBe(false);
    expect(r.stderr).not.toContain('aloop: ');
    expect(existsSync(path.join(dir, 'build', 'aloop-build-failed.txt'))).toBe(false);

    // A clone of aloop (a .git entry) always builds from source, so C++ changes are never hidden
    // by an older binary.
    writeFileSync(path.join(dir, '.git'), 'gitdir: elsewhere\n');
    const clone = await node([path.join(dir, 'scripts', 'install.mjs')], { cwd: dir, env });
    expect(clone.code).toBe(0);
    expect(existsSync(called)).toBe(true);
  });
});
