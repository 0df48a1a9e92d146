// Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier: the behaviours of CPython's
// test_locks.py, on every loop, in both coroutine forms where it matters.
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

/** Lets the loop run `n` iterations. */
function* spin(n = 1): aio.Coro<void> {
  for (let i = 0; i < n; i++) yield* aio.sleep(0);
}

function settledError(t: aio.Future<unknown>): unknown {
  return t.cancelled() ? 'cancelled' : t.exception();
}

eachLoop((lc) => {
  // --- Lock --------------------------------------------------------------------------------------

  test('Lock: uncontended acquire is a done Future, in both coroutine forms', async () => {
    await lc.run(function* () {
      const lock = new aio.Lock();
      const f = lock.acquire();
      expect(f.done()).toBe(true);
      expect(yield* f).toBe(true);
      expect(lock.locked()).toBe(true);
      lock.release();
      expect(lock.locked()).toBe(false);
    });
    await lc.run(async () => {
      const lock = new aio.Lock();
      expect(await lock.acquire()).toBe(true);
      expect(lock.locked()).toBe(true);
      lock.release();
    });
  });

  test('Lock: release of an unlocked lock throws an Error', async () => {
    await lc.run(function* () {
      const lock = new aio.Lock();
      expect(() => lock.release()).toThrow(/not acquired/);
    });
  });

  for (const form of ['generator', 'async'] as const) {
    test(`Lock: FIFO hand-off among waiters (${form} tasks)`, async () => {
      const order: number[] = [];
      await lc.run(function* () {
        const lock = new aio.Lock();
        yield* lock.acquire();
        const tasks = [1, 2, 3].map((i) =>
          aio.createTask(
            form === 'generator'
              ? (function* () {
                  yield* lock.acquire();
                  order.push(i);
                  yield* aio.sleep(0);
                  lock.release();
                })()
              : async () => {
                  await lock.acquire();
                  order.push(i);
                  await aio.sleep(0);
                  lock.release();
                },
          ),
        );
        yield* spin();
        expect(String(lock)).toBe('<Lock [locked, waiters:3]>');
        lock.release();
        yield* aio.gather(...tasks);
        expect(lock.locked()).toBe(false);
      });
      expect(order).toEqual([1, 2, 3]);
    });
  }

  test('Lock: a cancelled waiter is removed and the others still get the lock in order', async () => {
    await lc.run(function* () {
      const lock = new aio.Lock();
      yield* lock.acquire();
      const got: string[] = [];
      const mk = (n: string) =>
        aio.createTask(function* () {
          yield* lock.acquire();
          got.push(n);
          lock.release();
        });
      const a = mk('a');
      const b = mk('b');
      const c = mk('c');
      yield* spin();
      b.cancel();
      yield* spin();
      expect(b.cancelled()).toBe(true);
      expect(String(lock)).toBe('<Lock [locked, waiters:2]>');
      lock.release();
      yield* aio.wait([a, c]);
      expect(got).toEqual(['a', 'c']);
      expect(lock.locked()).toBe(false);
    });
  });

  for (const form of ['generator', 'async'] as const) {
    test(`Lock: a waiter cancelled while being woken passes the lock on (${form})`, async () => {
      await lc.run(function* () {
        const lock = new aio.Lock();
        yield* lock.acquire();
        const holders: string[] = [];
        const mk = (n: string) =>
          aio.createTask(
            form === 'generator'
              ? (function* () {
                  yield* lock.acquire();
                  holders.push(n);
                })()
              : async () => {
                  await lock.acquire();
                  holders.push(n);
                },
          );
        const t1 = mk('t1');
        const t2 = mk('t2');
        const t3 = mk('t3');
        yield* spin();
        // Hand the lock to t1, then cancel t1 before it runs (asyncio issue 32734 / 27585).
        lock.release();
        t1.cancel();
        yield* spin(3);
        expect(t1.cancelled()).toBe(true);
        expect(t2.done() && !t2.cancelled()).toBe(true);
        expect(t3.done()).toBe(false);
        expect(holders).toEqual(['t2']);
        expect(lock.locked()).toBe(true);
        lock.release();
        yield* t3;
        expect(holders).toEqual(['t2', 't3']);
        lock.release();
        expect(lock.locked()).toBe(false);
      });
    });
  }

  test('Lock: the last waiter cancelled while being woken unlocks the lock', async () => {
    await lc.run(function* () {
      const lock = new aio.Lock();
      yield* lock.acquire();
      const t = aio.createTask(lock.acquire());
      yield* spin();
      lock.release();
      t.cancel();
      yield* spin(2);
      expect(t.cancelled()).toBe(true);
      expect(lock.locked()).toBe(false);
      expect(yield* lock.acquire()).toBe(true);
    });
  });

  test('Lock: waitFor timeout on a contended acquire leaves the lock consistent', async () => {
    await lc.run(async () => {
      const lock = new aio.Lock();
      await lock.acquire();
      await expect(aio.waitFor(lock.acquire(), 0.01)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(String(lock)).toBe('<Lock [locked]>');
      lock.release();
      expect(lock.locked()).toBe(false);
    });
  });

  test('Lock: hold() with await using and with using in a generator', async () => {
    await lc.run(async () => {
      const lock = new aio.Lock();
      {
        await using _h = await lock.hold();
        expect(lock.locked()).toBe(true);
      }
      expect(lock.locked()).toBe(false);
      // Contended: the held guard arrives through the waiter, and releasing twice is a no-op.
      const first = await lock.hold();
      const second = lock.hold();
      expect(second.done()).toBe(false);
      first.release();
      first.release();
      const h2 = await second;
      expect(lock.locked()).toBe(true);
      await h2[Symbol.asyncDispose]();
      expect(lock.locked()).toBe(false);
    });
    await lc.run(function* () {
      const lock = new aio.Lock();
      {
        using _h = yield* lock.hold();
        expect(lock.locked()).toBe(true);
      }
      expect(lock.locked()).toBe(false);
    });
  });

  test('Lock: an AbortSignal rejects a waiting acquire with its reason and removes the waiter', async () => {
    await lc.run(async () => {
      const lock = new aio.Lock();
      await lock.acquire();
      const ac = new AbortController();
      const w = lock.acquire({ signal: ac.signal });
      const reason = new Error('give up');
      ac.abort(reason);
      await expect(w).rejects.toBe(reason);
      expect(String(lock)).toBe('<Lock [locked]>');
      const ac2 = new AbortController();
      ac2.abort();
      await expect(lock.acquire({ signal: ac2.signal })).rejects.toMatchObject({ name: 'AbortError' });
      lock.release();
      // A signal aborted after the lock was granted changes nothing.
      const ac3 = new AbortController();
      await lock.acquire({ signal: ac3.signal });
      ac3.abort();
      expect(lock.locked()).toBe(true);
      expect(() => lock.acquire({ signal: 'x' as never })).toThrow(TypeError);
    });
  });

  test('Lock: a Lock waited on in one loop cannot be waited on in another', async () => {
    const lock = new aio.Lock();
    await lc.run(function* () {
      yield* lock.acquire();
      const t = aio.createTask(lock.acquire());
      yield* spin();
      lock.release();
      yield* t;
      lock.release();
    });
    await lc.run(function* () {
      yield* lock.acquire(); // uncontended: fine
      expect(() => lock.acquire()).toThrow(/different event loop/);
      lock.release();
    });
  });

  // --- Event -------------------------------------------------------------------------------------

  test('Event: wait, set wakes every waiter, clear', async () => {
    await lc.run(function* () {
      const ev = new aio.Event();
      expect(ev.isSet()).toBe(false);
      const woken: number[] = [];
      const ts = [1, 2, 3].map((i) =>
        aio.createTask(async () => {
          expect(await ev.wait()).toBe(true);
          woken.push(i);
        }),
      );
      yield* spin();
      expect(woken).toEqual([]);
      expect(String(ev)).toBe('<Event [unset, waiters:3]>');
      ev.set();
      yield* aio.gather(...ts);
      expect(woken).toEqual([1, 2, 3]);
      expect(ev.wait().done()).toBe(true);
      ev.clear();
      expect(ev.isSet()).toBe(false);
      expect(ev.wait().done()).toBe(false);
      ev.set();
    });
  });

  test('Event: a cancelled waiter is removed; an aborted one rejects', async () => {
    await lc.run(function* () {
      const ev = new aio.Event();
      const t = aio.createTask(ev.wait());
      yield* spin();
      t.cancel();
      yield* spin();
      expect(t.cancelled()).toBe(true);
      expect(String(ev)).toBe('<Event [unset]>');
      const ac = new AbortController();
      const w = ev.wait({ signal: ac.signal });
      ac.abort();
      expect(w.exception()).toMatchObject({ name: 'AbortError' });
      expect(String(ev)).toBe('<Event [unset]>');
    });
  });

  // --- Condition ---------------------------------------------------------------------------------

  test('Condition: notify(1), notify(2), notifyAll wake waiters in order (test_wait / test_notify)', async () => {
    await lc.run(function* () {
      const cond = new aio.Condition();
      const result: number[] = [];
      const waiter = (i: number) =>
        aio.createTask(function* () {
          yield* cond.acquire();
          expect(yield* cond.wait()).toBe(true);
          result.push(i);
          cond.release();
        });
      const ts = [waiter(1), waiter(2), waiter(3)];
      yield* spin();
      expect(cond.locked()).toBe(false);
      yield* cond.acquire();
      cond.notify(1);
      cond.release();
      yield* spin(3);
      expect(result).toEqual([1]);
      yield* cond.acquire();
      cond.notify(2);
      cond.release();
      yield* spin(4);
      expect(result).toEqual([1, 2, 3]);
      yield* aio.gather(...ts);
      const more = [waiter(4), waiter(5)];
      yield* spin();
      yield* cond.acquire();
      cond.notifyAll();
      cond.release();
      yield* aio.gather(...more);
      expect(result).toEqual([1, 2, 3, 4, 5]);
    });
  });

  test('Condition: wait/notify without the lock throw; bad arguments', async () => {
    await lc.run(function* () {
      const cond = new aio.Condition();
      expect(() => cond.wait()).toThrow(/un-acquired lock/);
      expect(() => cond.notify()).toThrow(/un-acquired lock/);
      expect(() => cond.notifyAll()).toThrow(/un-acquired lock/);
      expect(() => new aio.Condition({} as never)).toThrow(TypeError);
      yield* cond.acquire();
      expect(() => cond.waitFor('x' as never)).toThrow(TypeError);
      expect(() => cond.notify('2' as never)).toThrow(TypeError);
      cond.release();
    });
  });

  test('Condition: waitFor(predicate) returns the truthy value, with the lock held', async () => {
    await lc.run(async () => {
      const cond = new aio.Condition();
      let presult: number | false = false;
      let calls = 0;
      const t = aio.createTask(async () => {
        await cond.acquire();
        const r = await cond.waitFor(() => {
          calls++;
          return presult;
        });
        expect(cond.locked()).toBe(true);
        cond.release();
        return r;
      });
      await aio.sleep(0);
      await cond.acquire();
      cond.notify();
      cond.release();
      await aio.sleep(0);
      await aio.sleep(0);
      expect(t.done()).toBe(false);
      presult = 7;
      await cond.acquire();
      cond.notify();
      cond.release();
      expect(await t).toBe(7);
      expect(calls).toBe(3);
    });
  });

  test('Condition: a cancelled wait re-acquires the lock before throwing (test_wait_cancel)', async () => {
    await lc.run(function* () {
      const cond = new aio.Condition();
      yield* cond.acquire();
      const w = aio.createTask(function* () {
        yield* cond.acquire();
        try {
          yield* cond.wait();
        } finally {
          expect(cond.locked()).toBe(true);
          cond.release();
        }
      });
      cond.release();
      yield* spin(2);
      // Cancel while the lock is held by someone else: the wait must wait for the lock first.
      yield* cond.acquire();
      w.cancel();
      yield* spin(2);
      expect(w.done()).toBe(false);
      cond.release();
      yield* aio.wait([w]);
      expect(w.cancelled()).toBe(true);
      expect(cond.locked()).toBe(false);
    });
  });

  test('Condition: a waiter cancelled after notify passes the notification on (gh-112202)', async () => {
    await lc.run(function* () {
      const cond = new aio.Condition();
      const woke: string[] = [];
      const mk = (n: string) =>
        aio.createTask(function* () {
          yield* cond.acquire();
          try {
            yield* cond.wait();
            woke.push(n);
          } finally {
            cond.release();
          }
        });
      const a = mk('a');
      const b = mk('b');
      yield* spin();
      yield* cond.acquire();
      cond.notify(1);
      a.cancel();
      cond.release();
      yield* aio.wait([a, b]);
      expect(a.cancelled()).toBe(true);
      expect(woke).toEqual(['b']);
    });
  });

  test('Condition: several conditions may share one Lock', async () => {
    await lc.run(function* () {
      const lock = new aio.Lock();
      const c1 = new aio.Condition(lock);
      const c2 = new aio.Condition(lock);
      yield* c1.acquire();
      expect(c2.locked()).toBe(true);
      c2.release();
      expect(lock.locked()).toBe(false);
    });
  });

  test('Condition: wait with an aborted signal rejects with its reason and holds the lock again', async () => {
    await lc.run(async () => {
      const cond = new aio.Condition();
      await cond.acquire();
      const ac = new AbortController();
      const w = cond.wait({ signal: ac.signal });
      expect(cond.locked()).toBe(false); // released inline, as asyncio's await cond.wait()
      await aio.sleep(0);
      ac.abort(new Error('stop'));
      await expect(w).rejects.toThrow('stop');
      expect(cond.locked()).toBe(true);
      cond.release();
    });
  });

  // --- Semaphore, BoundedSemaphore ---------------------------------------------------------------

  test('Semaphore: counts permits, waits FIFO, locked()', async () => {
    await lc.run(function* () {
      const sem = new aio.Semaphore(2);
      expect(String(sem)).toBe('<Semaphore [unlocked, value:2]>');
      yield* sem.acquire();
      yield* sem.acquire();
      expect(sem.locked()).toBe(true);
      const order: number[] = [];
      const ts = [1, 2, 3].map((i) =>
        aio.createTask(function* () {
          yield* sem.acquire();
          order.push(i);
        }),
      );
      yield* spin();
      expect(String(sem)).toBe('<Semaphore [locked, waiters:3]>');
      sem.release();
      sem.release();
      yield* spin(2);
      expect(order).toEqual([1, 2]);
      sem.release();
      yield* aio.gather(...ts);
      expect(order).toEqual([1, 2, 3]);
      expect(new aio.Semaphore().locked()).toBe(false);
      expect(new aio.Semaphore(0).locked()).toBe(true);
    });
  });

  test('Semaphore: bad values', () => {
    expect(() => new aio.Semaphore(-1)).toThrow(RangeError);
    expect(() => new aio.Semaphore(-1)).toThrow(/value/);
    expect(() => new aio.Semaphore(1.5)).toThrow(RangeError);
    expect(() => new aio.Semaphore('1' as never)).toThrow(TypeError);
    expect(() => new aio.BoundedSemaphore(-2)).toThrow(/value/);
  });

  test('Semaphore: a waiter cancelled while being woken passes the permit on', async () => {
    await lc.run(async () => {
      const sem = new aio.Semaphore(0);
      const got: string[] = [];
      const mk = (n: string) =>
        aio.createTask(async () => {
          await sem.acquire();
          got.push(n);
        });
      const a = mk('a');
      const b = mk('b');
      const c = mk('c');
      await aio.sleep(0);
      sem.release();
      a.cancel();
      await aio.sleep(0);
      await aio.sleep(0);
      expect(a.cancelled()).toBe(true);
      expect(got).toEqual(['b']);
      expect(c.done()).toBe(false);
      sem.release();
      await c;
      await b;
      expect(got).toEqual(['b', 'c']);
      expect(sem.locked()).toBe(true);
      sem.release();
      expect(sem.locked()).toBe(false);
    });
  });

  test('Semaphore: hold() releases on dispose', async () => {
    await lc.run(async () => {
      const sem = new aio.Semaphore(1);
      {
        await using _ = await sem.hold();
        expect(sem.locked()).toBe(true);
      }
      expect(sem.locked()).toBe(false);
    });
  });

  test('BoundedSemaphore: over-release throws an Error; Semaphore may go above its start', async () => {
    await lc.run(function* () {
      const bs = new aio.BoundedSemaphore(2);
      expect(() => bs.release()).toThrow(/released too many times/);
      yield* bs.acquire();
      bs.release();
      expect(() => bs.release()).toThrow(/released too many times/);
      expect(String(bs)).toBe('<BoundedSemaphore [unlocked, value:2]>');
      const s = new aio.Semaphore(1);
      s.release();
      expect(String(s)).toBe('<Semaphore [unlocked, value:2]>');
    });
  });

  // --- Barrier -----------------------------------------------------------------------------------

  test('Barrier: parties tasks are released together with distinct indices, and it cycles', async () => {
    await lc.run(function* () {
      const barrier = new aio.Barrier(3);
      expect(barrier.parties).toBe(3);
      expect(barrier.broken).toBe(false);
      for (let round = 0; round < 2; round++) {
        const after: number[] = [];
        const ts = [0, 1, 2].map(() =>
          aio.createTask(async () => {
            const i = await barrier.wait();
            after.push(i);
            return i;
          }),
        );
        yield* spin();
        // Two wait, the third trips it (asyncio's test_barrier_parties).
        const idx = yield* aio.gather(...ts);
        expect([...idx].sort()).toEqual([0, 1, 2]);
        expect(after.length).toBe(3);
        expect(barrier.nWaiting).toBe(0);
      }
    });
  });

  test('Barrier: nWaiting counts waiters; a cancelled waiter leaves', async () => {
    await lc.run(function* () {
      const barrier = new aio.Barrier(3);
      const a = aio.createTask(barrier.wait());
      const b = aio.createTask(barrier.wait());
      yield* spin(2);
      expect(barrier.nWaiting).toBe(2);
      expect(String(barrier)).toBe('<Barrier [filling, waiters:2/3]>');
      a.cancel();
      yield* spin(3);
      expect(a.cancelled()).toBe(true);
      expect(barrier.nWaiting).toBe(1);
      const c = aio.createTask(barrier.wait());
      const d = aio.createTask(barrier.wait());
      const r = yield* aio.gather(b, c, d);
      // The index is the arrival count, as asyncio's: b keeps 1 and c, arriving second now, gets 1.
      expect(r).toEqual([1, 1, 2]);
    });
  });

  test('Barrier: abort breaks current and later waits', async () => {
    await lc.run(function* () {
      const barrier = new aio.Barrier(3);
      const ts = [aio.createTask(barrier.wait()), aio.createTask(barrier.wait())];
      yield* spin(2);
      yield* barrier.abort();
      expect(barrier.broken).toBe(true);
      yield* aio.wait(ts);
      for (const t of ts) expect(settledError(t)).toBeInstanceOf(aio.BrokenBarrierError);
      const late = barrier.wait();
      yield* aio.wait([late]);
      expect(late.exception()).toBeInstanceOf(aio.BrokenBarrierError);
      expect(String(barrier)).toBe('<Barrier [broken]>');
      // reset() mends a broken barrier.
      yield* barrier.reset();
      expect(barrier.broken).toBe(false);
    });
  });

  test('Barrier: reset breaks the waiting tasks and leaves it usable', async () => {
    await lc.run(async () => {
      const barrier = new aio.Barrier(2);
      const t = aio.createTask(barrier.wait());
      await aio.sleep(0);
      await aio.sleep(0);
      await barrier.reset();
      await expect(t).rejects.toBeInstanceOf(aio.BrokenBarrierError);
      expect(barrier.broken).toBe(false);
      const r = await aio.gather(barrier.wait(), barrier.wait());
      expect([...r].sort()).toEqual([0, 1]);
    });
  });

  test('Barrier: one party passes at once; bad parties', async () => {
    await lc.run(function* () {
      const b = new aio.Barrier(1);
      expect(yield* b.wait()).toBe(0);
      expect(yield* b.wait()).toBe(0);
    });
    expect(() => new aio.Barrier(0)).toThrow(RangeError);
    expect(() => new aio.Barrier(0)).toThrow(/parties/);
    expect(() => new aio.Barrier('3' as never)).toThrow(TypeError);
    expect(() => new aio.Barrier(undefined as never)).toThrow(/parties/);
  });
});
