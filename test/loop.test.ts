// Event loop behaviour (CPython test_base_events.py / test_events.py, translated): callback
// order, timers, running and stopping, closing, the exception handler, debug mode.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

afterEach(() => {
  aio.setLogger(null);
});

/** Captures what the library logs. */
function captureLog(): { warnings: string[]; errors: [string, unknown][] } {
  const out = { warnings: [] as string[], errors: [] as [string, unknown][] };
  aio.setLogger({
    warning: (m) => void out.warnings.push(m),
    error: (m, e) => void out.errors.push([m, e]),
  });
  return out;
}

/** Busy-waits (a slow callback). */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

eachLoop((lc) => {
  // --- scheduling order ---------------------------------------------------------------------------

  test('callSoon runs callbacks FIFO with their arguments', async () => {
    const order: unknown[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      for (let i = 0; i < 5; i++) loop.callSoon((a: number, b: string) => order.push(`${a}${b}`), i, 'x');
      loop.callSoon(() => order.push('noargs'));
      yield* aio.sleep(0);
    });
    expect(order).toEqual(['0x', '1x', '2x', '3x', '4x', 'noargs']);
  });

  test('callbacks scheduled by a callback run in the next iteration', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      loop.callSoon(() => {
        order.push('a');
        loop.callSoon(() => order.push('c'));
      });
      loop.callSoon(() => order.push('b'));
      yield* aio.sleep(0);
      order.push('task');
      yield* aio.sleep(0);
    });
    expect(order).toEqual(['a', 'b', 'task', 'c']);
  });

  test('timers run in order of when; equal whens in scheduling order', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const now = loop.time();
      loop.callAt(now + 0.02, () => order.push('t20'));
      loop.callAt(now + 0.01, () => order.push('t10a'));
      loop.callLater(0.03, () => order.push('t30'));
      loop.callAt(now + 0.01, () => order.push('t10b'));
      loop.callAt(now + 0.01, () => order.push('t10c'));
      loop.callAt(now - 1, () => order.push('past'));
      yield* aio.sleep(0.06);
    });
    expect(order).toEqual(['past', 't10a', 't10b', 't10c', 't20', 't30']);
  });

  test('callSoon(A); callLater(0, B); callSoon(C) runs A, C, B', async () => {
    const order: string[] = [];
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      loop.callSoon(() => order.push('A'));
      loop.callLater(0, () => order.push('B'));
      loop.callSoon(() => order.push('C'));
      await aio.sleep(0.01);
    });
    expect(order).toEqual(['A', 'C', 'B']);
  });

  test('negative delays: the more negative runs first, before later timers', async () => {
    const calls: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      loop.callLater(0, (x: string) => calls.push(x), 'zero');
      loop.callLater(-1, (x: string) => calls.push(x), 'a');
      loop.callLater(-2, (x: string) => calls.push(x), 'b');
      yield* aio.sleep(0.005);
    });
    expect(calls).toEqual(['b', 'a', 'zero']);
  });

  test('callSoonThreadsafe behaves like callSoon on the loop thread', async () => {
    const calls: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      loop.callSoon(() => calls.push('soon'));
      const h = loop.callSoonThreadsafe((x: string) => calls.push(x), 'threadsafe');
      expect(h).toBeInstanceOf(aio.Handle);
      yield* aio.sleep(0);
    });
    expect(calls).toEqual(['soon', 'threadsafe']);
  });

  test('many timers with the same when keep scheduling order', async () => {
    const order: number[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const when = loop.time() + 0.005;
      for (let i = 0; i < 200; i++) loop.callAt(when, () => order.push(i));
      yield* aio.sleep(0.02);
    });
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test('a timer never fires before its when by loop.time()', async () => {
    const early: number[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const handles: aio.TimerHandle[] = [];
      for (let i = 0; i < 30; i++) {
        const h: aio.TimerHandle = loop.callLater(0.001 * (i % 7), () => {
          const dt = loop.time() - h.when();
          if (dt < 0) early.push(dt);
        });
        handles.push(h);
      }
      yield* aio.sleep(0.03);
    });
    expect(early).toEqual([]);
  });

  test('time() is monotonic and in seconds', async () => {
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const t0 = loop.time();
      const d0 = Date.now();
      let prev = t0;
      for (let i = 0; i < 1000; i++) {
        const t = loop.time();
        expect(t).toBeGreaterThanOrEqual(prev);
        prev = t;
      }
      yield* aio.sleep(0.05);
      const dt = loop.time() - t0;
      const wall = (Date.now() - d0) / 1000;
      expect(dt).toBeGreaterThanOrEqual(0.049);
      // Seconds, not milliseconds: within a generous factor of the wall clock.
      expect(dt).toBeLessThan(wall + 1);
    });
  });

  // --- handles ------------------------------------------------------------------------------------

  test('Handle.cancel keeps a callback from running; cancelled()', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const h = loop.callSoon(() => order.push('cancelled one'));
      loop.callSoon(() => order.push('kept'));
      expect(h.cancelled()).toBe(false);
      h.cancel();
      h.cancel();
      expect(h.cancelled()).toBe(true);
      yield* aio.sleep(0);
    });
    expect(order).toEqual(['kept']);
  });

  test('a callback can cancel a later one in the same batch', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      let h2!: aio.Handle;
      loop.callSoon(() => h2.cancel());
      h2 = loop.callSoon(() => order.push('should not run'));
      loop.callSoon(() => order.push('third'));
      yield* aio.sleep(0);
    });
    expect(order).toEqual(['third']);
  });

  test('TimerHandle.when() and cancel()', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const at = loop.time() + 0.005;
      const h = loop.callAt(at, () => order.push('x'));
      expect(h).toBeInstanceOf(aio.TimerHandle);
      expect(h.when()).toBe(at);
      const l = loop.callLater(0.005, () => order.push('later'));
      expect(l.when()).toBeGreaterThanOrEqual(at - 0.005);
      h.cancel();
      expect(h.cancelled()).toBe(true);
      yield* aio.sleep(0.02);
    });
    expect(order).toEqual(['later']);
  });

  test('cancelling many timers (heap compaction) leaves the rest in order', async () => {
    const order: number[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const hs: aio.TimerHandle[] = [];
      const base = loop.time();
      for (let i = 0; i < 300; i++) hs.push(loop.callAt(base + 0.001 + (i % 10) * 0.001, () => order.push(i)));
      for (let i = 0; i < 300; i++) if (i % 3 !== 0) hs[i]!.cancel();
      yield* aio.sleep(0.001);
      yield* aio.sleep(0.03);
    });
    const expected = Array.from({ length: 300 }, (_, i) => i)
      .filter((i) => i % 3 === 0)
      .sort((a, b) => (a % 10) - (b % 10) || a - b);
    expect(order).toEqual(expected);
  });

  test('Handle toString names the callback', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const h = loop.callSoon(function namedCallback() {});
      expect(String(h)).toContain('namedCallback');
      h.cancel();
      expect(String(h)).toContain('cancelled');
    });
  });

  // --- running and stopping -------------------------------------------------------------------------

  test('stop() lets the current batch finish; the rest runs on the next runForever', async () => {
    const loop = lc.newLoop();
    const order: string[] = [];
    loop.callSoon(() => {
      order.push('a');
      loop.stop();
      loop.callSoon(() => order.push('next run'));
    });
    loop.callSoon(() => order.push('b'));
    await loop.runForever();
    expect(order).toEqual(['a', 'b']);
    expect(loop.isRunning()).toBe(false);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    expect(order).toEqual(['a', 'b', 'next run']);
    loop.close();
  });

  test('stop() before runForever runs exactly one iteration', async () => {
    const loop = lc.newLoop();
    const order: string[] = [];
    loop.callSoon(() => {
      order.push('first');
      loop.callSoon(() => order.push('second'));
    });
    loop.stop();
    await loop.runForever();
    expect(order).toEqual(['first']);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    expect(order).toEqual(['first', 'second']);
    loop.close();
  });

  test('runForever, stop, then runUntilComplete on the same loop', async () => {
    const loop = lc.newLoop();
    loop.callLater(0.002, () => loop.stop());
    await loop.runForever();
    const r = await loop.runUntilComplete(async () => {
      await aio.sleep(0.001);
      return aio.getRunningLoop() === loop;
    });
    expect(r).toBe(true);
    expect(await loop.runUntilComplete(aio.ensureFuture(Promise.resolve(3), loop))).toBe(3);
    loop.close();
    expect(loop.isClosed()).toBe(true);
  });

  test('isRunning is true inside callbacks; getRunningLoop is the loop', async () => {
    const loop = lc.newLoop();
    let inside: [boolean, unknown] = [false, null];
    loop.callSoon(() => {
      inside = [loop.isRunning(), aio.getRunningLoop()];
      loop.stop();
    });
    expect(loop.isRunning()).toBe(false);
    await loop.runForever();
    expect(inside).toEqual([true, loop]);
    loop.close();
  });

  test('timers do not fire while the loop is stopped; they fire on the next run', async () => {
    const loop = lc.newLoop();
    let fired = 0;
    await loop.runUntilComplete(async () => {
      aio.getRunningLoop().callLater(0.01, () => fired++);
    });
    await new Promise((r) => setTimeout(r, 40));
    expect(fired).toBe(0);
    await loop.runUntilComplete(async () => {
      await aio.sleep(0);
    });
    expect(fired).toBe(1);
    loop.close();
  });

  test('a timer armed while idle does not fire after an outside stop()', async () => {
    const loop = lc.newLoop();
    let fired = 0;
    loop.callLater(0.15, () => fired++);
    // stop() from outside the loop (a Node timer) while the loop idles waiting for its timer.
    setTimeout(() => loop.stop(), 5);
    await loop.runForever();
    await new Promise((r) => setTimeout(r, 200));
    expect(fired).toBe(0);
    loop.callLater(0.001, () => loop.stop());
    await loop.runForever();
    expect(fired).toBe(1);
    loop.close();
  });

  test('runUntilComplete of a future the loop stops before fails', async () => {
    const loop = lc.newLoop();
    const f = loop.createFuture();
    loop.callSoon(() => loop.stop());
    await expect(loop.runUntilComplete(f)).rejects.toThrow(/stopped before Future completed/);
    loop.close();
  });

  test('runUntilComplete of a done future returns its result', async () => {
    const loop = lc.newLoop();
    const f = loop.createFuture<number>();
    f.setResult(9);
    expect(await loop.runUntilComplete(f)).toBe(9);
    loop.close();
  });

  test('runUntilComplete rejects a future of another loop', async () => {
    const a = lc.newLoop();
    const b = lc.newLoop();
    await expect(a.runUntilComplete(b.createFuture())).rejects.toThrow(/different loop/);
    a.close();
    b.close();
  });

  test('running a running loop, or a second loop while one runs, is an error', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      await expect(loop.runForever()).rejects.toThrow(/already running/);
      await expect(loop.runUntilComplete(async () => 1)).rejects.toThrow(/already running/);
      const other = lc.newLoop();
      await expect(other.runForever()).rejects.toThrow(/another loop is running/);
      other.close();
    });
  });

  test('close() while running is an error', async () => {
    await lc.run(async () => {
      expect(() => aio.getRunningLoop().close()).toThrow(/running event loop/);
    });
  });

  test('a closed loop cannot run or schedule; close() twice is fine', async () => {
    const loop = lc.newLoop();
    loop.close();
    loop.close();
    expect(loop.isClosed()).toBe(true);
    await expect(loop.runForever()).rejects.toThrow(/closed/);
    await expect(loop.runUntilComplete(async () => 1)).rejects.toThrow(/closed/);
    expect(() => loop.callSoon(() => {})).toThrow(/closed/);
    expect(() => loop.callLater(1, () => {})).toThrow(/closed/);
    expect(() => loop.createTask(async () => {})).toThrow(/closed/);
  });

  test('close() drops pending callbacks and timers', async () => {
    const loop = lc.newLoop();
    let ran = 0;
    loop.callSoon(() => ran++);
    const h = loop.callLater(0.001, () => ran++);
    loop.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(0);
    expect(h.cancelled()).toBe(true);
  });

  test('shutdownAsyncgens and shutdownDefaultExecutor resolve', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      await loop.shutdownAsyncgens();
      await loop.shutdownDefaultExecutor();
    });
  });

  // --- futures and tasks on the loop ---------------------------------------------------------------

  test('setTaskFactory / getTaskFactory', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(loop.getTaskFactory()).toBeNull();
      const made: string[] = [];
      const factory: aio.TaskFactory = (l, coro, opts) => {
        made.push(opts?.name ?? '?');
        loop.setTaskFactory(null);
        const t = l.createTask(coro, opts);
        loop.setTaskFactory(factory);
        return t;
      };
      loop.setTaskFactory(factory);
      expect(loop.getTaskFactory()).toBe(factory);
      const t = aio.createTask(async () => 5, { name: 'via-factory' });
      expect(await t).toBe(5);
      expect(made).toEqual(['via-factory']);
      loop.setTaskFactory(null);
      expect(() => loop.setTaskFactory(5 as never)).toThrow(TypeError);
    });
  });

  // --- the exception handler ------------------------------------------------------------------------

  test('an exception in a callback reaches the handler with message, exception and handle', async () => {
    const errors: aio.ExceptionContext[] = [];
    let h!: aio.Handle;
    let after = false;
    await lc.run(
      function* () {
        const loop = aio.getRunningLoop();
        h = loop.callSoon(function explode() {
          throw new Error('kaboom');
        });
        loop.callSoon(() => (after = true));
        yield* aio.sleep(0);
      },
      { allowErrors: true, errors },
    );
    expect(after).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/Exception in callback.*explode/);
    expect((errors[0]!.exception as Error).message).toBe('kaboom');
    expect(errors[0]!.handle).toBe(h);
  });

  test('an exception in a timer callback reaches the handler', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(
      function* () {
        aio.getRunningLoop().callLater(0.001, () => {
          throw new TypeError('timer');
        });
        yield* aio.sleep(0.01);
      },
      { allowErrors: true, errors },
    );
    expect(errors.map((e) => (e.exception as Error).message)).toEqual(['timer']);
    expect(errors[0]!.handle).toBeInstanceOf(aio.TimerHandle);
  });

  test('setExceptionHandler / getExceptionHandler; null restores the default', async () => {
    const log = captureLog();
    await lc.run(
      function* () {
        const loop = aio.getRunningLoop();
        const prev = loop.getExceptionHandler();
        expect(typeof prev).toBe('function'); // the test harness installs one
        const seen: string[] = [];
        const handler: aio.ExceptionHandler = (l, ctx) => {
          expect(l).toBe(loop);
          seen.push(ctx.message);
        };
        loop.setExceptionHandler(handler);
        expect(loop.getExceptionHandler()).toBe(handler);
        loop.callSoon(() => {
          throw new Error('x');
        });
        yield* aio.sleep(0);
        expect(seen).toHaveLength(1);
        loop.setExceptionHandler(null);
        expect(loop.getExceptionHandler()).toBeNull();
        loop.callSoon(() => {
          throw new Error('to default');
        });
        yield* aio.sleep(0);
        loop.setExceptionHandler(prev);
        expect(() => loop.setExceptionHandler(5 as never)).toThrow(TypeError);
      },
      { allowErrors: true },
    );
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]![0]).toMatch(/Exception in callback/);
    expect((log.errors[0]![1] as Error).message).toBe('to default');
  });

  test('defaultExceptionHandler logs the message, extra keys and the exception', async () => {
    const log = captureLog();
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const err = new Error('dflt');
      loop.defaultExceptionHandler({ message: 'something happened', exception: err, extra: { a: 1 } });
      loop.defaultExceptionHandler({ message: '' });
    });
    expect(log.errors[0]![0]).toMatch(/something happened/);
    expect(log.errors[0]![0]).toMatch(/extra/);
    expect(log.errors[0]![1]).toBeInstanceOf(Error);
    expect(log.errors[1]![0]).toMatch(/Unhandled exception in event loop/);
  });

  test('callExceptionHandler calls the custom handler with the context', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(
      async () => {
        aio.getRunningLoop().callExceptionHandler({ message: 'custom', detail: 42 });
      },
      { allowErrors: true, errors },
    );
    expect(errors).toEqual([{ message: 'custom', detail: 42 }]);
  });

  test('a throwing exception handler does not break the loop; the default handler reports it', async () => {
    const log = captureLog();
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const prev = loop.getExceptionHandler();
      loop.setExceptionHandler(() => {
        throw new Error('handler broke');
      });
      loop.callSoon(() => {
        throw new Error('cb broke');
      });
      loop.callSoon(() => order.push('still running'));
      yield* aio.sleep(0);
      loop.setExceptionHandler(prev);
      order.push('task continues');
    });
    expect(order).toEqual(['still running', 'task continues']);
    expect(log.errors).toHaveLength(1);
    expect(log.errors[0]![0]).toMatch(/Unhandled error in exception handler/);
    expect((log.errors[0]![1] as Error).message).toBe('handler broke');
  });

  test('a throwing logger does not break the loop either', async () => {
    aio.setLogger({
      warning: () => {
        throw new Error('logger broke');
      },
      error: () => {
        throw new Error('logger broke');
      },
    });
    const origError = console.error;
    const seen: unknown[] = [];
    console.error = (...a: unknown[]) => void seen.push(a);
    try {
      const order: string[] = [];
      await lc.run(function* () {
        const loop = aio.getRunningLoop();
        const prev = loop.getExceptionHandler();
        loop.setExceptionHandler(null);
        loop.callSoon(() => {
          throw new Error('cb');
        });
        loop.callSoon(() => order.push('ok'));
        yield* aio.sleep(0);
        loop.setExceptionHandler(prev);
      });
      expect(order).toEqual(['ok']);
      expect(seen.length).toBeGreaterThan(0);
    } finally {
      console.error = origError;
    }
  });

  // --- debug mode -----------------------------------------------------------------------------------

  test('debug: getDebug/setDebug; slowCallbackDuration default 0.1', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(loop.slowCallbackDuration).toBe(0.1);
      loop.setDebug(true);
      expect(loop.getDebug()).toBe(true);
      loop.setDebug(false);
      expect(loop.getDebug()).toBe(false);
    });
  });

  test('debug mode warns about a slow callback, naming it', async () => {
    const log = captureLog();
    await lc.run(
      function* () {
        const loop = aio.getRunningLoop();
        loop.slowCallbackDuration = 0.02;
        loop.callSoon(function verySlowCallback() {
          busy(40);
        });
        loop.callSoon(function quickCallback() {});
        yield* aio.sleep(0);
      },
      { debug: true },
    );
    const slow = log.warnings.filter((w) => /took/.test(w));
    expect(slow.some((w) => w.includes('verySlowCallback'))).toBe(true);
    expect(slow.some((w) => w.includes('quickCallback'))).toBe(false);
  });

  test('no slow-callback warnings outside debug mode', async () => {
    const log = captureLog();
    await lc.run(
      function* () {
        const loop = aio.getRunningLoop();
        loop.slowCallbackDuration = 0.005;
        loop.callSoon(function slowButNotDebug() {
          busy(15);
        });
        yield* aio.sleep(0);
      },
      { debug: false },
    );
    expect(log.warnings.filter((w) => /took/.test(w))).toEqual([]);
  });

  test('debug mode: a slow task step is reported naming the task', async () => {
    const log = captureLog();
    await lc.run(
      function* () {
        aio.getRunningLoop().slowCallbackDuration = 0.02;
        const t = aio.createTask(
          function* () {
            busy(40);
            yield* aio.sleep(0);
          },
          { name: 'slowpoke' },
        );
        yield* t;
      },
      { debug: true },
    );
    expect(log.warnings.some((w) => /took/.test(w) && w.includes('slowpoke'))).toBe(true);
  });

  test('debug mode: a slow async-function step is reported naming the task', async () => {
    const log = captureLog();
    await lc.run(
      async () => {
        aio.getRunningLoop().slowCallbackDuration = 0.02;
        const t = aio.createTask(
          async () => {
            await aio.sleep(0);
            busy(40);
            await aio.sleep(0);
          },
          { name: 'asyncSlowpoke' },
        );
        await t;
      },
      { debug: true },
    );
    expect(log.warnings.some((w) => /took/.test(w) && w.includes('asyncSlowpoke'))).toBe(true);
  });
});

test('addReader and friends on the pure loop throw NotImplementedError', () => {
  const loop = new aio.PureEventLoop();
  try {
    expect(() => loop.addReader(0, () => {})).toThrow(aio.NotImplementedError);
    expect(() => loop.addReader(0, () => {})).toThrow(/addReader/);
    expect(() => loop.removeReader(0)).toThrow(aio.NotImplementedError);
    expect(() => loop.addWriter(1, () => {})).toThrow(aio.NotImplementedError);
    expect(() => loop.removeWriter(1)).toThrow(aio.NotImplementedError);
  } finally {
    loop.close();
  }
});

const dist = path.join(root, 'dist', 'index.js');

test('"exception was never retrieved" is reported when a failed future is collected', async () => {
  // A child process with --expose-gc against the built package (`npm test` builds it first): a
  // failed Future and a failed Task nobody looks at are collected and reported; one whose
  // exception() was read is not.
  if (!existsSync(dist)) throw new Error(`${dist} is missing: run \`npm run build\` first`);
  const script = `
    import * as aio from ${JSON.stringify(dist)};
    const reports = [];
    const loop = new aio.PureEventLoop();
    loop.setExceptionHandler((_l, ctx) => reports.push(ctx.message + ' / ' + (ctx.exception && ctx.exception.message)));
    await loop.runUntilComplete(function* () {
      (() => { const f = loop.createFuture(); f.setException(new Error('lost future')); })();
      (() => { const f = loop.createFuture(); f.setException(new Error('seen future')); f.exception(); })();
      (() => { aio.createTask(function* () { throw new Error('lost task'); }); })();
      // A failure the awaiting task was woken for, raced by cancel(): the task retrieves it.
      for (const form of ['gen', 'async']) {
        const f = loop.createFuture();
        const t = form === 'gen'
          ? aio.createTask(function* () { yield* f; })
          : aio.createTask(async () => { await f; });
        yield* aio.sleep(0);
        f.setException(new Error('raced ' + form));
        t.cancel();
      }
      yield* aio.sleep(0.01);
    });
    for (let i = 0; i < 20 && reports.length < 2; i++) {
      globalThis.gc();
      await new Promise((r) => setTimeout(r, 10));
    }
    loop.close();
    console.error(JSON.stringify(reports.sort()));
  `;
  const { stderr } = await execFileP(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], {
    cwd: root,
    timeout: 20_000,
  });
  const reports = JSON.parse(stderr.trim().split('\n').pop()!) as string[];
  expect(reports).toEqual([
    'Future exception was never retrieved / lost future',
    'Task exception was never retrieved / lost task',
  ]);
});
