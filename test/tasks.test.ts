// Task behaviour (CPython test_tasks.py, translated): both coroutine forms, step order,
// cancellation in every state, names, currentTask/allTasks, ensureFuture, bad yields, sleep,
// gather, wait, asCompleted, shield.
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

/** Lets `n` loop iterations pass. */
function* spin(n: number): aio.Coro<void> {
  for (let i = 0; i < n; i++) yield* aio.sleep(0);
}

eachLoop((lc) => {
  // --- both forms -------------------------------------------------------------------------------

  test('a generator task and an async task return their results', async () => {
    const r = await lc.runVirtual(function* () {
      const a = aio.createTask(function* () {
        yield* aio.sleep(0.001);
        return 'gen';
      });
      const b = aio.createTask(async () => {
        await aio.sleep(0.001);
        return 'async';
      });
      return [yield* a, yield* b];
    });
    expect(r).toEqual(['gen', 'async']);
  });

  test('a generator object, a generator function and a plain function returning a generator', async () => {
    function* g(x: number): aio.Coro<number> {
      yield* aio.sleep(0);
      return x;
    }
    const r = await lc.run(async () => {
      const t1 = aio.createTask(g(1));
      const t2 = aio.createTask(function* () {
        return yield* g(2);
      });
      const t3 = aio.createTask(() => g(3));
      return [await t1, await t2, await t3];
    });
    expect(r).toEqual([1, 2, 3]);
  });

  test('exceptions thrown by either form fail the task', async () => {
    await lc.run(async () => {
      const a = aio.createTask(function* (): aio.Coro<void> {
        yield* aio.sleep(0);
        throw new Error('gen failed');
      });
      const b = aio.createTask(async () => {
        await aio.sleep(0);
        throw new Error('async failed');
      });
      await expect(a).rejects.toThrow('gen failed');
      await expect(b).rejects.toThrow('async failed');
      expect((a.exception() as Error).message).toBe('gen failed');
      expect(b.done()).toBe(true);
    });
  });

  test('an async function throwing synchronously before any await fails the task', async () => {
    await lc.run(async () => {
      const t = aio.createTask(() => {
        throw new Error('sync');
      });
      await expect(t).rejects.toThrow('sync');
    });
  });

  test('a function returning neither a coroutine nor a Promise fails with TypeError', async () => {
    await lc.run(async () => {
      const t = aio.createTask((() => 42) as never);
      await expect(t).rejects.toBeInstanceOf(TypeError);
    });
  });

  test('a task does not start until the loop steps it', async () => {
    await lc.run(function* () {
      let started = false;
      const t = aio.createTask(async () => {
        started = true;
      });
      const g = aio.createTask(function* () {
        started = true;
        yield* aio.sleep(0);
      });
      expect(started).toBe(false);
      yield* aio.sleep(0);
      expect(started).toBe(true);
      yield* t;
      yield* g;
    });
  });

  // --- step order -------------------------------------------------------------------------------

  test('an async step runs to its real suspension before the next ready callback', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const t = aio.createTask(async () => {
        order.push('t1');
        await Promise.resolve();
        order.push('t2');
        await null;
        order.push('t3');
        await aio.sleep(0);
        order.push('t4');
      });
      loop.callSoon(() => order.push('cb'));
      yield* t;
    });
    expect(order).toEqual(['t1', 't2', 't3', 'cb', 't4']);
  });

  test('awaiting an already-done future lets no callback run first (both forms)', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const done = loop.createFuture<number>();
      done.setResult(1);
      const a = aio.createTask(async () => {
        order.push('a1');
        await done;
        order.push('a2');
        await done;
        order.push('a3');
      });
      const b = aio.createTask(function* () {
        order.push('b1');
        yield* done;
        order.push('b2');
      });
      loop.callSoon(() => order.push('cb'));
      yield* a;
      yield* b;
    });
    expect(order).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'cb']);
  });

  test('tasks interleave in FIFO order at each sleep(0)', async () => {
    const order: string[] = [];
    await lc.run(async () => {
      const mk = (n: string) =>
        aio.createTask(async () => {
          for (let i = 0; i < 3; i++) {
            order.push(`${n}${i}`);
            await aio.sleep(0);
          }
        });
      const mkg = (n: string) =>
        aio.createTask(function* () {
          for (let i = 0; i < 3; i++) {
            order.push(`${n}${i}`);
            yield* aio.sleep(0);
          }
        });
      await aio.gather(mk('a'), mkg('b'), mk('c'));
    });
    expect(order).toEqual(['a0', 'b0', 'c0', 'a1', 'b1', 'c1', 'a2', 'b2', 'c2']);
  });

  test('sleep(0) yields exactly one loop iteration (both forms)', async () => {
    for (const form of ['gen', 'async'] as const) {
      const seen: string[] = [];
      await lc.run(function* () {
        const loop = aio.getRunningLoop();
        const t = form === 'gen'
          ? aio.createTask(function* () {
              loop.callSoon(() => seen.push('A'));
              loop.callSoon(() => loop.callSoon(() => seen.push('C')));
              yield* aio.sleep(0);
              seen.push('after');
            })
          : aio.createTask(async () => {
              loop.callSoon(() => seen.push('A'));
              loop.callSoon(() => loop.callSoon(() => seen.push('C')));
              await aio.sleep(0);
              seen.push('after');
            });
        yield* t;
        yield* aio.sleep(0);
      });
      expect(seen, form).toEqual(['A', 'after', 'C']);
    }
  });

  test('sleep returns its result in both forms; sleep(-1) and sleep(0) too', async () => {
    const r = await lc.runVirtual(async () => {
      const a = await aio.sleep(0.001, 'x');
      const b = await aio.sleep(0, 'y');
      const c = await aio.sleep(-1, 'z');
      const d = await aio.createTask(function* () {
        return [yield* aio.sleep(0.001, 1), yield* aio.sleep(0, 2)];
      });
      return [a, b, c, d];
    });
    expect(r).toEqual(['x', 'y', 'z', [1, 2]]);
  });

  test('sleep waits at least the delay by loop time', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const t0 = loop.time();
      yield* aio.sleep(0.05);
      expect(loop.time() - t0).toBeGreaterThanOrEqual(0.05 - 1e-9);
    });
  });

  test('sleep(0) future observed by a done callback still settles', async () => {
    await lc.run(function* () {
      const s = aio.sleep(0, 'v');
      let got: unknown;
      s.addDoneCallback((f) => (got = f.result()));
      yield* aio.sleep(0);
      yield* aio.sleep(0);
      expect(got).toBe('v');
    });
  });

  test('a sleep future iterated twice gives its value both times', async () => {
    await lc.run(function* () {
      const s = aio.sleep(0, 5);
      const a = yield* s;
      const b = yield* s;
      expect([a, b]).toEqual([5, 5]);
    });
  });

  // --- cancellation -----------------------------------------------------------------------------

  test('cancel before start: the coroutine never runs (both forms)', async () => {
    await lc.run(function* () {
      let ran = 0;
      const a = aio.createTask(async () => {
        ran++;
      });
      const b = aio.createTask(function* () {
        ran++;
        yield* aio.sleep(0);
      });
      expect(a.cancel()).toBe(true);
      expect(b.cancel()).toBe(true);
      yield* spin(2);
      expect(ran).toBe(0);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
    });
  });

  test('cancel while waiting throws CancelledError at the await (both forms)', async () => {
    await lc.runVirtual(function* () {
      const log: string[] = [];
      const a = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch (e) {
          log.push(`a:${(e as Error).name}`);
          throw e;
        }
      });
      const b = aio.createTask(function* () {
        try {
          yield* aio.sleep(10);
        } catch (e) {
          log.push(`b:${(e as Error).name}`);
          throw e;
        }
      });
      yield* aio.sleep(0);
      a.cancel();
      b.cancel();
      yield* spin(2);
      expect(log.sort()).toEqual(['a:CancelledError', 'b:CancelledError']);
      expect(a.cancelled() && b.cancelled()).toBe(true);
    });
  });

  test('awaiting a cancelled task throws CancelledError', async () => {
    await lc.runVirtual(async () => {
      const t = aio.createTask(() => aio.sleep(10));
      await aio.sleep(0);
      t.cancel();
      await expect(t).rejects.toBeInstanceOf(aio.CancelledError);
      expect(() => t.result()).toThrow(aio.CancelledError);
    });
  });

  test('cancel messages reach the coroutine and the task result (both forms)', async () => {
    await lc.runVirtual(function* () {
      const msgs: string[] = [];
      const a = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch (e) {
          msgs.push((e as Error).message);
          throw e;
        }
      });
      const b = aio.createTask(function* () {
        try {
          yield* aio.sleep(10);
        } catch (e) {
          msgs.push((e as Error).message);
          throw e;
        }
      });
      yield* aio.sleep(0);
      a.cancel('stop a');
      b.cancel('stop b');
      yield* spin(2);
      expect(msgs.sort()).toEqual(['stop a', 'stop b']);
      expect(() => a.result()).toThrow('stop a');
      expect(() => b.result()).toThrow('stop b');
    });
  });

  test('cancel message when cancelled before start', async () => {
    await lc.run(function* () {
      const a = aio.createTask(async () => 1);
      const b = aio.createTask(function* () {
        return 1;
      });
      a.cancel('early a');
      b.cancel('early b');
      yield* spin(1);
      expect(() => a.result()).toThrow('early a');
      expect(() => b.result()).toThrow('early b');
    });
  });

  test('a coroutine that catches CancelledError and continues returns normally', async () => {
    const r = await lc.runVirtual(function* () {
      const a = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch (e) {
          if (!(e instanceof aio.CancelledError)) throw e;
        }
        await aio.sleep(0);
        return 'a survived';
      });
      const b = aio.createTask(function* () {
        try {
          yield* aio.sleep(10);
        } catch (e) {
          if (!(e instanceof aio.CancelledError)) throw e;
        }
        yield* aio.sleep(0);
        return 'b survived';
      });
      yield* aio.sleep(0);
      a.cancel();
      b.cancel();
      return [yield* a, yield* b, a.cancelled(), a.cancelling(), b.cancelling()];
    });
    expect(r).toEqual(['a survived', 'b survived', false, 1, 1]);
  });

  test('cancel racing completion: the awaited future is done but the task not yet resumed', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const fa = loop.createFuture<number>();
      const fb = loop.createFuture<number>();
      const log: string[] = [];
      const a = aio.createTask(async () => {
        try {
          return await fa;
        } catch (e) {
          log.push(`a:${(e as Error).name}`);
          throw e;
        }
      });
      const b = aio.createTask(function* () {
        try {
          return yield* fb;
        } catch (e) {
          log.push(`b:${(e as Error).name}`);
          throw e;
        }
      });
      yield* aio.sleep(0);
      fa.setResult(1);
      fb.setResult(2);
      // Both tasks are queued to resume with a result; cancellation wins (asyncio's order).
      expect(a.cancel()).toBe(true);
      expect(b.cancel()).toBe(true);
      yield* spin(3);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
      expect(log.sort()).toEqual(['a:CancelledError', 'b:CancelledError']);
    });
  });

  test('cancel after the task finished returns false', async () => {
    await lc.run(async () => {
      const t = aio.createTask(async () => 3);
      expect(await t).toBe(3);
      expect(t.cancel()).toBe(false);
      expect(t.cancelling()).toBe(0);
      expect(t.result()).toBe(3);
    });
  });

  test('a task cancelling itself is cancelled at its next await (both forms)', async () => {
    await lc.runVirtual(function* () {
      const a = aio.createTask(async () => {
        aio.currentTask()!.cancel();
        await aio.sleep(0);
        return 'not reached';
      });
      const b = aio.createTask(function* () {
        aio.currentTask()!.cancel();
        yield* aio.sleep(0.001);
        return 'not reached';
      });
      yield* spin(3);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
    });
  });

  test('a task cancelled then returning without awaiting ends cancelled', async () => {
    await lc.run(function* () {
      const a = aio.createTask(async () => {
        aio.currentTask()!.cancel();
        return 1;
      });
      const b = aio.createTask(function* (): aio.Coro<number> {
        aio.currentTask()!.cancel();
        return 1;
      });
      yield* spin(2);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
    });
  });

  test('cancellation requested during a foreign await is delivered at the next loop await', async () => {
    await lc.run(function* () {
      const log: string[] = [];
      const t = aio.createTask(async () => {
        await new Promise((r) => setTimeout(r, 150));
        log.push('foreign done');
        try {
          await aio.sleep(0);
        } catch (e) {
          log.push((e as Error).name);
          throw e;
        }
      });
      yield* aio.sleep(0.005);
      t.cancel();
      while (!t.done()) yield* aio.sleep(0.005);
      expect(log).toEqual(['foreign done', 'CancelledError']);
      expect(t.cancelled()).toBe(true);
    });
  });

  test('cancel reaches the task\'s own await even when a helper inside it awaited later', async () => {
    await lc.runVirtual(function* () {
      const rejections: unknown[] = [];
      let helperErr: unknown;
      const t = aio.createTask(async () => {
        // A detached helper running in the task: it starts awaiting after the task's own await.
        void (async () => {
          await Promise.resolve();
          try {
            await aio.sleep(10);
          } catch (e) {
            helperErr = e;
          }
        })().catch((e) => rejections.push(e));
        await aio.sleep(10);
        return 'not cancelled';
      });
      yield* aio.sleep(0.002);
      expect(t.cancel()).toBe(true);
      yield* spin(4);
      expect(t.cancelled()).toBe(true);
      expect(rejections).toEqual([]);
      // The helper ran in the task and awaited at the same time: it is cancelled with it.
      expect(helperErr).toBeInstanceOf(aio.CancelledError);
    });
  });

  test('cancel while awaiting Promise.allSettled of two loop futures is not lost', async () => {
    await lc.runVirtual(function* () {
      const t = aio.createTask(async () => {
        const r = await Promise.allSettled([aio.sleep(10), aio.sleep(10)]);
        // Both waits were cancelled: the task saw the cancellation (and may end cancelled).
        if (r.every((x) => x.status === 'rejected')) throw (r[0] as PromiseRejectedResult).reason;
        return 'lost';
      });
      yield* aio.sleep(0.002);
      t.cancel();
      yield* spin(4);
      expect(t.cancelled()).toBe(true);
    });
  });

  test('cancelling a task that awaits another task cancels that task too', async () => {
    await lc.runVirtual(function* () {
      const inner = aio.createTask(() => aio.sleep(10));
      const outer = aio.createTask(async () => await inner);
      yield* spin(2);
      outer.cancel();
      yield* spin(3);
      expect(inner.cancelled()).toBe(true);
      expect(outer.cancelled()).toBe(true);
    });
  });

  test('cancelling() counts requests; uncancel() takes them back', async () => {
    await lc.runVirtual(function* () {
      let caught = 0;
      const t = aio.createTask(function* () {
        for (;;) {
          try {
            yield* aio.sleep(10);
          } catch (e) {
            caught++;
            if (aio.currentTask()!.uncancel() === 0) break;
          }
        }
        return 'done';
      });
      yield* aio.sleep(0);
      expect(t.cancelling()).toBe(0);
      t.cancel();
      t.cancel();
      expect(t.cancelling()).toBe(2);
      yield* spin(3);
      // Two requests before the task ran deliver one CancelledError (asyncio's behaviour).
      expect(caught).toBe(1);
      expect(t.done()).toBe(false);
      expect(t.cancelling()).toBe(1);
      expect(t.uncancel()).toBe(0);
      t.cancel();
      yield* spin(3);
      expect(caught).toBe(2);
      expect(yield* t).toBe('done');
      expect(t.uncancel()).toBe(0);
    });
  });

  test('uncancel before the task is stepped keeps it from being cancelled', async () => {
    await lc.run(function* () {
      const t = aio.createTask(function* () {
        yield* aio.sleep(0);
        return 'ok';
      });
      t.cancel();
      expect(t.uncancel()).toBe(0);
      expect(yield* t).toBe('ok');
    });
  });

  test('task.signal aborts on cancel with a CancelledError reason', async () => {
    await lc.runVirtual(function* () {
      let sig!: AbortSignal;
      const t = aio.createTask(async () => {
        sig = aio.currentTask()!.signal;
        await aio.sleep(10);
      });
      yield* aio.sleep(0);
      expect(sig.aborted).toBe(false);
      t.cancel('bye');
      expect(sig.aborted).toBe(true);
      expect(sig.reason).toBeInstanceOf(aio.CancelledError);
      expect((sig.reason as Error).message).toBe('bye');
      const late = aio.createTask(() => aio.sleep(10));
      late.cancel();
      expect(late.signal.aborted).toBe(true);
      yield* spin(2);
    });
  });

  test('task.signal cancels a foreign AbortSignal-aware wait', async () => {
    await lc.run(function* () {
      const t = aio.createTask(async () => {
        const sig = aio.currentTask()!.signal;
        await new Promise((_, reject) => {
          const h = setTimeout(() => reject(new Error('not aborted')), 5000);
          sig.addEventListener('abort', () => {
            clearTimeout(h);
            reject(sig.reason);
          });
        });
      });
      yield* aio.sleep(0.005);
      t.cancel();
      while (!t.done()) yield* aio.sleep(0.005);
      expect(t.cancelled()).toBe(true);
    });
  });

  test('cancel() ends tasks that await each other in a cycle (no infinite recursion), both forms', async () => {
    const r = await lc.runVirtual(async () => {
      // Generator tasks: A yields B, B yields A.
      let gb!: aio.Task<unknown>;
      const ga: aio.Task<unknown> = aio.createTask(function* () {
        yield* aio.sleep(0);
        return yield* gb;
      });
      gb = aio.createTask(function* () {
        yield* aio.sleep(0);
        return yield* ga;
      });
      // Async tasks: A awaits B, B awaits C, C awaits A.
      const at: aio.Task<unknown>[] = [];
      for (let i = 0; i < 3; i++) {
        at.push(
          aio.createTask(async () => {
            await aio.sleep(0);
            return await at[(i + 1) % 3];
          }),
        );
      }
      await aio.sleep(0.01);
      expect(ga.cancel('stop')).toBe(true);
      expect(at[1]!.cancel()).toBe(true);
      // Cancelling again while the first request is under way is still accepted.
      expect(at[1]!.cancel()).toBe(true);
      const [done, pending] = await aio.wait([ga, gb, ...at], { timeout: 1 });
      expect(pending.size).toBe(0);
      expect(done.size).toBe(5);
      return { g: [ga.cancelled(), gb.cancelled()], a: at.map((t) => t.cancelled()), counts: [ga.cancelling(), gb.cancelling()] };
    });
    expect(r.g).toEqual([true, true]);
    expect(r.a).toEqual([true, true, true]);
    expect(r.counts).toEqual([1, 1]);
  });

  test('cancel() ends a wait cycle through gather, and a task that catches it can go on', async () => {
    const r = await lc.runVirtual(async () => {
      const other = aio.createTask(() => aio.sleep(10));
      let b!: aio.Task<unknown>;
      // A awaits gather(B, other); B awaits A. A catches the cancellation and returns.
      const a = aio.createTask(async () => {
        await aio.sleep(0);
        try {
          await aio.gather(b, other);
          return 'not reached';
        } catch (e) {
          expect(e).toBeInstanceOf(aio.CancelledError);
          expect(aio.currentTask()!.uncancel()).toBe(0);
          await aio.sleep(0.001);
          return 'caught';
        }
      });
      b = aio.createTask(function* () {
        yield* aio.sleep(0);
        return yield* a;
      });
      await aio.sleep(0.01);
      expect(a.cancel()).toBe(true);
      const [, pending] = await aio.wait([a, b, other], { timeout: 1 });
      expect(pending.size).toBe(0);
      return [a.result(), b.result(), other.cancelled()];
    });
    expect(r).toEqual(['caught', 'caught', true]);
  });

  // --- names, coro, currentTask, allTasks ---------------------------------------------------------

  test('names: default Task-<n>, option, setName', async () => {
    await lc.run(async () => {
      const a = aio.createTask(async () => {});
      const b = aio.createTask(async () => {}, { name: 'bee' });
      expect(a.getName()).toMatch(/^Task-\d+$/);
      expect(b.getName()).toBe('bee');
      b.setName('wasp');
      expect(b.getName()).toBe('wasp');
      expect(String(b)).toContain('wasp');
      const c = aio.createTask(async () => {});
      const n = (s: string) => Number(s.slice(5));
      expect(n(c.getName())).toBeGreaterThan(n(a.getName()));
      await aio.gather(a, b, c);
    });
  });

  test('getCoro returns the generator or the function', async () => {
    await lc.run(async () => {
      function* g(): aio.Coro<void> {}
      const coro = g();
      const fn = async () => {};
      const a = aio.createTask(coro);
      const b = aio.createTask(fn);
      expect(a.getCoro()).toBe(coro);
      expect(b.getCoro()).toBe(fn);
      await aio.gather(a, b);
      expect(b.getCoro()).toBe(fn);
    });
  });

  test('currentTask inside both forms, also after a foreign Promise', async () => {
    await lc.run(function* () {
      const seen: [string, boolean][] = [];
      const a = aio.createTask(async () => {
        const me = aio.currentTask();
        seen.push(['a0', me === a]);
        await aio.sleep(0);
        seen.push(['a1', aio.currentTask() === a]);
        await new Promise((r) => setTimeout(r, 1));
        seen.push(['a2', aio.currentTask() === a]);
        await Promise.resolve();
        seen.push(['a3', aio.currentTask() === a]);
      });
      const b = aio.createTask(function* () {
        seen.push(['b0', aio.currentTask() === b]);
        yield* aio.sleep(0);
        seen.push(['b1', aio.currentTask() === b]);
      });
      yield* a;
      yield* b;
      expect(seen.filter(([, ok]) => !ok)).toEqual([]);
      expect(seen).toHaveLength(6);
    });
  });

  test('currentTask is null in a plain callback and outside the loop', async () => {
    let inCb: unknown = 'unset';
    await lc.run(function* () {
      aio.getRunningLoop().callSoon(() => (inCb = aio.currentTask()));
      yield* aio.sleep(0);
    });
    expect(inCb).toBeNull();
    expect(aio.currentTask()).toBeNull();
  });

  test('currentTask in a callback scheduled from an async task is null', async () => {
    let inCb: unknown = 'unset';
    await lc.run(async () => {
      aio.getRunningLoop().callSoon(() => (inCb = aio.currentTask()));
      await aio.sleep(0);
    });
    expect(inCb).toBeNull();
  });

  test('allTasks lists the tasks not done yet', async () => {
    await lc.runVirtual(function* () {
      const main = aio.currentTask()!;
      const a = aio.createTask(() => aio.sleep(0.01));
      const b = aio.createTask(function* () {
        yield* aio.sleep(0);
      });
      const all = aio.allTasks();
      expect(all.has(main)).toBe(true);
      expect(all.has(a)).toBe(true);
      expect(all.has(b)).toBe(true);
      yield* b;
      expect(aio.allTasks().has(b)).toBe(false);
      a.cancel();
      yield* spin(2);
      expect(aio.allTasks().has(a)).toBe(false);
      expect(aio.allTasks()).toEqual(new Set([main]));
    });
  });

  // --- ensureFuture and createTask on every CoroLike ---------------------------------------------

  test('ensureFuture on every CoroLike kind', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      expect(aio.ensureFuture(f)).toBe(f);
      const t = aio.createTask(async () => 1);
      expect(aio.ensureFuture(t)).toBe(t);
      function* g(): aio.Coro<number> {
        return 2;
      }
      const fromGen = aio.ensureFuture(g());
      const fromGenFn = aio.ensureFuture(g);
      const fromAsync = aio.ensureFuture(async () => 3);
      const fromPromise = aio.ensureFuture(Promise.resolve(4));
      const fromThenable = aio.ensureFuture({ then: (ok: (v: number) => void) => ok(5) } as PromiseLike<number>);
      expect(fromGen).toBeInstanceOf(aio.Task);
      expect(fromAsync).toBeInstanceOf(aio.Task);
      expect(fromPromise).toBeInstanceOf(aio.Future);
      f.setResult(0);
      expect(await aio.gather(f, t, fromGen, fromGenFn, fromAsync, fromPromise, fromThenable)).toEqual([0, 1, 2, 2, 3, 4, 5]);
    });
  });

  test('ensureFuture rejects a non-awaitable with TypeError', async () => {
    await lc.run(async () => {
      expect(() => aio.ensureFuture(42 as never)).toThrow(TypeError);
      expect(() => aio.ensureFuture('x' as never)).toThrow(TypeError);
      expect(() => aio.ensureFuture(null as never)).toThrow(TypeError);
    });
  });

  test('ensureFuture with a future of another loop and an explicit loop throws', async () => {
    const other = lc.newLoop();
    const f = other.createFuture();
    await lc.run(async () => {
      expect(() => aio.ensureFuture(f, aio.getRunningLoop())).toThrow(/different loop/);
    });
    other.close();
  });

  test('createTask with a Future or a Promise awaits it; cancel cancels the future', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      const t = aio.createTask(f);
      const p = aio.createTask(Promise.resolve(8));
      expect(t).toBeInstanceOf(aio.Task);
      loop.callSoon(() => f.setResult(7));
      expect(await t).toBe(7);
      expect(await p).toBe(8);
      const g = loop.createFuture<number>();
      const tg = aio.createTask(g);
      await aio.sleep(0);
      tg.cancel();
      await aio.sleep(0);
      expect(g.cancelled()).toBe(true);
    });
  });

  test('awaiting a future of another loop fails the task', async () => {
    const other = lc.newLoop();
    const f = other.createFuture();
    await lc.run(async () => {
      const a = aio.createTask(function* () {
        yield* f;
      });
      const b = aio.createTask(async () => {
        await f;
      });
      await expect(a).rejects.toThrow(/different loop/);
      await expect(b).rejects.toThrow(/different loop/);
    });
    other.close();
  });

  test('a task awaiting itself fails', async () => {
    await lc.run(async () => {
      const a: aio.Task<void> = aio.createTask(function* () {
        yield* a;
      });
      await expect(a).rejects.toThrow(/itself/);
      const b: aio.Task<void> = aio.createTask(async () => {
        await b;
      });
      await expect(b).rejects.toThrow(/itself/);
    });
  });

  // --- bad yields ---------------------------------------------------------------------------------

  test('a generator yielding a number gets a TypeError thrown in', async () => {
    await lc.run(async () => {
      const t = aio.createTask(function* (): aio.Coro<string> {
        try {
          yield 42 as never;
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
        return 'no error';
      });
      const r = await t;
      expect(r).toMatch(/^TypeError: .*bad yield.*42/);
    });
  });

  test('a generator yielding a Promise gets a TypeError with a hint', async () => {
    await lc.run(async () => {
      const t = aio.createTask(function* () {
        yield Promise.resolve(1) as never;
      });
      await expect(t).rejects.toThrow(/ensureFuture/);
      await expect(t).rejects.toBeInstanceOf(TypeError);
    });
  });

  test('a bare yield in a generator task means run again next iteration', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      aio.getRunningLoop().callSoon(() => order.push('cb'));
      yield;
      order.push('after');
    });
    expect(order).toEqual(['cb', 'after']);
  });

  test('Task does not support setResult/setException', async () => {
    await lc.run(async () => {
      const t = aio.createTask(async () => 1);
      expect(() => t.setResult(2)).toThrow();
      expect(() => t.setException(new Error())).toThrow();
      await t;
    });
  });

  // --- gather ---------------------------------------------------------------------------------------

  test('gather keeps argument order, not completion order', async () => {
    const r = await lc.runVirtual(() =>
      aio.gather(aio.sleep(0.02, 'slow'), async () => {
        await aio.sleep(0.001);
        return 'fast';
      }, (function* () {
        return 'now';
      })()),
    );
    expect(r).toEqual(['slow', 'fast', 'now']);
  });

  test('gather with an array and options', async () => {
    const r = await lc.run(async () => aio.gather([aio.sleep(0, 1), aio.sleep(0, 2)], { returnExceptions: false }));
    expect(r).toEqual([1, 2]);
  });

  test('gather() of nothing resolves to []', async () => {
    const r = await lc.run(async () => [await aio.gather(), await aio.gather([])]);
    expect(r).toEqual([[], []]);
  });

  test('gather fails with the first exception; the others keep running', async () => {
    await lc.runVirtual(async () => {
      let otherDone = false;
      const other = aio.createTask(async () => {
        await aio.sleep(0.01);
        otherDone = true;
      });
      const g = aio.gather(other, async () => {
        throw new Error('first');
      });
      await expect(g).rejects.toThrow('first');
      expect(other.done()).toBe(false);
      await other;
      expect(otherDone).toBe(true);
    });
  });

  test('gather with returnExceptions collects errors and cancellations as results', async () => {
    await lc.runVirtual(async () => {
      const c = aio.createTask(() => aio.sleep(10));
      const r = aio.gather(
        [
          async () => {
            throw new Error('e1');
          },
          aio.sleep(0, 'ok'),
          c,
        ],
        { returnExceptions: true },
      );
      await aio.sleep(0);
      c.cancel('cc');
      const res = await r;
      expect((res[0] as Error).message).toBe('e1');
      expect(res[1]).toBe('ok');
      expect(res[2]).toBeInstanceOf(aio.CancelledError);
      expect((res[2] as Error).message).toBe('cc');
    });
  });

  test('cancelling the gather cancels every child and the awaiter gets CancelledError', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10));
      const b = aio.createTask(function* () {
        yield* aio.sleep(10);
      });
      const g = aio.gather(a, b);
      await aio.sleep(0);
      expect(g.cancel()).toBe(true);
      await expect(g).rejects.toBeInstanceOf(aio.CancelledError);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
    });
  });

  test('cancelling a task awaiting gather cancels the children', async () => {
    await lc.runVirtual(function* () {
      const a = aio.createTask(() => aio.sleep(10));
      const b = aio.createTask(() => aio.sleep(10));
      const waiter = aio.createTask(async () => aio.gather(a, b));
      yield* spin(2);
      waiter.cancel();
      yield* spin(3);
      expect(a.cancelled() && b.cancelled()).toBe(true);
      expect(waiter.cancelled()).toBe(true);
    });
  });

  test('a cancelled child makes gather throw CancelledError', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10));
      const b = aio.createTask(() => aio.sleep(0.001, 'b'));
      const g = aio.gather(a, b);
      await aio.sleep(0);
      a.cancel();
      await expect(g).rejects.toBeInstanceOf(aio.CancelledError);
      expect(b.cancelled()).toBe(false);
      expect(await b).toBe('b');
    });
  });

  test('gather cancelled with returnExceptions still throws CancelledError', async () => {
    await lc.runVirtual(async () => {
      const g = aio.gather([aio.sleep(10), aio.sleep(10)], { returnExceptions: true });
      await aio.sleep(0);
      g.cancel();
      await expect(g).rejects.toBeInstanceOf(aio.CancelledError);
    });
  });

  test('gather cancel after the children finished returns false', async () => {
    await lc.run(async () => {
      const g = aio.gather(aio.sleep(0, 1));
      await g;
      expect(g.cancel()).toBe(false);
    });
  });

  test('the same coroutine object twice is one child; the same function twice runs twice', async () => {
    await lc.run(async () => {
      let runs = 0;
      function* g(): aio.Coro<number> {
        runs++;
        yield* aio.sleep(0);
        return runs;
      }
      const coro = g();
      const r = await aio.gather(coro, coro);
      expect(r).toEqual([1, 1]);
      expect(runs).toBe(1);
      let calls = 0;
      const fn = async () => ++calls;
      const r2 = await aio.gather(fn, fn);
      expect(r2.sort()).toEqual([1, 2]);
    });
  });

  test('the same future twice in gather', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      aio.getRunningLoop().callSoon(() => f.setResult(4));
      expect(await aio.gather(f, f, f)).toEqual([4, 4, 4]);
    });
  });

  test('gather is yield*-able and await-able', async () => {
    const r = await lc.run(function* () {
      const a = yield* aio.gather(aio.sleep(0, 1));
      return a;
    });
    expect(r).toEqual([1]);
  });

  test('gather with a number is a TypeError', async () => {
    await lc.run(async () => {
      expect(() => aio.gather(5 as never)).toThrow(TypeError);
    });
  });

  // --- wait -----------------------------------------------------------------------------------------

  test('wait ALL_COMPLETED returns every future done', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(0.01, 'a'));
      const b = aio.createTask(() => aio.sleep(0.001, 'b'));
      const [done, pending] = await aio.wait([a, b]);
      expect(done).toEqual(new Set([a, b]));
      expect(pending.size).toBe(0);
    });
  });

  test('wait FIRST_COMPLETED returns after the first', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10, 'a'));
      const b = aio.createTask(() => aio.sleep(0.001, 'b'));
      const [done, pending] = await aio.wait([a, b], { returnWhen: aio.FIRST_COMPLETED });
      expect(done).toEqual(new Set([b]));
      expect(pending).toEqual(new Set([a]));
      a.cancel();
    });
  });

  test('wait FIRST_EXCEPTION returns on the first failure, or when all are done', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10));
      const b = aio.createTask(async () => {
        await aio.sleep(0.001);
        throw new Error('b');
      });
      const [done, pending] = await aio.wait([a, b], { returnWhen: aio.FIRST_EXCEPTION });
      expect(done).toEqual(new Set([b]));
      expect(pending).toEqual(new Set([a]));
      a.cancel();
      const c = aio.createTask(() => aio.sleep(0.001, 1));
      const d = aio.createTask(() => aio.sleep(0.002, 2));
      const [done2, pending2] = await aio.wait([c, d], { returnWhen: aio.FIRST_EXCEPTION });
      expect(done2.size).toBe(2);
      expect(pending2.size).toBe(0);
    });
  });

  test('wait FIRST_EXCEPTION with an already failed future returns at once', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture();
      f.setException(new Error('pre'));
      const a = aio.createTask(() => aio.sleep(10));
      const [done, pending] = await aio.wait([f, a], { returnWhen: aio.FIRST_EXCEPTION });
      expect(done).toEqual(new Set([f]));
      expect(pending).toEqual(new Set([a]));
      a.cancel();
    });
  });

  test('wait with a timeout leaves the rest pending and does not cancel them', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10));
      const b = aio.createTask(() => aio.sleep(0.001));
      const [done, pending] = await aio.wait([a, b], { timeout: 0.02 });
      expect(done).toEqual(new Set([b]));
      expect(pending).toEqual(new Set([a]));
      expect(a.cancelled()).toBe(false);
      a.cancel();
    });
  });

  test('wait with a timeout of 0 or less: [done, pending] after one iteration; nothing cancelled, nothing thrown', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      for (const timeout of [0, -1, -Infinity]) {
        for (const returnWhen of [aio.ALL_COMPLETED, aio.FIRST_COMPLETED, aio.FIRST_EXCEPTION] as const) {
          const what = `timeout ${timeout}, ${returnWhen}`;
          // Nothing done: all pending, none cancelled.
          const f = loop.createFuture<number>();
          const t = aio.createTask(() => aio.sleep(10));
          const [done, pending] = await aio.wait<unknown>([f, t], { timeout, returnWhen });
          expect(done.size, what).toBe(0);
          expect(pending, what).toEqual(new Set([f, t]));
          expect(f.cancelled() || t.cancelled(), what).toBe(false);
          // Some done (a result, an error, a cancellation), some pending.
          const ok = loop.createFuture<number>();
          ok.setResult(1);
          const bad = loop.createFuture<number>();
          bad.setException(new Error('bad'));
          const gone = loop.createFuture<number>();
          gone.cancel();
          const [done2, pending2] = await aio.wait<unknown>([ok, bad, gone, f, t], { timeout, returnWhen });
          expect(done2, what).toEqual(new Set([ok, bad, gone]));
          expect(pending2, what).toEqual(new Set([f, t]));
          // Everything done already.
          const [done3, pending3] = await aio.wait<unknown>([ok, bad, gone], { timeout, returnWhen });
          expect(done3, what).toEqual(new Set([ok, bad, gone]));
          expect(pending3.size, what).toBe(0);
          expect(f.done() || t.done(), what).toBe(false);
          t.cancel();
        }
      }
    });
  });

  test('wait with a timeout of 0 gives what finished during its one iteration', async () => {
    await lc.runVirtual(function* () {
      // Coroutines wrapped by wait start before its timer fires: done if they do not suspend.
      const [done, pending] = yield* aio.wait<unknown>([async () => 'now', aio.sleep(10)], { timeout: 0 });
      expect([...done].map((x) => x.result())).toEqual(['now']);
      expect(pending.size).toBe(1);
      for (const p of pending) p.cancel();
    });
  });

  test('wait with everything done still returns through the loop, not in its first step', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const ok = loop.createFuture<number>();
      ok.setResult(1);
      for (const options of [{}, { timeout: 0 }, { returnWhen: aio.FIRST_COMPLETED }, { returnWhen: aio.FIRST_EXCEPTION }] as const) {
        const w = aio.wait([ok], options);
        // Scheduled after w's first step: asyncio's _wait is still awaiting its waiter then.
        let doneAfterFirstStep: boolean | null = null;
        loop.callSoon(() => (doneAfterFirstStep = w.done()));
        const [done, pending] = yield* w;
        expect(doneAfterFirstStep).toBe(false);
        expect(done).toEqual(new Set([ok]));
        expect(pending.size).toBe(0);
      }
    });
  });

  test('wait: a NaN timeout is a RangeError naming it; a negative one is allowed', async () => {
    await lc.runVirtual(async () => {
      expect(() => aio.wait([aio.getRunningLoop().createFuture()], { timeout: NaN })).toThrow(RangeError);
      expect(() => aio.wait([aio.getRunningLoop().createFuture()], { timeout: NaN })).toThrow(/timeout/);
      expect(() => aio.wait([aio.getRunningLoop().createFuture()], { timeout: 1n as never })).toThrow(TypeError);
      const f = aio.getRunningLoop().createFuture();
      const [, pending] = await aio.wait([f], { timeout: -5 });
      expect(pending).toEqual(new Set([f]));
    });
  });

  test('wait accepts coroutines and returns their tasks', async () => {
    await lc.run(function* () {
      const [done] = yield* aio.wait([aio.sleep(0, 1), async () => 2]);
      const results = [...done].map((f) => f.result()).sort();
      expect(results).toEqual([1, 2]);
    });
  });

  test('wait with the same coroutine twice runs it once', async () => {
    await lc.run(async () => {
      let runs = 0;
      const coro = (function* () {
        runs++;
        yield* aio.sleep(0);
      })();
      const [done] = await aio.wait([coro, coro]);
      expect(done.size).toBe(1);
      expect(runs).toBe(1);
    });
  });

  test('wait([]) is a RangeError; bad returnWhen is a RangeError; non-iterable is a TypeError', async () => {
    await lc.run(async () => {
      expect(() => aio.wait([])).toThrow(RangeError);
      expect(() => aio.wait([aio.sleep(0)], { returnWhen: 'SOMETIMES' as never })).toThrow(/returnWhen/);
      expect(() => aio.wait(5 as never)).toThrow(TypeError);
      expect(() => aio.wait([aio.sleep(0)], { timeout: 'x' as never })).toThrow(/timeout/);
    });
  });

  test('cancelling wait does not cancel the awaited tasks', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(10));
      const w = aio.wait([a]);
      await aio.sleep(0);
      w.cancel();
      await expect(w).rejects.toBeInstanceOf(aio.CancelledError);
      expect(a.cancelled()).toBe(false);
      a.cancel();
    });
  });

  // --- asCompleted ----------------------------------------------------------------------------------

  test('asCompleted as an iterable yields results in completion order (both forms)', async () => {
    await lc.runVirtual(function* () {
      const out: string[] = [];
      for (const f of aio.asCompleted([aio.sleep(0.03, 'c'), aio.sleep(0.001, 'a'), aio.sleep(0.015, 'b')])) {
        out.push(yield* f);
      }
      expect(out).toEqual(['a', 'b', 'c']);
    });
    await lc.runVirtual(async () => {
      const out: string[] = [];
      for (const f of aio.asCompleted([aio.sleep(0.03, 'c'), aio.sleep(0.001, 'a')])) out.push(await f);
      expect(out).toEqual(['a', 'c']);
    });
  });

  test('asCompleted as an async iterable yields the original futures', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(0.02, 'a'));
      const b = aio.createTask(() => aio.sleep(0.001, 'b'));
      const seen: aio.Future<string>[] = [];
      for await (const f of aio.asCompleted([a, b])) seen.push(f);
      expect(seen).toEqual([b, a]);
    });
  });

  test('asCompleted with a timeout throws TimeoutError for what is left', async () => {
    await lc.runVirtual(async () => {
      const slow = aio.createTask(() => aio.sleep(10, 'slow'));
      const out: string[] = [];
      let err: unknown;
      try {
        for (const f of aio.asCompleted([aio.sleep(0.001, 'fast'), slow], { timeout: 0.2 })) out.push(await f);
      } catch (e) {
        err = e;
      }
      expect(out).toEqual(['fast']);
      expect(err).toBeInstanceOf(aio.TimeoutError);
      expect(slow.cancelled()).toBe(false);
      slow.cancel();
    });
  });

  test('asCompleted async iterable with a timeout', async () => {
    await lc.runVirtual(async () => {
      const slow = aio.createTask(() => aio.sleep(10));
      let err: unknown;
      try {
        for await (const f of aio.asCompleted([slow], { timeout: 0.01 })) void f;
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.TimeoutError);
      slow.cancel();
    });
  });

  test('asCompleted of nothing yields nothing; a failure is thrown by its await', async () => {
    await lc.run(async () => {
      let n = 0;
      for (const f of aio.asCompleted([])) n += (await f) as number;
      expect(n).toBe(0);
      const it = aio.asCompleted([
        (async () => {
          throw new Error('ac');
        }) as () => Promise<never>,
      ]);
      for (const f of it) await expect(f).rejects.toThrow('ac');
    });
  });

  // --- shield ---------------------------------------------------------------------------------------

  test('shield: cancelling the outer leaves the inner running', async () => {
    await lc.runVirtual(async () => {
      const inner = aio.createTask(() => aio.sleep(0.01, 'inner'));
      const outer = aio.shield(inner);
      await aio.sleep(0);
      expect(outer.cancel()).toBe(true);
      await expect(outer).rejects.toBeInstanceOf(aio.CancelledError);
      expect(inner.cancelled()).toBe(false);
      expect(await inner).toBe('inner');
    });
  });

  test('shield: a task awaiting a shield is cancelled, the inner continues', async () => {
    await lc.runVirtual(function* () {
      let finished = false;
      const inner = aio.createTask(async () => {
        await aio.sleep(0.01);
        finished = true;
        return 1;
      });
      const waiter = aio.createTask(function* () {
        return yield* aio.shield(inner);
      });
      yield* spin(2);
      waiter.cancel();
      yield* spin(2);
      expect(waiter.cancelled()).toBe(true);
      expect(yield* inner).toBe(1);
      expect(finished).toBe(true);
    });
  });

  test('shield passes the inner result, exception and cancellation through', async () => {
    await lc.runVirtual(async () => {
      expect(await aio.shield(aio.sleep(0.001, 'r'))).toBe('r');
      await expect(
        aio.shield(async () => {
          await aio.sleep(0);
          throw new Error('sx');
        }),
      ).rejects.toThrow('sx');
      const inner = aio.createTask(() => aio.sleep(10));
      const outer = aio.shield(inner);
      await aio.sleep(0);
      inner.cancel();
      await expect(outer).rejects.toBeInstanceOf(aio.CancelledError);
    });
  });

  test('shield of a done future returns it', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      f.setResult(1);
      expect(aio.shield(f)).toBe(f);
    });
  });

  // --- more of test_tasks.py ----------------------------------------------------------------------

  test('getCoro while the async function runs', async () => {
    await lc.run(async () => {
      const fn = async () => aio.currentTask()!.getCoro();
      const t = aio.createTask(fn);
      expect(await t).toBe(fn);
    });
  });

  test('a sleep(0) awaited by a task and watched by a callback settles once', async () => {
    await lc.run(function* () {
      const s = aio.sleep(0, 'v');
      const t = aio.createTask(function* () {
        return yield* s;
      });
      const u = aio.createTask(async () => await s);
      yield* aio.sleep(0);
      let got: unknown;
      s.addDoneCallback((f) => (got = f.result()));
      expect(yield* t).toBe('v');
      expect(yield* u).toBe('v');
      yield* spin(2);
      expect(got).toBe('v');
    });
  });

  test('cancelling the inner task makes the awaiting task cancelled too', async () => {
    await lc.runVirtual(function* () {
      const inner = aio.createTask(() => aio.sleep(10));
      const a = aio.createTask(async () => inner);
      const b = aio.createTask(function* () {
        return yield* inner;
      });
      yield* spin(2);
      inner.cancel('inner msg');
      yield* spin(3);
      expect(a.cancelled()).toBe(true);
      expect(b.cancelled()).toBe(true);
      expect(() => b.result()).toThrow('inner msg');
    });
  });

  test('a task ignoring the cancellation of the task it awaits is cancelled again on request', async () => {
    await lc.runVirtual(function* () {
      let stubborn = true;
      const inner = aio.createTask(async () => {
        while (stubborn) {
          try {
            await aio.sleep(10);
          } catch {
            // ignored once
            stubborn = false;
          }
        }
        await aio.sleep(10);
      });
      const outer = aio.createTask(function* () {
        yield* inner;
      });
      yield* spin(2);
      outer.cancel();
      yield* spin(3);
      expect(inner.done()).toBe(false);
      expect(outer.done()).toBe(false);
      outer.cancel();
      yield* spin(3);
      expect(inner.cancelled()).toBe(true);
      expect(outer.cancelled()).toBe(true);
    });
  });

  test('gather: a child that catches its cancellation still makes the cancelled gather throw', async () => {
    await lc.runVirtual(async () => {
      const child = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch {
          return 'caught';
        }
        return 'no';
      });
      const g = aio.gather(child, aio.sleep(10));
      await aio.sleep(0);
      g.cancel();
      await expect(g).rejects.toBeInstanceOf(aio.CancelledError);
      expect(await child).toBe('caught');
    });
  });

  test('gather of shields: cancelling the gather leaves the shielded tasks running', async () => {
    await lc.runVirtual(async () => {
      const a = aio.createTask(() => aio.sleep(0.01, 'a'));
      const g = aio.gather(aio.shield(a));
      await aio.sleep(0);
      g.cancel();
      await expect(g).rejects.toBeInstanceOf(aio.CancelledError);
      expect(await a).toBe('a');
    });
  });

  test('shield of a gather', async () => {
    await lc.runVirtual(async () => {
      const g = aio.gather(aio.sleep(0.005, 1), aio.sleep(0.001, 2));
      const s = aio.shield(g);
      await aio.sleep(0);
      s.cancel();
      expect(await g).toEqual([1, 2]);
    });
  });

  test('wait: futures done in the same iteration are all reported done', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      loop.callSoon(() => {
        a.setResult(1);
        b.setResult(2);
      });
      const [done, pending] = await aio.wait([a, b], { returnWhen: aio.FIRST_COMPLETED });
      expect(done).toEqual(new Set([a, b]));
      expect(pending.size).toBe(0);
    });
  });

  test('wait FIRST_COMPLETED with an already done future returns at once', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      f.setResult(1);
      const a = aio.createTask(() => aio.sleep(10));
      const [done, pending] = await aio.wait([f, a], { returnWhen: aio.FIRST_COMPLETED });
      expect(done).toEqual(new Set([f]));
      expect(pending).toEqual(new Set([a]));
      a.cancel();
    });
  });

  test('wait with a timeout that is not reached returns everything done', async () => {
    await lc.runVirtual(async () => {
      const [done, pending] = await aio.wait([aio.sleep(0.001, 1)], { timeout: 10 });
      expect(done.size).toBe(1);
      expect(pending.size).toBe(0);
    });
  });

  test('asCompleted with a timeout that is not reached', async () => {
    await lc.runVirtual(async () => {
      const out: number[] = [];
      for (const f of aio.asCompleted([aio.sleep(0.002, 2), aio.sleep(0.001, 1)], { timeout: 10 })) out.push(await f);
      expect(out).toEqual([1, 2]);
    });
  });

  test('asCompleted with duplicate coroutines yields once per distinct one', async () => {
    await lc.run(async () => {
      const c = (function* () {
        yield* aio.sleep(0);
        return 'c';
      })();
      const out: string[] = [];
      for (const f of aio.asCompleted([c, c])) out.push(await f);
      expect(out).toEqual(['c']);
    });
  });

  test('currentTask with interleaving async tasks', async () => {
    await lc.run(async () => {
      const bad: string[] = [];
      const mk = (name: string) =>
        aio.createTask(
          async () => {
            for (let i = 0; i < 5; i++) {
              if (aio.currentTask()!.getName() !== name) bad.push(name);
              await aio.sleep(0);
              await Promise.resolve();
            }
          },
          { name },
        );
      await aio.gather(mk('x'), mk('y'), mk('z'));
      expect(bad).toEqual([]);
    });
  });

  test('Task toString shows name and state', async () => {
    await lc.run(async () => {
      const t = aio.createTask(async () => 'v', { name: 'shown' });
      expect(String(t)).toMatch(/Task name="shown" pending/);
      await t;
      expect(String(t)).toMatch(/finished.*v/);
    });
  });

  test('isCoroutine', async () => {
    function* g(): aio.Coro<void> {}
    expect(aio.isCoroutine(g())).toBe(true);
    expect(aio.isCoroutine(g)).toBe(false);
    expect(aio.isCoroutine(async () => {})).toBe(false);
    expect(aio.isCoroutine(Promise.resolve())).toBe(false);
    expect(aio.isCoroutine(null)).toBe(false);
    expect(aio.isCoroutine([1, 2][Symbol.iterator]())).toBe(false);
    await lc.run(async () => {});
  });
});
