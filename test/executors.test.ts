import { expect, test } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
    });
  });
});
