import { expect, test } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('toThread runs a self-contained function on a worker, with arguments', async () => {
    const r = await lc.run(function* () {
      return yield* aio.toThread((a: number, b: number) => a * b, 6, 7);
    });
    expect(r).toBe(42);
  });

  test('workers run in parallel while the loop keeps running', async () => {
    const ticks = await lc.run(async () => {
      let n = 0;
      const ticker = aio.createTask(async () => {
        for (;;) {
          await aio.sleep(0.01);
          n++;
        }
      });
      const spin = (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
        return ms;
      };
      const rs = await aio.gather(aio.toThread(spin, 300), aio.toThread(spin, 300));
      ticker.cancel();
      expect(rs).toEqual([300, 300]);
      return n;
    });
    // The loop ticked while workers spun (a blocked loop would tick ~0 times).
    expect(ticks).toBeGreaterThan(5);
  });

  test('errors reach the caller with name and message', async () => {
    const err = await lc.run(async () => {
      try {
        await aio.toThread(() => {
          throw new RangeError('bad range in worker');
        });
      } catch (e) {
        return e as Error;
      }
      return null;
    });
    expect(err).toBeInstanceOf(Error);
    expect(err!.name).toBe('RangeError');
    expect(err!.message).toBe('bad range in worker');
  });

  test('an async function result is awaited in the worker', async () => {
    const r = await lc.run(() => aio.toThread(async (x: number) => x + 1, 1));
    expect(r).toBe(2);
  });

  test('a module export can be run by path and name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aloop-ex-'));
    const file = path.join(dir, 'mod.mjs');
    writeFileSync(file, 'export function twice(x) { return x * 2; }\n');
    const r = await lc.run(() => aio.toThread({ module: file, name: 'twice' }, 21));
    expect(r).toBe(42);
  });

  test('runInExecutor with an explicit executor; shutdown refuses new work', async () => {
    const ex = new aio.ThreadPoolExecutor(1);
    const r = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      return loop.runInExecutor(ex, (s: string) => s.toUpperCase(), 'abc');
    });
    expect(r).toBe('ABC');
    await ex.shutdown();
    await expect(ex.submit(() => 1, [])).rejects.toThrow(/after shutdown/);
  });

  test('after shutdownDefaultExecutor the default executor is refused (asyncio), an explicit one is not', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(await loop.runInExecutor(null, () => 1)).toBe(1);
      await loop.shutdownDefaultExecutor();
      expect(() => loop.runInExecutor(null, () => 2)).toThrow('Executor shutdown has been called');
      expect(() => aio.toThread(() => 3)).toThrow('Executor shutdown has been called');
      const pool = new aio.ThreadPoolExecutor(1);
      try {
        expect(await loop.runInExecutor(pool, () => 4)).toBe(4);
      } finally {
        await pool.shutdown(true);
      }
    });
  });

  test('setDefaultExecutor is used by toThread', async () => {
    let used = 0;
    const inner = new aio.ThreadPoolExecutor(1);
    const counting: aio.Executor = {
      submit: (fn, args) => {
        used++;
        return inner.submit(fn, args);
      },
      shutdown: (w) => inner.shutdown(w),
    };
    await lc.run(async () => {
      aio.getRunningLoop().setDefaultExecutor(counting);
      expect(await aio.toThread(() => 5)).toBe(5);
    });
    expect(used).toBe(1);
  });

  test('{ module, name } takes built-in modules: node:os and os', async () => {
    const r = await lc.run(async () => {
      const a = (await aio.toThread({ module: 'node:os', name: 'cpus' })) as unknown[];
      const b = (await aio.toThread({ module: 'os', name: 'availableParallelism' })) as number;
      const c = await aio.toThread({ module: 'node:path', name: 'join' }, 'a', 'b');
      return { n: a.length, b, c };
    });
    expect(r.n).toBe(os.cpus().length);
    expect(r.b).toBe(os.availableParallelism());
    expect(r.c).toBe(path.join('a', 'b'));
  });

  test('{ module, name } takes a package name, found from process.cwd() as import() finds it', async () => {
    const r = await lc.run(async () => {
      // typescript: a dependency of this repository, found in its node_modules.
      const js = await aio.toThread({ module: 'typescript', name: 'transpile' }, 'let x: number = 1;');
      // async-mutex resolves through its exports' "import" condition; E_TIMEOUT is an Error, not a function.
      let notFn: unknown;
      try {
        await aio.toThread({ module: 'async-mutex', name: 'E_TIMEOUT' });
      } catch (e) {
        notFn = e;
      }
      return { js, notFn };
    });
    expect(String(r.js).trim()).toBe('var x = 1;');
    expect(r.notFn).toBeInstanceOf(TypeError);
    expect((r.notFn as Error).message).toBe("export 'E_TIMEOUT' of module 'async-mutex' is not a function (it is object)");
  });

  test('{ module, name } takes file: URLs and relative paths (from process.cwd()); a CommonJS export too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aloop-ex-'));
    const mjs = path.join(dir, 'mod.mjs');
    writeFileSync(mjs, 'export const add = (a, b) => a + b;\n');
    const cjs = path.join(dir, 'mod.cjs');
    // An export the CommonJS scan cannot see (assigned through another name).
    writeFileSync(cjs, 'const api = {}; api.twice = (x) => x * 2; module.exports = api;\n');
    const r = await lc.run(async () => [
      await aio.toThread({ module: pathToFileURL(mjs).href, name: 'add' }, 1, 2),
      await aio.toThread({ module: './' + path.relative(process.cwd(), mjs), name: 'add' }, 3, 4),
      await aio.toThread({ module: cjs, name: 'twice' }, 21),
    ]);
    expect(r).toEqual([3, 7, 42]);
  });

  test('an unknown module or export fails with a clear error naming both', async () => {
    const errs = await lc.run(async () => {
      const out: Error[] = [];
      for (const fn of [
        { module: 'no-such-package-aloop', name: 'f' },
        { module: './no/such/file.mjs', name: 'f' },
        { module: 'node:os', name: 'noSuchExport' },
      ]) {
        try {
          await aio.toThread(fn);
        } catch (e) {
          out.push(e as Error);
        }
      }
      return out;
    });
    expect(errs).toHaveLength(3);
    expect((errs[0] as NodeJS.ErrnoException).code).toBe('ERR_MODULE_NOT_FOUND');
    expect(errs[0]!.message).toMatch(/^Cannot find module 'no-such-package-aloop' for the executor \(a package name is looked up from /);
    expect((errs[1] as NodeJS.ErrnoException).code).toBe('ERR_MODULE_NOT_FOUND');
    expect(errs[1]!.message).toContain('no/such/file.mjs');
    expect(errs[2]).toBeInstanceOf(TypeError);
    expect(errs[2]!.message).toBe("module 'node:os' has no export 'noSuchExport'");
  });

  test('a function using a variable of its scope fails saying it must be self-contained', async () => {
    const factor = 3;
    const r = await lc.run(async () => {
      const scale = (x: number) => x * factor;
      try {
        await aio.toThread(scale, 2);
      } catch (e) {
        return e as Error;
      }
      return null;
    });
    expect(r).toBeInstanceOf(ReferenceError);
    expect(r!.message).toMatch(/^functions sent to a worker must be self-contained: `factor` is not defined there/);
    expect(r!.cause).toBeInstanceOf(ReferenceError);
    expect((r!.cause as Error).message).toBe('factor is not defined');
  });

  test("a ReferenceError the function throws itself, or one from a module it calls, keeps its message", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aloop-ex-'));
    const file = path.join(dir, 'ref.mjs');
    writeFileSync(file, 'export function f() { return missingInModule; }\n');
    const r = await lc.run(async () => {
      const out: Error[] = [];
      const calls: [aio.ExecutorFunction, unknown[]][] = [
        [() => {
          throw new ReferenceError('my own reference problem');
        }, []],
        // A free variable of a module (not of the sent function) is that module's own bug.
        // (import() in a string: vitest rewrites a literal one into a variable of this file.)
        [async (url: string) => (await new Function('u', 'return import(u)')(url)).f(), [pathToFileURL(file).href]],
        [{ module: file, name: 'f' }, []],
      ];
      for (const [fn, args] of calls) {
        try {
          await aio.toThread(fn, ...args);
        } catch (e) {
          out.push(e as Error);
        }
      }
      return out;
    });
    expect(r.map((e) => e.name)).toEqual(['ReferenceError', 'ReferenceError', 'ReferenceError']);
    expect(r.map((e) => e.message)).toEqual(['my own reference problem', 'missingInModule is not defined', 'missingInModule is not defined']);
  });

  test('errors keep their class, code and cause across the thread', async () => {
    const err = await lc.run(async () => {
      try {
        await aio.toThread(() => {
          const inner = Object.assign(new Error('inner'), { code: 'EINNER' });
          throw Object.assign(new TypeError('outer', { cause: inner }), { code: 'EOUTER' });
        });
      } catch (e) {
        return e as Error & { code?: string };
      }
      return null;
    });
    expect(err).toBeInstanceOf(TypeError);
    expect(err!.message).toBe('outer');
    expect(err!.code).toBe('EOUTER');
    expect(err!.cause).toBeInstanceOf(Error);
    expect((err!.cause as Error & { code?: string }).code).toBe('EINNER');
  });

  test('await using a ThreadPoolExecutor shuts it down: workers stopped, no new work', async () => {
    let workers: { threadId: number }[] = [];
    let pool!: aio.ThreadPoolExecutor;
    const r = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      let results: unknown[];
      {
        await using p = new aio.ThreadPoolExecutor(2);
        pool = p;
        results = await aio.gather(
          loop.runInExecutor(p, (x: number) => x + 1, 1),
          loop.runInExecutor(p, async (ms: number) => {
            await new Promise((res) => setTimeout(res, ms));
            return 'slow';
          }, 50),
        );
        workers = p._workerThreads();
        expect(workers.length).toBe(2);
        expect(workers.every((w) => w.threadId > 0)).toBe(true);
      }
      // Disposal waited for the pool (asyncio's `with ThreadPoolExecutor()` does too).
      let sync: unknown;
      try {
        loop.runInExecutor(pool, () => 1);
      } catch (e) {
        sync = e;
      }
      return { results, sync };
    });
    expect(r.results).toEqual([2, 'slow']);
    // A terminated Worker's threadId is -1.
    expect(workers.map((w) => w.threadId)).toEqual([-1, -1]);
    expect(pool._workerThreads()).toEqual([]);
    expect(r.sync).toBeInstanceOf(Error);
    expect((r.sync as Error).message).toBe('cannot schedule new futures after shutdown');
    await expect(pool.submit(() => 1, [])).rejects.toThrow('cannot schedule new futures after shutdown');
  });

  test('a call cancelled while queued never runs; one that calls process.exit() fails, the pool goes on', async () => {
    const r = await lc.run(async () => {
      await using p = new aio.ThreadPoolExecutor(1);
      const loop = aio.getRunningLoop();
      const sab = new SharedArrayBuffer(4);
      const slow = loop.runInExecutor(p, (ms: number) => {
        const end = Date.now() + ms;
        while (Date.now() < end);
      }, 100);
      const queued = loop.runInExecutor(p, (buf: SharedArrayBuffer) => {
        new Int32Array(buf)[0] = 1;
      }, sab);
      queued.cancel();
      await slow;
      let exitErr: unknown;
      try {
        await loop.runInExecutor(p, () => process.exit(3));
      } catch (e) {
        exitErr = e;
      }
      const after = await loop.runInExecutor(p, () => 'still works');
      return { ran: new Int32Array(sab)[0], cancelled: queued.cancelled(), exitErr, after };
    });
    expect(r.cancelled).toBe(true);
    expect(r.ran).toBe(0);
    expect((r.exitErr as Error).message).toMatch(/exited \(code 3\)/);
    expect(r.after).toBe('still works');
  });

  test('bad arguments', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      expect(() => loop.runInExecutor(null, 42 as never)).toThrow(TypeError);
      expect(() => loop.runInExecutor({} as never, () => 1)).toThrow(/executor/);
      expect(() => loop.setDefaultExecutor(null as never)).toThrow(TypeError);
      expect(() => new aio.ThreadPoolExecutor(0)).toThrow(RangeError);
      expect(() => new aio.ThreadPoolExecutor(1.5)).toThrow(TypeError);
      // Arguments that cannot be cloned fail the call, not the process.
      const f = loop.runInExecutor(null, (x: unknown) => x, () => 1);
      let err: unknown;
      try {
        yield* f;
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      // The same function then runs (its source never reached the worker: it is sent again).
      expect(yield* loop.runInExecutor(null, (x: unknown) => x, 5)).toBe(5);
      // A function whose source does not compile in the worker fails each time, with the reason.
      for (let i = 0; i < 2; i++) {
        let syntax: unknown;
        try {
          yield* loop.runInExecutor(null, { module: 'data:text/javascript,export const f = (;', name: 'f' });
        } catch (e) {
          syntax = e;
        }
        expect(syntax).toBeInstanceOf(SyntaxError);
      }
    });
  });
});
