// Queue, LifoQueue, PriorityQueue: the behaviours of CPython's test_queues.py, on every loop.
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

function* spin(n = 1): aio.Coro<void> {
  for (let i = 0; i < n; i++) yield* aio.sleep(0);
}

eachLoop((lc) => {
  test('empty, full, qsize, maxsize; order of Queue, LifoQueue, PriorityQueue', () => {
    const q = new aio.Queue<number>();
    expect(q.empty()).toBe(true);
    expect(q.full()).toBe(false);
    expect(q.maxsize).toBe(0);
    for (const i of [1, 3, 2]) q.putNowait(i);
    expect(q.qsize()).toBe(3);
    expect([q.getNowait(), q.getNowait(), q.getNowait()]).toEqual([1, 3, 2]);
    const lq = new aio.LifoQueue<number>();
    for (const i of [1, 3, 2]) lq.putNowait(i);
    expect([lq.getNowait(), lq.getNowait(), lq.getNowait()]).toEqual([2, 3, 1]);
    const pq = new aio.PriorityQueue<number>();
    for (const i of [1, 3, 2]) pq.putNowait(i);
    expect([pq.getNowait(), pq.getNowait(), pq.getNowait()]).toEqual([1, 2, 3]);
    const one = new aio.Queue(1);
    one.putNowait(1);
    expect(one.full()).toBe(true);
    expect(() => one.putNowait(2)).toThrow(aio.QueueFull);
    expect(() => new aio.Queue().getNowait()).toThrow(aio.QueueEmpty);
  });

  test('maxsize: <= 0 is unbounded, a float is allowed, other types are rejected', () => {
    for (const m of [0, -1]) {
      const q = new aio.Queue(m);
      for (let i = 0; i < 100; i++) q.putNowait(i);
      expect(q.full()).toBe(false);
    }
    const f = new aio.Queue(1.3);
    f.putNowait(1);
    f.putNowait(2);
    expect(f.full()).toBe(true);
    expect(() => f.putNowait(3)).toThrow(aio.QueueFull);
    expect(() => new aio.Queue('1' as never)).toThrow(TypeError);
    expect(() => new aio.Queue('1' as never)).toThrow(/maxsize/);
    expect(() => new aio.Queue(NaN)).toThrow(RangeError);
  });

  test('a putter blocks at maxsize and resumes after a get (test_maxsize), both forms', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>(2);
      const put: number[] = [];
      const t = aio.createTask(function* () {
        for (let i = 0; i < 3; i++) {
          yield* q.put(i);
          put.push(i);
        }
        return true;
      });
      yield* spin(2);
      expect(put).toEqual([0, 1]);
      expect(q.getNowait()).toBe(0);
      yield* spin(2);
      expect(put).toEqual([0, 1, 2]);
      expect([q.getNowait(), q.getNowait()]).toEqual([1, 2]);
      expect(yield* t).toBe(true);
    });
    await lc.run(async () => {
      const q = new aio.Queue<number>(1);
      const getter = aio.createTask(async () => [await q.get(), await q.get(), await q.get()]);
      for (let i = 0; i < 3; i++) await q.put(i);
      expect(await getter).toEqual([0, 1, 2]);
    });
  });

  test('get waits for put; get() of a non-empty queue is done at once', async () => {
    await lc.runVirtual(async () => {
      const q = new aio.Queue<string>();
      const t = aio.createTask(async () => q.get());
      await aio.sleep(0);
      expect(t.done()).toBe(false);
      expect(String(q)).toBe('<Queue maxsize=0 getters=1>');
      aio.getRunningLoop().callLater(0.01, () => q.putNowait('x'));
      expect(await t).toBe('x');
      q.putNowait('y');
      const f = q.get();
      expect(f.done()).toBe(true);
      expect(await f).toBe('y');
    });
  });

  test('getters and putters are served in FIFO order', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>(1);
      const got: string[] = [];
      const gs = ['a', 'b', 'c'].map((n) =>
        aio.createTask(function* () {
          got.push(`${n}${yield* q.get()}`);
        }),
      );
      yield* spin();
      for (let i = 1; i <= 3; i++) yield* q.put(i);
      yield* aio.gather(...gs);
      expect(got).toEqual(['a1', 'b2', 'c3']);
      // test_get_with_waiting_putters
      const ps = [aio.createTask(q.put(7)), aio.createTask(q.put(8)), aio.createTask(q.put(9))];
      yield* spin();
      expect([yield* q.get(), yield* q.get(), yield* q.get()]).toEqual([7, 8, 9]);
      yield* aio.gather(...ps);
    });
  });

  test('get cancelled race (test_get_cancelled_race)', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<string>();
      const t1 = aio.createTask(q.get());
      const t2 = aio.createTask(q.get());
      yield* spin();
      t1.cancel();
      yield* spin();
      expect(t1.done()).toBe(true);
      q.putNowait('a');
      yield* spin();
      expect(t2.result()).toBe('a');
    });
  });

  for (const form of ['generator', 'async'] as const) {
    test(`a getter cancelled while being woken does not drop the item (${form})`, async () => {
      await lc.run(async () => {
        const q = new aio.Queue<number>();
        let reader = aio.createTask(form === 'generator' ? (function* () { return yield* q.get(); })() : async () => q.get());
        await aio.sleep(0);
        q.putNowait(1);
        q.putNowait(2);
        reader.cancel();
        try {
          await reader;
        } catch (e) {
          expect(e).toBeInstanceOf(aio.CancelledError);
          reader = aio.createTask(async () => q.get());
          await reader;
        }
        expect(reader.result()).toBe(1); // 2 would mean 1 was dropped
        expect(q.getNowait()).toBe(2);
      });
    });
  }

  test('many pending readers cancelled while woken: no item lost (test_get_cancel_drop_many_pending_readers)', async () => {
    await lc.run(async () => {
      const q = new aio.Queue<number>();
      const readers = [0, 1, 2].map(() => aio.createTask(async () => q.get()));
      await aio.sleep(0);
      q.putNowait(1);
      q.putNowait(2);
      readers[0]!.cancel();
      readers[1]!.cancel();
      await aio.wait(readers);
      expect(readers[0]!.cancelled() && readers[1]!.cancelled()).toBe(true);
      expect(readers[2]!.result()).toBe(1);
      expect(q.getNowait()).toBe(2);
      expect(q.empty()).toBe(true);
    });
  });

  test('a putter cancelled while being woken does not put (test_put_cancel_drop)', async () => {
    await lc.run(async () => {
      const q = new aio.Queue<number>(1);
      q.putNowait(1);
      let writer = aio.createTask(async () => q.put(2));
      await aio.sleep(0);
      expect(q.getNowait()).toBe(1);
      writer.cancel();
      try {
        await writer;
      } catch (e) {
        expect(e).toBeInstanceOf(aio.CancelledError);
        writer = aio.createTask(async () => q.put(2));
        await writer;
      }
      expect(q.getNowait()).toBe(2);
      expect(q.qsize()).toBe(0);
    });
  });

  test('put cancelled race: the next putter gets the slot (test_put_cancelled_race)', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<string>(1);
      const a = aio.createTask(q.put('a'));
      const b = aio.createTask(q.put('b'));
      const c = aio.createTask(q.put('X'));
      yield* spin();
      expect(a.done()).toBe(true);
      expect(b.done()).toBe(false);
      c.cancel();
      yield* spin();
      expect(c.cancelled()).toBe(true);
      expect(q.getNowait()).toBe('a');
      yield* spin(2);
      expect(q.getNowait()).toBe('b');
      yield* b;
      expect(q.empty()).toBe(true);
    });
  });

  test('a put() on a full queue that nobody awaits still goes in', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>(1);
      q.putNowait(1);
      void q.put(2);
      expect(q.getNowait()).toBe(1);
      expect(q.full()).toBe(true); // the slot is promised to the woken putter
      expect(() => q.putNowait(3)).toThrow(aio.QueueFull);
      yield* spin(2);
      expect(q.getNowait()).toBe(2);
    });
  });

  test('waitFor(q.get(), timeout) gets an item in time (test_get_cancelled)', async () => {
    await lc.runVirtual(function* () {
      const q = new aio.Queue<number>();
      const t = aio.createTask(aio.waitFor(q.get(), 5));
      yield* aio.sleep(0.01);
      q.putNowait(1);
      expect(yield* t).toBe(1);
      try {
        yield* aio.waitFor(q.get(), 0.01);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(aio.TimeoutError);
      }
      expect(String(q)).toBe('<Queue maxsize=0 tasks=1>'); // the timed-out getter left no waiter behind
    });
  });

  test('taskDone and join (test_task_done); taskDone too often throws', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>();
      expect(() => q.taskDone()).toThrow(/too many times/);
      for (let i = 0; i < 100; i++) q.putNowait(i);
      let sum = 0;
      const workers = [0, 1].map(() =>
        aio.createTask(async () => {
          for (;;) {
            sum += await q.get();
            q.taskDone();
          }
        }),
      );
      yield* q.join();
      expect(sum).toBe(4950);
      for (const w of workers) w.cancel();
      yield* aio.wait(workers);
      expect(q.join().done()).toBe(true);
    });
  });

  test('shutdown(): pending getters and putters fail with QueueShutDown; items stay gettable', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>(1);
      const g = aio.createTask(q.get());
      yield* spin();
      q.shutdown();
      yield* aio.wait([g]);
      expect(g.exception()).toBeInstanceOf(aio.QueueShutDown);
      expect(q.isShutdown()).toBe(true);
      expect(() => q.putNowait(1)).toThrow(aio.QueueShutDown);
      expect(q.put(1).exception()).toBeInstanceOf(aio.QueueShutDown);
      expect(() => q.getNowait()).toThrow(aio.QueueShutDown);

      const q2 = new aio.Queue<number>(1);
      q2.putNowait(1);
      const p = aio.createTask(q2.put(2));
      yield* spin();
      q2.shutdown();
      yield* aio.wait([p]);
      expect(p.exception()).toBeInstanceOf(aio.QueueShutDown);
      expect(yield* q2.get()).toBe(1);
      expect(q2.get().exception()).toBeInstanceOf(aio.QueueShutDown);
    });
  });

  test('shutdown(true) empties the queue, counts the items done, and join returns', async () => {
    await lc.run(async () => {
      const q = new aio.Queue<number>();
      for (let i = 0; i < 5; i++) q.putNowait(i);
      q.getNowait(); // taken, not marked done
      const j = aio.createTask(async () => q.join());
      await aio.sleep(0);
      q.shutdown(true);
      expect(q.empty()).toBe(true);
      await aio.sleep(0);
      expect(j.done()).toBe(false); // one item is still being processed
      q.taskDone();
      await j;
      expect(() => q.getNowait()).toThrow(aio.QueueShutDown);
    });
  });

  test('for await iterates until shutdown', async () => {
    await lc.run(async () => {
      const q = new aio.Queue<number>();
      const consumer = aio.createTask(async () => {
        const seen: number[] = [];
        for await (const x of q) {
          seen.push(x);
          q.taskDone();
        }
        return seen;
      });
      for (let i = 0; i < 5; i++) {
        await q.put(i);
        if (i % 2 === 0) await aio.sleep(0);
      }
      await q.join();
      q.shutdown();
      expect(await consumer).toEqual([0, 1, 2, 3, 4]);
    });
  });

  test('get and put take an AbortSignal', async () => {
    await lc.run(async () => {
      const q = new aio.Queue<number>(1);
      const ac = new AbortController();
      const g = q.get({ signal: ac.signal });
      ac.abort(new Error('no more'));
      await expect(g).rejects.toThrow('no more');
      q.putNowait(1); // not handed to the aborted getter
      expect(q.qsize()).toBe(1);
      const ac2 = new AbortController();
      const p = q.put(2, { signal: ac2.signal });
      ac2.abort();
      await expect(p).rejects.toMatchObject({ name: 'AbortError' });
      expect(q.getNowait()).toBe(1);
      expect(q.empty()).toBe(true);
      const ac3 = new AbortController();
      ac3.abort();
      await expect(q.join({ signal: ac3.signal })).rejects.toMatchObject({ name: 'AbortError' });
    });
  });

  test('PriorityQueue orders tuples element by element, strings, and by a comparator', () => {
    const q = new aio.PriorityQueue<[number, string]>();
    for (const e of [[2, 'b'], [1, 'z'], [1, 'a'], [0, 'q']] as [number, string][]) q.putNowait(e);
    expect([q.getNowait(), q.getNowait(), q.getNowait(), q.getNowait()]).toEqual([[0, 'q'], [1, 'a'], [1, 'z'], [2, 'b']]);
    const s = new aio.PriorityQueue<string>();
    for (const x of ['pear', 'apple', 'fig']) s.putNowait(x);
    expect([s.getNowait(), s.getNowait(), s.getNowait()]).toEqual(['apple', 'fig', 'pear']);
    const short = new aio.PriorityQueue<number[]>();
    short.putNowait([1, 2]);
    short.putNowait([1]);
    expect(short.getNowait()).toEqual([1]);
    const byLen = new aio.PriorityQueue<string>(0, { compare: (a, b) => b.length - a.length });
    for (const x of ['a', 'ccc', 'bb']) byLen.putNowait(x);
    expect([byLen.getNowait(), byLen.getNowait(), byLen.getNowait()]).toEqual(['ccc', 'bb', 'a']);
    expect(aio.defaultCompare([1, 'a'], [1, 'b'])).toBeLessThan(0);
  });

  test('PriorityQueue rejects items of different kinds and stays intact', () => {
    const q = new aio.PriorityQueue<unknown>();
    expect(() => q.putNowait({})).toThrow(TypeError);
    for (const x of [5, 3, 8, 1]) q.putNowait(x);
    expect(() => q.putNowait('x')).toThrow(/cannot compare/);
    expect(q.qsize()).toBe(4);
    expect([q.getNowait(), q.getNowait(), q.getNowait(), q.getNowait()]).toEqual([1, 3, 5, 8]);
    expect(() => new aio.PriorityQueue(0, { compare: 3 } as never)).toThrow(TypeError);
  });

  test('PriorityQueue and LifoQueue: a woken getter cancelled gives the item back first', async () => {
    await lc.run(async () => {
      for (const q of [new aio.PriorityQueue<number>(), new aio.LifoQueue<number>()]) {
        const r = aio.createTask(async () => q.get());
        await aio.sleep(0);
        q.putNowait(5);
        r.cancel();
        await aio.wait([r]);
        expect(r.cancelled()).toBe(true);
        q.putNowait(q instanceof aio.PriorityQueue ? 9 : 1);
        expect(q.getNowait()).toBe(q instanceof aio.PriorityQueue ? 5 : 1);
      }
    });
  });

  test('producers and consumers with a bounded queue (test_why_are_getters_waiting)', async () => {
    await lc.run(function* () {
      const q = new aio.Queue<number>(1);
      const out: number[] = [];
      yield* aio.taskGroup(function* (tg) {
        tg.createTask(function* () {
          for (let i = 0; i < 20; i++) yield* q.put(i);
        });
        tg.createTask(async () => {
          for (let i = 0; i < 20; i++) out.push(await q.get());
        });
      });
      expect(out).toEqual([...Array(20).keys()]);
    }).catch((e) => {
      throw e.exceptions?.[0] ?? e;
    });
  });
});
