/**
 * The native loop's own concerns: loading (and the clear error when the addon is missing), libuv
 * handle clean-up, worker threads, process exit, and the timer wheel under load. Child processes
 * and workers run the built package (dist/), as users do; `npm test` builds it first.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import * as native from '../src/native.js';
import { getBinding, loadBinding, NativeUnavailableError, packageRoot } from '../src/loops/native/binding.js';
import { eachLoop } from './loops.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distNative = path.join(root, 'dist', 'native.js');

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}, timeout = 20_000): Promise<ChildResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, timeout }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number | null) ?? null : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

const available = native.isAvailable();

function run(file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (err as { code?: unknown }).code : 0;
      resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

/** uv_close callbacks run at the end of a turn of Node's loop: wait (boundedly) for them. */
async function openHandlesSettle(expected: number): Promise<number> {
  const b = getBinding();
  for (let i = 0; i < 100 && b.openHandles() !== expected; i++) await new Promise((r) => setTimeout(r, 5));
  return b.openHandles();
}

describe('loading the addon', () => {
  test('the package root is found from the sources', () => {
    expect(packageRoot()).toBe(root);
  });

  test('a missing binary gives one clear error saying what was tried and how to fix it', () => {
    const missing = path.join(root, 'build', 'no-such-dir', 'aloop.node');
    let err: unknown;
    try {
      loadBinding({ path: missing, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NativeUnavailableError);
    const message = (err as Error).message;
    expect(message).toContain(missing);
    expect(message).toContain('not found');
    expect(message).toContain('npm rebuild aloop');
    expect(message).toContain("import from 'aloop'");
    expect((err as NativeUnavailableError).code).toBe('ERR_ALOOP_NATIVE_UNAVAILABLE');
  });

  test('a file that is not the addon is reported with the loader error', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aloop-native-'));
    try {
      const garbage = path.join(dir, 'aloop.node');
      writeFileSync(garbage, 'not a shared object');
      expect(() => loadBinding({ path: garbage, env: {} })).toThrow(/aloop\.node: .*(invalid ELF|not a valid|too short|header)/i);
      expect(() => loadBinding({ path: path.join(root, 'package.json'), env: {} })).toThrow(/not aloop's addon/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ALOOP_NATIVE_BUILD=<dir> searches <dir>/Release and <dir>/Debug under the package root instead of build/', () => {
    let message = '';
    try {
      loadBinding({ env: { ALOOP_NATIVE_BUILD: 'no-such-build' } });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain(`${path.join(root, 'no-such-build', 'Release', 'aloop.node')}: not found`);
    expect(message).toContain(`${path.join(root, 'no-such-build', 'Debug', 'aloop.node')}: not found`);
    expect(message).not.toContain(path.join(root, 'build', 'Release'));
  });

  test('ALOOP_FORCE_PURE=1 turns the native loop off with a clear error', () => {
    expect(() => loadBinding({ env: { ALOOP_FORCE_PURE: '1' } })).toThrow(/ALOOP_FORCE_PURE=1/);
  });

  test('the pure loop works while the addon is missing', async () => {
    expect(() => loadBinding({ path: '/nonexistent/aloop.node', env: {} })).toThrow(NativeUnavailableError);
    const r = await aio.run(
      async () => {
        await aio.sleep(0.001);
        return 'pure ok';
      },
      { loopFactory: () => new aio.PureEventLoop() },
    );
    expect(r).toBe('pure ok');
  });
});

// Without the addon these are not declared: test/loops.ts then fails loudly unless
// ALOOP_FORCE_PURE=1 says the pure loop alone is wanted.
if (available) describe('native loop: process and threads', () => {
  beforeAll(() => {
    if (!existsSync(distNative)) throw new Error(`${distNative} is missing: run \`npm run build\` first`);
  });

  test('the addon is available and the package entry exports the native API', () => {
    expect(native.isAvailable()).toBe(true);
    expect(native.unavailableReason()).toBeNull();
    expect(typeof native.install).toBe('function');
    const loop = new native.NativeEventLoopPolicy().newEventLoop();
    expect(loop).toBeInstanceOf(native.NativeEventLoop);
    loop.close();
  });

  test('with a missing binary, aloop/native imports, isAvailable() is false and use throws the clear error', async () => {
    const script = `
      const m = await import('aloop/native');
      const aio = await import('aloop');
      console.log('available', m.isAvailable());
      for (const use of [() => new m.NativeEventLoop(), () => m.install(), () => m.newEventLoop()]) {
        try { use(); console.log('no error'); } catch (e) { console.log('error', e.name, JSON.stringify(e.message)); }
      }
      await m.run(async () => 1).then(() => console.log('ran'), (e) => console.log('run rejected', e.name));
      console.log('pure', await aio.run(async () => { await aio.sleep(0.001); return 42; }));
    `;
    const r = await node(['--input-type=module', '-e', script], { ALOOP_NATIVE_PATH: '/nonexistent/aloop.node' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('available false');
    for (const line of lines.slice(1, 4)) {
      expect(line).toMatch(/^error NativeUnavailableError /);
      expect(line).toContain('/nonexistent/aloop.node: not found');
      expect(line).toContain('npm rebuild aloop');
    }
    expect(lines[4]).toBe('run rejected NativeUnavailableError');
    expect(lines[5]).toBe('pure 42');
  });

  test('node -e "import(\'aloop/native\').then(m => m.run(async () => 1))" works from the project root', async () => {
    const r = await node(['-e', "import('aloop/native').then(m => m.run(async () => 1)).then((v) => console.log('result', v))"]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('result 1');
  });

  test('a pending callLater(0.05) keeps the process alive until it fires, then it exits', async () => {
    const script = `
      import { NativeEventLoop } from 'aloop/native';
      const loop = new NativeEventLoop();
      const t0 = loop.time();
      loop.callLater(0.05, () => console.log('fired', loop.time() - t0 >= 0.05));
      loop.runForever();
    `;
    const r = await node(['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('fired true');
  });

  test('a running loop with nothing pending does not keep the process alive', async () => {
    const script = `
      import { NativeEventLoop } from 'aloop/native';
      const loop = new NativeEventLoop();
      loop.callSoon(() => console.log('ran'));
      loop.runForever();
    `;
    // A process kept alive would be killed by the timeout (code null) instead of exiting 0.
    const r = await node(['--input-type=module', '-e', script], {}, 10_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('ran');
  });

  test('a stopped loop with a far timer pending does not keep the process alive', async () => {
    const script = `
      import { NativeEventLoop } from 'aloop/native';
      const loop = new NativeEventLoop();
      loop.callLater(3600, () => console.log('never'));
      loop.callSoon(() => loop.stop());
      await loop.runForever();
      console.log('stopped');
    `;
    const r = await node(['--input-type=module', '-e', script], {}, 10_000);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('stopped');
  });

  test('every libuv handle is closed by close(), with or without pending work', async () => {
    const b = getBinding();
    const before = b.openHandles();
    const loop = new native.NativeEventLoop();
    expect(b.openHandles()).toBe(before + 3);
    await loop.runUntilComplete(async () => {
      loop.callLater(10, () => undefined);
      loop.callLater(0.001, () => undefined);
      await aio.sleep(0.002);
    });
    loop.callSoon(() => undefined);
    loop.close();
    loop.close(); // idempotent
    expect(loop.isClosed()).toBe(true);
    expect(await openHandlesSettle(before)).toBe(before);
    expect(() => loop.callSoon(() => undefined)).toThrow(/closed/);
  });

  test('a loop dropped without close() is collected and its handles closed', async () => {
    const script = `
      import { NativeEventLoop } from 'aloop/native';
      import { getBinding } from './dist/loops/native/binding.js';
      const b = getBinding();
      let loop = new NativeEventLoop();
      await loop.runUntilComplete(new Promise((r) => loop.callLater(0.001, r)));
      loop.callLater(3600, () => undefined);
      console.log('open', b.openHandles());
      loop = null;
      for (let i = 0; i < 50 && b.openHandles() > 0; i++) {
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      console.log('open', b.openHandles());
    `;
    const r = await node(['--expose-gc', '--input-type=module', '-e', script], {}, 15_000);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual(['open 3', 'open 0']);
  });

  test('aio.run closes the native loop and its handles', async () => {
    const b = getBinding();
    const before = b.openHandles();
    await native.run(async () => {
      await aio.sleep(0.001);
    });
    expect(await openHandlesSettle(before)).toBe(before);
  });

  test('4 worker threads load the addon and run native loops at once', async () => {
    const url = pathToFileURL(distNative).href;
    const aioUrl = pathToFileURL(path.join(root, 'dist', 'index.js')).href;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const m = await import(${JSON.stringify(url)});
        const aio = await import(${JSON.stringify(aioUrl)});
        const b = (await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'loops', 'native', 'binding.js')).href)})).getBinding();
        const result = await m.run(async () => {
          const loop = aio.getRunningLoop();
          const order = [];
          for (let i = 0; i < 200; i++) loop.callLater(((i * 7919) % 200) / 20000, () => order.push(i));
          await aio.sleep(0.02);
          let steps = 0;
          await aio.gather(Array.from({ length: 50 }, async () => { for (let j = 0; j < 10; j++) { await aio.sleep(0); steps++; } }));
          return { fired: order.length, steps, name: loop.constructor.name, id: workerData };
        });
        for (let i = 0; i < 100 && b.openHandles() !== 0; i++) await new Promise((r) => setTimeout(r, 5));
        parentPort.postMessage({ ...result, open: b.openHandles() });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const runs = [0, 1, 2, 3].map(
      (id) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: id });
          let msg: Record<string, unknown> | undefined;
          w.once('message', (m) => (msg = m));
          w.once('error', reject);
          w.once('exit', (c) => (c === 0 && msg ? resolve(msg) : reject(new Error(`worker ${id} exit ${c}: ${JSON.stringify(msg)}`))));
        }),
    );
    const results = await Promise.all(runs);
    for (const [i, r] of results.entries()) {
      expect(r).toEqual({ fired: 200, steps: 500, name: 'NativeEventLoop', id: i, open: 0 });
    }
  });

  test('a worker terminated while its native loop runs with timers pending exits cleanly', async () => {
    const url = pathToFileURL(distNative).href;
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(url)}).then((m) => {
        const loop = new m.NativeEventLoop();
        loop.callLater(60, () => undefined);
        loop.callSoon(() => parentPort.postMessage('running'));
        loop.runForever();
      });
    `;
    const w = new Worker(code, { eval: true });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    const code2 = await w.terminate();
    expect(code2).toBe(1);
  });
});

if (available) describe('native loop: the timer wheel under load', () => {
  test('the C++ wheel matches a reference model in virtual time (native/test/timer_wheel_fuzz.cc)', async () => {
    // The addon was compiled on this machine, so its compiler is here too.
    const dir = mkdtempSync(path.join(tmpdir(), 'aloop-wheel-'));
    try {
      const exe = path.join(dir, 'fuzz');
      const src = path.join(root, 'native', 'test');
      const cxx = process.env.CXX || 'c++';
      const build = await run(cxx, ['-std=c++17', '-O1', '-o', exe, path.join(src, 'timer_wheel_fuzz.cc'), path.join(root, 'native', 'timer_wheel.cc')]);
      expect(build.stderr).toBe('');
      expect(build.code).toBe(0);
      const r = await run(exe, ['200']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ok \d+ timers fired in order/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('more timers due at once than the due buffer holds fire in when order', async () => {
    const loop = new native.NativeEventLoop();
    try {
      const n = 40_000; // > DUE_CAPACITY (16384) and > OP_CAPACITY (4096)
      const got: number[] = [];
      await loop.runUntilComplete(async () => {
        const base = loop.time();
        for (let i = 0; i < n; i++) loop.callAt(base + ((i * 7919) % n) / 1e7, (k: number) => got.push(k), (i * 7919) % n);
        await aio.sleep(0.01);
      });
      expect(got.length).toBe(n);
      for (let i = 0; i < n; i++) if (got[i] !== i) throw new Error(`timer ${got[i]} fired at position ${i}`);
    } finally {
      loop.close();
    }
  });
});

eachLoop((lc) => {
  test('random timers fire in (when, scheduling) order, never before their when', async () => {
    const fired: [when: number, seq: number, at: number][] = [];
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const base = loop.time();
      let x = 12345;
      const rnd = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      const handles: aio.TimerHandle[] = [];
      for (let i = 0; i < 3000; i++) {
        // Ties on purpose (rounded whens), some in the past, spread over 0-60 ms.
        const when = rnd() < 0.2 ? base + Math.round(rnd() * 5) / 1000 : rnd() < 0.05 ? base - rnd() : base + rnd() * 0.06;
        handles.push(loop.callAt(when, () => fired.push([when, i, loop.time()])));
      }
      // Cancel a third, some twice.
      for (let i = 0; i < handles.length; i += 3) handles[i]!.cancel();
      for (let i = 0; i < handles.length; i += 9) handles[i]!.cancel();
      await aio.sleep(0.08);
    });
    expect(fired.length).toBe(2000);
    for (let i = 0; i < fired.length; i++) {
      const [when, seq, at] = fired[i]!;
      expect(seq % 3).not.toBe(0);
      expect(at).toBeGreaterThanOrEqual(when);
      if (i > 0) {
        const [pw, ps] = fired[i - 1]!;
        if (pw > when || (pw === when && ps > seq)) throw new Error(`out of order at ${i}: ${pw}/${ps} before ${when}/${seq}`);
      }
    }
  });

  test('timers cancelled en masse are dropped, and the loop still stops when nothing is left', async () => {
    const r = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      let ran = 0;
      for (let round = 0; round < 5; round++) {
        const hs = Array.from({ length: 5000 }, (_, i) => loop.callLater(0.001 + (i % 50) / 1000, () => ran++));
        for (const h of hs) h.cancel();
      }
      const kept = loop.callLater(0.002, () => ran++);
      await aio.sleep(0.06);
      return [ran, kept.cancelled()];
    });
    expect(r).toEqual([1, false]);
  });

  test('cancelling a timer after it fired, or twice, is harmless; a reused slot is not cancelled', async () => {
    const r = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const log: string[] = [];
      const a = loop.callLater(0, () => log.push('a'));
      await aio.sleep(0.005);
      a.cancel();
      a.cancel();
      const b = loop.callLater(0.001, () => log.push('b'));
      a.cancel();
      await aio.sleep(0.01);
      return [log.join(','), b.cancelled()];
    });
    expect(r).toEqual(['a,b', false]);
  });

  test('callAt(Infinity) never fires and does not hold the loop when stopped', async () => {
    const r = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const h = loop.callAt(Infinity, () => {
        throw new Error('fired');
      });
      await aio.sleep(0.002);
      h.cancel();
      return h.when();
    });
    expect(r).toBe(Infinity);
  });
});
