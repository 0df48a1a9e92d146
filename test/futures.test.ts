// Future behaviour (CPython test_futures.py, translated): states, results, cancel messages,
// misuse, done callbacks, and the two ways to wait (await / yield*).
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('a new future is pending; result() and exception() throw InvalidStateError', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      expect(f.done()).toBe(false);
      expect(f.cancelled()).toBe(false);
      expect(() => f.result()).toThrow(aio.InvalidStateError);
      expect(() => f.exception()).toThrow(aio.InvalidStateError);
      expect(f.getLoop()).toBe(aio.getRunningLoop());
    });
  });

  test('setResult: done, result(), exception() undefined', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      f.setResult(42);
      expect(f.done()).toBe(true);
      expect(f.cancelled()).toBe(false);
      expect(f.result()).toBe(42);
      expect(f.exception()).toBeUndefined();
    });
  });

  test('setException: result() throws it, exception() returns it', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture<number>();
      const err = new RangeError('boom');
      f.setException(err);
      expect(f.done()).toBe(true);
      expect(f.exception()).toBe(err);
      expect(() => f.result()).toThrow(err);
    });
  });

  test('setException(undefined) is a TypeError', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture();
      expect(() => f.setException(undefined)).toThrow(TypeError);
      expect(f.done()).toBe(false);
    });
  });

  test('cancel: cancelled(), result() and exception() throw CancelledError', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture();
      expect(f.cancel()).toBe(true);
      expect(f.cancelled()).toBe(true);
      expect(f.done()).toBe(true);
      expect(() => f.result()).toThrow(aio.CancelledError);
      expect(() => f.exception()).toThrow(aio.CancelledError);
      expect(f.cancel()).toBe(false);
    });
  });

  test('cancel message reaches the CancelledError', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture();
      f.cancel('my message');
      let caught: unknown;
      try {
        f.result();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(aio.CancelledError);
      expect((caught as Error).message).toBe('my message');
      await expect(f).rejects.toThrow('my message');
    });
  });

  test('misuse of a done future throws InvalidStateError', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      f.setResult(1);
      expect(() => f.setResult(2)).toThrow(aio.InvalidStateError);
      expect(() => f.setException(new Error('x'))).toThrow(aio.InvalidStateError);
      expect(f.cancel()).toBe(false);
      expect(f.result()).toBe(1);
      const g = loop.createFuture<number>();
      g.cancel();
      expect(() => g.setResult(1)).toThrow(aio.InvalidStateError);
      expect(() => g.setException(new Error('x'))).toThrow(aio.InvalidStateError);
    });
  });

  test('done callbacks run via callSoon, never inline, in registration order', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      const order: string[] = [];
      f.addDoneCallback((x) => order.push(`a${x.result()}`));
      f.addDoneCallback(() => order.push('b'));
      loop.callSoon(() => order.push('soon'));
      f.setResult(7);
      f.addDoneCallback(() => order.push('c'));
      expect(order).toEqual([]);
      await aio.sleep(0);
      expect(order).toEqual(['soon', 'a7', 'b', 'c']);
    });
  });

  test('addDoneCallback on a done future still waits for callSoon', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture<string>();
      f.setResult('x');
      let got: string | null = null;
      f.addDoneCallback((fut) => (got = fut.result()));
      expect(got).toBeNull();
      yield* aio.sleep(0);
      expect(got).toBe('x');
    });
  });

  test('the callback receives the future itself', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture();
      let seen: unknown = null;
      f.addDoneCallback((x) => (seen = x));
      f.cancel();
      yield* aio.sleep(0);
      expect(seen).toBe(f);
    });
  });

  test('removeDoneCallback removes every registration and returns the count', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture();
      const calls: string[] = [];
      const a = () => calls.push('a');
      const b = () => calls.push('b');
      f.addDoneCallback(a);
      f.addDoneCallback(b);
      f.addDoneCallback(a);
      f.addDoneCallback(b);
      f.addDoneCallback(a);
      expect(f.removeDoneCallback(a)).toBe(3);
      expect(f.removeDoneCallback(a)).toBe(0);
      f.setResult(1);
      yield* aio.sleep(0);
      expect(calls).toEqual(['b', 'b']);
    });
  });

  test('removeDoneCallback on a single registration and on none', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture();
      const a = () => {};
      expect(f.removeDoneCallback(a)).toBe(0);
      f.addDoneCallback(a);
      expect(f.removeDoneCallback(() => {})).toBe(0);
      expect(f.removeDoneCallback(a)).toBe(1);
      f.setResult(1);
      yield* aio.sleep(0);
    });
  });

  test('addDoneCallback with a non-function is a TypeError naming callback', async () => {
    await lc.run(async () => {
      const f = aio.getRunningLoop().createFuture();
      expect(() => f.addDoneCallback(5 as never)).toThrow(/callback/);
      expect(() => f.addDoneCallback(5 as never)).toThrow(TypeError);
    });
  });

  test('a throwing done callback goes to the exception handler; the others still run', async () => {
    const errors: aio.ExceptionContext[] = [];
    const order: string[] = [];
    await lc.run(
      function* () {
        const f = aio.getRunningLoop().createFuture();
        f.addDoneCallback(function failing() {
          throw new Error('cb failed');
        });
        f.addDoneCallback(() => order.push('second'));
        f.setResult(1);
        yield* aio.sleep(0);
      },
      { allowErrors: true, errors },
    );
    expect(order).toEqual(['second']);
    expect(errors).toHaveLength(1);
    expect((errors[0]!.exception as Error).message).toBe('cb failed');
    expect(errors[0]!.message).toMatch(/failing/);
  });

  test('await fut and yield* fut both give the result', async () => {
    const r = await lc.runVirtual(function* () {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callLater(0.001, () => f.setResult(5));
      const a = yield* f;
      const g = loop.createFuture<number>();
      loop.callSoon(() => g.setResult(6));
      const b = yield* aio.createTask(async () => (await g) + 1);
      return [a, b];
    });
    expect(r).toEqual([5, 7]);
  });

  test('await and yield* of a failed future throw its exception', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setException(new TypeError('bad')));
      await expect(f).rejects.toThrow('bad');
      const t = aio.createTask(function* () {
        try {
          yield* f;
        } catch (e) {
          return (e as Error).message;
        }
        return 'no';
      });
      expect(await t).toBe('bad');
    });
  });

  test('yield* of a done future does not suspend', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      f.setResult(3);
      let ran = false;
      loop.callSoon(() => (ran = true));
      const v = yield* f;
      expect(v).toBe(3);
      expect(ran).toBe(false);
      yield* aio.sleep(0);
      expect(ran).toBe(true);
    });
  });

  test('yield* the same future twice gives the same result', async () => {
    const r = await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setResult(11));
      return [yield* f, yield* f];
    });
    expect(r).toEqual([11, 11]);
  });

  test('the future iterator yields the future once, passes throw() through, then returns', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      const it = f[Symbol.iterator]();
      const first = it.next();
      expect(first.done).toBe(false);
      expect(first.value).toBe(f);
      expect(() => it.throw!(new Error('thrown in'))).toThrow('thrown in');
      f.setResult(3);
      expect(it.next()).toEqual({ done: true, value: 3 });
      const done = loop.createFuture<number>();
      done.setResult(4);
      expect(done[Symbol.iterator]().next()).toEqual({ done: true, value: 4 });
    });
  });

  test('removeDoneCallback after the future is done finds nothing; callbacks are not re-run', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture();
      let n = 0;
      const cb = () => n++;
      f.addDoneCallback(cb);
      f.setResult(1);
      expect(f.removeDoneCallback(cb)).toBe(0);
      yield* aio.sleep(0);
      yield* aio.sleep(0);
      expect(n).toBe(1);
    });
  });

  test('a callback removing another during dispatch does not stop it (both were scheduled)', async () => {
    await lc.run(function* () {
      const f = aio.getRunningLoop().createFuture();
      const calls: string[] = [];
      const second = () => calls.push('second');
      f.addDoneCallback(() => {
        calls.push('first');
        f.removeDoneCallback(second);
      });
      f.addDoneCallback(second);
      f.setResult(1);
      yield* aio.sleep(0);
      expect(calls).toEqual(['first', 'second']);
    });
  });

  test('then() with handlers, chaining, and a throwing handler', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setResult(2));
      expect(await f.then((v) => v * 10)).toBe(20);
      await expect(f.then(() => {
        throw new Error('in then');
      })).rejects.toThrow('in then');
      const g = loop.createFuture<number>();
      g.setException(new Error('gx'));
      expect(await g.then(undefined, (e) => `caught ${(e as Error).message}`)).toBe('caught gx');
    });
  });

  test('catch() and finally()', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      loop.callSoon(() => f.setException(new Error('c')));
      expect(await f.catch((e) => (e as Error).message)).toBe('c');
      let fin = 0;
      const g = loop.createFuture<number>();
      loop.callSoon(() => g.setResult(9));
      expect(await g.finally(() => fin++)).toBe(9);
      expect(fin).toBe(1);
      const h = loop.createFuture<number>();
      h.cancel();
      await expect(h.finally(() => fin++)).rejects.toBeInstanceOf(aio.CancelledError);
      expect(fin).toBe(2);
    });
  });

  test('then() from outside any task works once the loop sets the result', async () => {
    const loop = lc.newLoop();
    const f = loop.createFuture<number>();
    const p = f.then((v) => v + 1);
    loop.callSoon(() => f.setResult(1));
    await loop.runUntilComplete(aio.ensureFuture(async () => {
      await aio.sleep(0.001);
    }, loop));
    loop.close();
    expect(await p).toBe(2);
  });

  test('a thenable result is flattened by await but not by yield*', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const inner = Promise.resolve('inner');
      const f = loop.createFuture<Promise<string>>();
      f.setResult(inner);
      expect(await f).toBe('inner');
      const viaYield = await aio.createTask(function* () {
        return yield* f;
      });
      // The Task's result is the Promise itself; awaiting the task flattens it once more.
      expect(viaYield).toBe('inner');
      const t = aio.createTask(function* () {
        const v = yield* f;
        return [v];
      });
      const box = await t;
      expect(box[0]).toBe(inner);
    });
  });

  test('a Future is a PromiseLike accepted by Promise.resolve and Promise.all', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      loop.callSoon(() => a.setResult(1));
      loop.callLater(0.001, () => b.setResult(2));
      expect(await Promise.all([a, b])).toEqual([1, 2]);
      expect(await Promise.resolve(a)).toBe(1);
    });
  });

  test('toString shows the state', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<number>();
      expect(String(f)).toMatch(/pending/);
      f.setResult(12);
      expect(String(f)).toMatch(/finished.*12/);
      const g = loop.createFuture();
      g.cancel();
      expect(String(g)).toMatch(/cancelled/);
      expect(Object.prototype.toString.call(g)).toBe('[object Future]');
    });
  });

  test('isFuture recognises futures and tasks only', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(aio.isFuture(loop.createFuture())).toBe(true);
      expect(aio.isFuture(aio.createTask(async () => 1))).toBe(true);
      expect(aio.isFuture(Promise.resolve(1))).toBe(false);
      expect(aio.isFuture({ then() {} })).toBe(false);
      await aio.sleep(0);
    });
  });

  test('new Future() inside a running loop belongs to that loop', async () => {
    await lc.run(async () => {
      const f = new aio.Future<number>();
      expect(f.getLoop()).toBe(aio.getRunningLoop());
    });
  });

  test('a retrieved exception is not reported; reading exception() counts as retrieval', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture();
      f.setException(new Error('seen'));
      expect((f.exception() as Error).message).toBe('seen');
      yield* aio.sleep(0);
    });
  });

  test('ensureFuture wraps a foreign rejected Promise; the rejection reaches the awaiter', async () => {
    await lc.run(function* () {
      const f = aio.ensureFuture(Promise.reject(new Error('foreign')));
      expect(aio.isFuture(f)).toBe(true);
      let msg = '';
      try {
        yield* f;
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toBe('foreign');
    });
  });

  test('a wrapped Promise settling after its loop closed is dropped quietly', async () => {
    const rejections: unknown[] = [];
    const onRejection = (e: unknown) => void rejections.push(e);
    process.on('unhandledRejection', onRejection);
    try {
      let wrapped!: aio.Future<unknown>;
      let wrappedBad!: aio.Future<unknown>;
      // Settled by hand once the loop is closed (a timer raced the loop's close under load).
      let settle!: () => void;
      let fail!: (e: Error) => void;
      await lc.run(async () => {
        wrapped = aio.ensureFuture(new Promise<void>((r) => (settle = r)));
        wrappedBad = aio.ensureFuture(new Promise((_, r) => (fail = r)));
      });
      settle();
      fail(new Error('late'));
      await new Promise((r) => setTimeout(r, 20));
      expect(rejections).toEqual([]);
      expect(wrapped.done()).toBe(false);
      expect(wrappedBad.done()).toBe(false);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });

  test('a Promise rejected with undefined becomes an Error', async () => {
    await lc.run(async () => {
      const f = aio.ensureFuture(Promise.reject(undefined));
      await expect(f).rejects.toBeInstanceOf(Error);
    });
  });
});
