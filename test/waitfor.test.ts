// waitFor (CPython test_waitfor.py, translated).
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('cancelled before it starts, waitFor(coroutine, t > 0) never runs the coroutine (both forms)', async () => {
    await lc.run(async () => {
      let ran = 0;
      const a = aio.waitFor(async () => {
        ran++;
        await aio.sleep(0);
      }, 1);
      const g = aio.waitFor(
        (function* () {
          ran++;
          yield* aio.sleep(0);
        })(),
        1,
      );
      a.cancel();
      g.cancel();
      const [done] = await aio.wait([a, g]);
      expect(done.size).toBe(2);
      expect(a.cancelled() && g.cancelled()).toBe(true);
      expect(ran).toBe(0);
    });
  });

  test('returns the result when in time (both forms)', async () => {
    await lc.runVirtual(async () => {
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
    await lc.runVirtual(async () => {
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

  // --- timeout 0 or less (asyncio 3.11's `if timeout <= 0` branch) ---------------------------------

  test('timeout 0 or less: a coroutine or function never runs; TimeoutError caused by CancelledError', async () => {
    await lc.run(async () => {
      for (const timeout of [0, -1, -Infinity]) {
        let ran = 0;
        let cleaned = 0;
        function* gen(): aio.Coro<string> {
          ran++;
          try {
            yield* aio.sleep(0);
          } finally {
            cleaned++;
          }
          return 'gen';
        }
        const forms: [string, aio.CoroLike<string>][] = [
          ['generator object', gen()],
          ['generator function', gen],
          [
            'async function',
            async () => {
              ran++;
              try {
                await aio.sleep(0);
              } finally {
                cleaned++;
              }
              return 'async';
            },
          ],
          [
            'async function that never suspends',
            async () => {
              ran++;
              return 'sync';
            },
          ],
        ];
        for (const [form, aw] of forms) {
          const err = await aio.waitFor(aw, timeout).then(
            (v) => v,
            (e: unknown) => e,
          );
          expect(err, `${form}, timeout ${timeout}`).toBeInstanceOf(aio.TimeoutError);
          expect((err as Error).cause, form).toBeInstanceOf(aio.CancelledError);
        }
        await aio.sleep(0);
        expect(ran).toBe(0);
        expect(cleaned).toBe(0);
        expect(aio.allTasks().size).toBe(1);
      }
    });
  });

  test('timeout 0 from a generator task, yield*-ing waitFor: TimeoutError, the body never runs', async () => {
    await lc.run(function* () {
      let ran = false;
      let err: unknown;
      try {
        yield* aio.waitFor(
          (function* () {
            ran = true;
            return 1;
          })(),
          0,
        );
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.TimeoutError);
      expect((err as Error).cause).toBeInstanceOf(aio.CancelledError);
      expect(ran).toBe(false);
      // The awaiting task is not left cancelling.
      expect(aio.currentTask()!.cancelling()).toBe(0);
    });
  });

  test('timeout 0 or less with a done Future or Task: its result or error, without waiting', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      for (const timeout of [0, -0.5]) {
        const ok = loop.createFuture<number>();
        ok.setResult(5);
        const bad = loop.createFuture<number>();
        bad.setException(new URIError('done bad'));
        const task = aio.createTask(async () => 'task done');
        await aio.sleep(0);
        expect(task.done()).toBe(true);
        const cancelled = loop.createFuture<number>();
        cancelled.cancel('why');
        const ws = [ok, bad, task, cancelled].map((f) => aio.waitFor<unknown>(f, timeout));
        // Each waitFor ends in its first step: done when the loop comes back to this task.
        await aio.sleep(0);
        expect(ws.map((w) => w.done())).toEqual([true, true, true, true]);
        expect(await ws[0]).toBe(5);
        await expect(ws[1]).rejects.toBeInstanceOf(URIError);
        expect(await ws[2]).toBe('task done');
        // Done and cancelled: result() throws its CancelledError, which passes (no TimeoutError).
        const e = await ws[3]!.then(
          () => null,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(aio.CancelledError);
        expect((e as Error).message).toBe('why');
      }
    });
  });

  test('timeout 0 or less with a pending Future or running Task: cancelled, then TimeoutError', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      for (const timeout of [0, -3]) {
        const f = loop.createFuture<number>();
        const fe = await aio.waitFor(f, timeout).then(
          () => null,
          (x: unknown) => x,
        );
        expect(fe).toBeInstanceOf(aio.TimeoutError);
        expect((fe as Error).cause).toBeInstanceOf(aio.CancelledError);
        expect(f.cancelled()).toBe(true);
        let bodyErr: unknown;
        const t = aio.createTask(function* () {
          try {
            yield* aio.sleep(10);
          } catch (e) {
            bodyErr = e;
            throw e;
          }
        });
        await aio.sleep(0);
        await expect(aio.waitFor(t, timeout)).rejects.toBeInstanceOf(aio.TimeoutError);
        expect(t.cancelled()).toBe(true);
        expect(bodyErr).toBeInstanceOf(aio.CancelledError);
      }
    });
  });

  test('timeout 0 with a task that needs time to clean up: waited for, then TimeoutError', async () => {
    await lc.runVirtual(async () => {
      let cleaned = false;
      const t = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } finally {
          await aio.sleep(0.01);
          cleaned = true;
        }
      });
      await aio.sleep(0);
      await expect(aio.waitFor(t, 0)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(cleaned).toBe(true);
      expect(t.cancelled()).toBe(true);
    });
  });

  test('timeout 0 with a task that ignores the cancellation: its result; its own error passes', async () => {
    await lc.runVirtual(async () => {
      const ignoring = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch {
          await aio.sleep(0.002);
          return 'ignored';
        }
        return 'not reached';
      });
      const ignoringGen = aio.createTask(function* () {
        try {
          yield* aio.sleep(10);
        } catch {
          return 'ignored gen';
        }
        return 'not reached';
      });
      const failing = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch {
          throw new SyntaxError('mine');
        }
      });
      await aio.sleep(0);
      expect(await aio.waitFor(ignoring, 0)).toBe('ignored');
      expect(await aio.waitFor(ignoringGen, -1)).toBe('ignored gen');
      await expect(aio.waitFor(failing, 0)).rejects.toBeInstanceOf(SyntaxError);
    });
  });

  test('timeout 0 with a Promise: TimeoutError (a Promise is wrapped, then the wrapper cancelled)', async () => {
    await lc.run(async () => {
      await expect(aio.waitFor(new Promise((r) => setTimeout(r, 50)), 0)).rejects.toBeInstanceOf(aio.TimeoutError);
      // Even one already resolved: its wrapper is not done yet (asyncio wraps an awaitable in a
      // Task, which is not done either).
      await expect(aio.waitFor(Promise.resolve(1), 0)).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('timeout 0: the awaiting task cancelled while the cancellation is under way: CancelledError at once', async () => {
    await lc.runVirtual(function* () {
      const loop = aio.getRunningLoop();
      // An async and a generator waiter; the awaited task takes 0.2 s to give up.
      const makeWaiters = (inner: aio.Task<string>): aio.Task<string>[] => [
        aio.createTask(async () => aio.waitFor(inner, 0)),
        aio.createTask(function* () {
          return yield* aio.waitFor(inner, 0);
        }),
      ];
      for (const which of [0, 1]) {
        const inner = aio.createTask(async () => {
          try {
            await aio.sleep(10);
          } catch {
            await aio.sleep(0.2);
          }
          return 'late';
        });
        yield* aio.sleep(0);
        const w = makeWaiters(inner)[which]!;
        const other = makeWaiters(inner)[1 - which]!;
        other.cancel(); // never started: a cancelled waitFor that did nothing
        yield* aio.sleep(0.01);
        expect(w.done()).toBe(false);
        const t0 = loop.time();
        w.cancel();
        while (!w.done()) yield* aio.sleep(0);
        expect(w.cancelled()).toBe(true);
        expect(loop.time() - t0).toBeLessThan(0.1);
        // The awaited task is still finishing; it ends with its own value.
        expect(inner.done()).toBe(false);
        expect(yield* inner).toBe('late');
        expect(other.cancelled()).toBe(true);
      }
    });
  });

  test('null timeout waits as long as needed', async () => {
    await lc.runVirtual(async () => {
      expect(await aio.waitFor(aio.sleep(0.02, 'late'), null)).toBe('late');
      expect(await aio.waitFor(async () => 'fn', null)).toBe('fn');
    });
  });

  test('cancelling the waiter cancels the inner (with and without timeout)', async () => {
    await lc.runVirtual(function* () {
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
    await lc.runVirtual(async () => {
      const inner = aio.createTask(() => aio.sleep(10));
      const w = aio.waitFor(inner, 10);
      await aio.sleep(0);
      w.cancel();
      await expect(w).rejects.toBeInstanceOf(aio.CancelledError);
      expect(inner.cancelled()).toBe(true);
    });
  });

  test('an inner that ignores cancellation at the deadline returns its value', async () => {
    await lc.runVirtual(async () => {
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
    await lc.runVirtual(async () => {
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
    await lc.runVirtual(function* () {
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
    await lc.runVirtual(async () => {
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
    await lc.runVirtual(async () => {
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
    await lc.runVirtual(async () => {
      let started = false;
      const coro = (function* () {
        started = true;
      })();
      expect(() => aio.waitFor(coro, NaN)).toThrow(RangeError);
      expect(() => aio.waitFor(coro, NaN)).toThrow(/timeout/);
      expect(() => aio.waitFor(coro, '1' as never)).toThrow(TypeError);
      expect(() => aio.waitFor(coro, '1' as never)).toThrow(/timeout/);
      expect(() => aio.waitFor(coro, 0n as never)).toThrow(TypeError);
      expect(() => aio.waitFor(42 as never, 0)).toThrow(TypeError);
      expect(() => aio.waitFor(42 as never, 1)).toThrow(TypeError);
      await aio.sleep(0);
      expect(started).toBe(false);
      expect(aio.allTasks().size).toBe(1);
    });
  });
});
