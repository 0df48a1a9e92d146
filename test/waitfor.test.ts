// waitFor (CPython test_waitfor.py, translated).
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('returns the result when in time (both forms)', async () => {
    await lc.run(async () => {
      expect(await aio.waitFor(aio.sleep(0.001, 'a'), 1)).toBe('a');
      expect(await aio.waitFor(async () => 'b', 1)).toBe('b');
      const t = aio.createTask(function* () {
        return yield* aio.waitFor(
          (function* () {
            yield* aio.sleep(0.001);
            return 'c';
          })(),
          1,
        );
      });
      expect(await t).toBe('c');
    });
  });

  test('times out: TimeoutError and the inner is cancelled', async () => {
    await lc.run(async () => {
      const inner = aio.createTask(() => aio.sleep(10));
      await expect(aio.waitFor(inner, 0.01)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(inner.cancelled()).toBe(true);
    });
  });

  test('a failing inner passes its error through', async () => {
    await lc.run(async () => {
      await expect(
        aio.waitFor(async () => {
          await aio.sleep(0);
          throw new URIError('inner');
        }, 1),
      ).rejects.toBeInstanceOf(URIError);
    });
  });

  test('timeout 0 with a done future returns its result at once', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      f.setResult(5);
      expect(await aio.waitFor(f, 0)).toBe(5);
      const g = aio.getRunningLoop().createFuture<number>();
      g.setException(new Error('done bad'));
      await expect(aio.waitFor(g, 0)).rejects.toThrow('done bad');
    });
  });

  test('timeout 0 (or negative) with a pending future: TimeoutError and the future cancelled', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      await expect(aio.waitFor(f, 0)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(f.cancelled()).toBe(true);
      const g = aio.getRunningLoop().createFuture<number>();
      await expect(aio.waitFor(g, -1)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(g.cancelled()).toBe(true);
    });
  });

  test('null timeout waits as long as needed', async () => {
    await lc.run(async () => {
      expect(await aio.waitFor(aio.sleep(0.02, 'late'), null)).toBe('late');
      expect(await aio.waitFor(async () => 'fn', null)).toBe('fn');
    });
  });

  test('cancelling the waiter cancels the inner (with and without timeout)', async () => {
    await lc.run(function* () {
      for (const timeout of [10, null]) {
        const inner = aio.createTask(() => aio.sleep(10));
        const waiter = aio.createTask(async () => aio.waitFor(inner, timeout));
        yield* aio.sleep(0.002);
        waiter.cancel();
        while (!waiter.done()) yield* aio.sleep(0);
        expect(waiter.cancelled()).toBe(true);
        expect(inner.cancelled()).toBe(true);
      }
    });
  });

  test('cancelling the waitFor future cancels the inner', async () => {
    await lc.run(async () => {
      const inner = aio.createTask(() => aio.sleep(10));
      const w = aio.waitFor(inner, 10);
      await aio.sleep(0);
      w.cancel();
      await expect(w).rejects.toBeInstanceOf(aio.CancelledError);
      expect(inner.cancelled()).toBe(true);
    });
  });

  test('an inner that ignores cancellation at the deadline returns its value', async () => {
    await lc.run(async () => {
      const r = await aio.waitFor(async () => {
        try {
          await aio.sleep(10);
        } catch {
          // ignored
        }
        return 'ignored';
      }, 0.005);
      expect(r).toBe('ignored');
    });
  });

  test('an inner that needs time to clean up is waited for before TimeoutError', async () => {
    await lc.run(async () => {
      let cleaned = false;
      await expect(
        aio.waitFor(async () => {
          try {
            await aio.sleep(10);
          } finally {
            await aio.sleep(0.01);
            cleaned = true;
          }
        }, 0.005),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(cleaned).toBe(true);
    });
  });

  test('cancelled from outside after the deadline, while the inner cleans up: CancelledError', async () => {
    await lc.run(function* () {
      const w = aio.createTask(async () =>
        aio.waitFor(async () => {
          try {
            await aio.sleep(10);
          } finally {
            await aio.sleep(0.2);
          }
        }, 0.005),
      );
      yield* aio.sleep(0.015);
      expect(w.done()).toBe(false);
      w.cancel();
      while (!w.done()) yield* aio.sleep(0.005);
      expect(w.cancelled()).toBe(true);
    });
  });

  test('the inner completing at the deadline wins over the timeout', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<string>();
      const w = aio.waitFor(f, 0.005);
      // Set the result in the same iteration the timer would fire, or just before.
      loop.callLater(0.005, () => f.setResult('raced'));
      const r = await w.then(
        (v) => v,
        (e) => e,
      );
      expect(r === 'raced' || r instanceof aio.TimeoutError).toBe(true);
    });
  });

  test('nested waitFor: the inner times out first', async () => {
    await lc.run(async () => {
      const r = await aio.waitFor(async () => {
        try {
          await aio.waitFor(aio.sleep(10), 0.005);
        } catch (e) {
          return (e as Error).name;
        }
        return 'no';
      }, 10);
      expect(r).toBe('TimeoutError');
    });
  });

  test('waitFor of a Promise times out (the Promise itself cannot be cancelled)', async () => {
    await lc.run(async () => {
      const p = new Promise((r) => setTimeout(r, 200));
      await expect(aio.waitFor(p, 0.005)).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('bad timeouts: NaN is a RangeError, a string a TypeError; no task is left behind', async () => {
    await lc.run(async () => {
      let started = false;
      const coro = (function* () {
        started = true;
      })();
      expect(() => aio.waitFor(coro, NaN)).toThrow(RangeError);
      expect(() => aio.waitFor(coro, NaN)).toThrow(/timeout/);
      expect(() => aio.waitFor(coro, '1' as never)).toThrow(TypeError);
      expect(() => aio.waitFor(42 as never, 1)).toThrow(TypeError);
      await aio.sleep(0);
      expect(started).toBe(false);
      expect(aio.allTasks().size).toBe(1);
    });
  });
});
