// timeout()/timeoutAt() (CPython test_timeouts.py, translated to the function form).
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('expiry throws TimeoutError and cancels the body (async body)', async () => {
    await lc.runVirtual(async () => {
      let bodyErr: unknown;
      let cm!: aio.Timeout;
      const p = aio.timeout(0.01, async (t) => {
        cm = t;
        try {
          await aio.sleep(10);
        } catch (e) {
          bodyErr = e;
          throw e;
        }
      });
      await expect(p).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(bodyErr).toBeInstanceOf(aio.CancelledError);
      expect(cm.expired()).toBe(true);
    });
  });

  test('expiry with a generator body', async () => {
    await lc.runVirtual(function* () {
      let err: unknown;
      try {
        yield* aio.timeout(0.01, function* () {
          yield* aio.sleep(10);
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('a body finishing in time gives its result; expired() is false', async () => {
    await lc.runVirtual(async () => {
      let cm!: aio.Timeout;
      const r = await aio.timeout(10, async (t) => {
        cm = t;
        await aio.sleep(0.001);
        return 'in time';
      });
      expect(r).toBe('in time');
      expect(cm.expired()).toBe(false);
    });
  });

  test('CoroLike bodies: a generator object, an async function, a task, a promise', async () => {
    await lc.runVirtual(async () => {
      function* g(): aio.Coro<number> {
        yield* aio.sleep(0);
        return 1;
      }
      expect(await aio.timeout(1, g())).toBe(1);
      expect(await aio.timeout(1, async () => 2)).toBe(2);
      expect(await aio.timeout(1, aio.createTask(async () => 3))).toBe(3);
      expect(await aio.timeout(1, Promise.resolve(4))).toBe(4);
      expect(await aio.timeout(1, aio.sleep(0.001, 5))).toBe(5);
    });
  });

  test('a CoroLike body expiring', async () => {
    await lc.runVirtual(async () => {
      const t = aio.createTask(() => aio.sleep(10));
      await expect(aio.timeout(0.005, t)).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(t.cancelled()).toBe(true);
      function* g(): aio.Coro<void> {
        yield* aio.sleep(10);
      }
      await expect(aio.timeout(0.005, g())).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('the body\'s own error passes through, on time and before expiry', async () => {
    await lc.runVirtual(async () => {
      await expect(
        aio.timeout(10, async () => {
          await aio.sleep(0);
          throw new RangeError('own');
        }),
      ).rejects.toThrow(RangeError);
    });
  });

  test('null delay means no deadline', async () => {
    await lc.runVirtual(async () => {
      let cm!: aio.Timeout;
      const r = await aio.timeout(null, async (t) => {
        cm = t;
        expect(t.when()).toBeNull();
        await aio.sleep(0.01);
        return 'no deadline';
      });
      expect(r).toBe('no deadline');
      expect(cm.expired()).toBe(false);
      expect(await aio.timeoutAt(null, aio.sleep(0, 'at'))).toBe('at');
    });
  });

  test('timeout(0) and a deadline in the past expire at the first suspension', async () => {
    await lc.runVirtual(async () => {
      const log: string[] = [];
      await expect(
        aio.timeout(0, async () => {
          log.push('started');
          await aio.sleep(0);
          log.push('not reached');
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
      const loop = aio.getRunningLoop();
      await expect(aio.timeoutAt(loop.time() - 1, () => aio.sleep(1))).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(log).toEqual(['started']);
    });
  });

  test('timeout(0) with a body that never suspends returns its result', async () => {
    await lc.runVirtual(async () => {
      expect(await aio.timeout(0, async () => 'sync')).toBe('sync');
    });
  });

  test('an expired deadline (0, negative, in the past): the body runs to its first suspension, then TimeoutError', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const log: string[] = [];
      const deadlines: [string, (body: aio.TimeoutBody<string>) => aio.Future<string>][] = [
        ['timeout(0)', (b) => aio.timeout(0, b)],
        ['timeout(-1)', (b) => aio.timeout(-1, b)],
        ['timeout(-Infinity)', (b) => aio.timeout(-Infinity, b)],
        ['timeoutAt(now)', (b) => aio.timeoutAt(loop.time(), b)],
        ['timeoutAt(past)', (b) => aio.timeoutAt(loop.time() - 5, b)],
      ];
      for (const [name, run] of deadlines) {
        const cms: aio.Timeout[] = [];
        const bodies: [string, () => aio.TimeoutBody<string>][] = [
          [
            'async function',
            () => async (t: aio.Timeout) => {
              cms.push(t);
              log.push('started');
              try {
                await aio.sleep(0);
              } catch (e) {
                log.push((e as Error).name);
                throw e;
              }
              log.push('not reached');
              return 'no';
            },
          ],
          [
            'generator function',
            () =>
              function* (t: aio.Timeout) {
                cms.push(t);
                log.push('started');
                try {
                  yield* aio.sleep(1);
                } catch (e) {
                  log.push((e as Error).name);
                  throw e;
                }
                log.push('not reached');
                return 'no';
              },
          ],
          [
            'generator object',
            () =>
              (function* () {
                log.push('started');
                try {
                  yield* aio.sleep(0);
                } catch (e) {
                  log.push((e as Error).name);
                  throw e;
                }
                log.push('not reached');
                return 'no';
              })(),
          ],
        ];
        for (const [form, body] of bodies) {
          log.length = 0;
          cms.length = 0;
          const err = await run(body()).then(
            (v) => v,
            (e: unknown) => e,
          );
          expect(err, `${name}, ${form}`).toBeInstanceOf(aio.TimeoutError);
          expect((err as Error).cause, `${name}, ${form}`).toBeInstanceOf(aio.CancelledError);
          expect(log, `${name}, ${form}`).toEqual(['started', 'CancelledError']);
          for (const cm of cms) expect(cm.expired()).toBe(true);
        }
      }
    });
  });

  test('an expired deadline, a body that never suspends: its result, expired() false', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      for (const delay of [0, -1]) {
        let cm!: aio.Timeout;
        expect(
          await aio.timeout(delay, async (t) => {
            cm = t;
            return 'async';
          }),
        ).toBe('async');
        expect(cm.expired()).toBe(false);
        expect(
          await aio.timeout(delay, function* (t) {
            cm = t;
            return 'gen';
          }),
        ).toBe('gen');
        expect(cm.expired()).toBe(false);
        expect(
          await aio.timeoutAt(loop.time() + delay, function* (t) {
            cm = t;
            return 'at';
          }),
        ).toBe('at');
        expect(cm.expired()).toBe(false);
        expect(
          await aio.timeout(
            delay,
            (function* () {
              return 'object';
            })(),
          ),
        ).toBe('object');
        const done = loop.createFuture<string>();
        done.setResult('done future');
        expect(await aio.timeout(delay, done)).toBe('done future');
        const failed = loop.createFuture<string>();
        failed.setException(new URIError('failed future'));
        await expect(aio.timeout(delay, failed)).rejects.toBeInstanceOf(URIError);
        // Its own error passes too (not a TimeoutError).
        await expect(
          aio.timeout(delay, async () => {
            throw new EvalError('own');
          }),
        ).rejects.toBeInstanceOf(EvalError);
      }
    });
  });

  test('an expired deadline, a body that catches the cancellation: its value, expired() true', async () => {
    await lc.runVirtual(function* () {
      let cm!: aio.Timeout;
      const r = yield* aio.timeout(0, function* (t) {
        cm = t;
        try {
          yield* aio.sleep(0);
        } catch (e) {
          expect(e).toBeInstanceOf(aio.CancelledError);
          return 'caught';
        }
        return 'not reached';
      });
      expect(r).toBe('caught');
      expect(cm.expired()).toBe(true);
      expect(aio.currentTask()!.cancelling()).toBe(0);
    });
  });

  test('reschedule into the past, then no suspension: the result, expired() false', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      let cm!: aio.Timeout;
      const r = await aio.timeout(10, async (t) => {
        cm = t;
        t.reschedule(loop.time() - 1);
        return 'kept';
      });
      expect(r).toBe('kept');
      expect(cm.expired()).toBe(false);
    });
  });

  test('a deadline that passes while the body runs: TimeoutError caused by CancelledError', async () => {
    await lc.runVirtual(async () => {
      const err = await aio.timeout(0.002, () => aio.sleep(10)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(aio.TimeoutError);
      expect((err as Error).cause).toBeInstanceOf(aio.CancelledError);
    });
  });

  test('when() gives the deadline in loop time', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const t0 = loop.time();
      await aio.timeout(5, async (t) => {
        const w = t.when()!;
        expect(w).toBeGreaterThanOrEqual(t0 + 5);
        expect(w).toBeLessThan(loop.time() + 5 + 1e-6);
      });
      const at = loop.time() + 3;
      await aio.timeoutAt(at, async (t) => {
        expect(t.when()).toBe(at);
      });
    });
  });

  test('reschedule moves the deadline later and earlier', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      // Later: the body outlives the original deadline.
      const r = await aio.timeout(0.01, async (t) => {
        t.reschedule(loop.time() + 10);
        await aio.sleep(0.03);
        return 'extended';
      });
      expect(r).toBe('extended');
      // Earlier: the body is cut short.
      await expect(
        aio.timeout(10, async (t) => {
          t.reschedule(loop.time() + 0.005);
          expect(t.when()).toBeLessThan(loop.time() + 1);
          await aio.sleep(10);
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
      // Into the past: expires at the next suspension.
      await expect(
        aio.timeout(10, async (t) => {
          t.reschedule(loop.time() - 1);
          await aio.sleep(10);
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('reschedule(null) removes the deadline; a null deadline can be set later', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      expect(
        await aio.timeout(0.005, async (t) => {
          t.reschedule(null);
          expect(t.when()).toBeNull();
          await aio.sleep(0.02);
          return 'kept';
        }),
      ).toBe('kept');
      await expect(
        aio.timeout(null, async (t) => {
          t.reschedule(loop.time() + 0.005);
          await aio.sleep(10);
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('reschedule after expiry or exit throws; bad values are rejected', async () => {
    await lc.runVirtual(async () => {
      let cm!: aio.Timeout;
      await aio.timeout(1, async (t) => {
        cm = t;
        expect(() => t.reschedule('soon' as never)).toThrow(TypeError);
        expect(() => t.reschedule(NaN)).toThrow(RangeError);
      });
      expect(() => cm.reschedule(1)).toThrow(/exited/);
      await aio.timeout(0.001, async (t) => {
        cm = t;
        try {
          await aio.sleep(10);
        } catch {
          // swallowed: expired() still says what happened
        }
      });
      expect(cm.expired()).toBe(true);
      expect(() => cm.reschedule(1)).toThrow(Error);
    });
  });

  test('a body that catches the cancellation and returns: no TimeoutError, expired() true', async () => {
    await lc.runVirtual(async () => {
      let cm!: aio.Timeout;
      const r = await aio.timeout(0.005, async (t) => {
        cm = t;
        try {
          await aio.sleep(10);
        } catch (e) {
          expect(e).toBeInstanceOf(aio.CancelledError);
          return 'swallowed';
        }
        return 'not reached';
      });
      expect(r).toBe('swallowed');
      expect(cm.expired()).toBe(true);
    });
  });

  test('a body that turns the cancellation into its own error: that error passes', async () => {
    await lc.runVirtual(async () => {
      await expect(
        aio.timeout(0.005, function* () {
          try {
            yield* aio.sleep(10);
          } catch {
            throw new SyntaxError('mine');
          }
        }),
      ).rejects.toBeInstanceOf(SyntaxError);
    });
  });

  test('nested: the inner expires first; the outer body sees TimeoutError and continues', async () => {
    await lc.runVirtual(async () => {
      let outerCm!: aio.Timeout;
      let innerCm!: aio.Timeout;
      const r = await aio.timeout(10, async (outer) => {
        outerCm = outer;
        try {
          await aio.timeout(0.005, async (inner) => {
            innerCm = inner;
            await aio.sleep(10);
          });
        } catch (e) {
          expect(e).toBeInstanceOf(aio.TimeoutError);
        }
        await aio.sleep(0);
        return 'outer ok';
      });
      expect(r).toBe('outer ok');
      expect(innerCm.expired()).toBe(true);
      expect(outerCm.expired()).toBe(false);
    });
  });

  test('nested: the outer expires first; the inner is cancelled, the outer throws TimeoutError', async () => {
    await lc.runVirtual(function* () {
      let innerErr: unknown;
      let innerCm!: aio.Timeout;
      let outerCm!: aio.Timeout;
      let err: unknown;
      try {
        yield* aio.timeout(0.005, function* (outer) {
          outerCm = outer;
          try {
            yield* aio.timeout(10, function* (inner) {
              innerCm = inner;
              yield* aio.sleep(10);
            });
          } catch (e) {
            innerErr = e;
            throw e;
          }
        });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(aio.TimeoutError);
      expect(innerErr).toBeInstanceOf(aio.CancelledError);
      expect(innerCm.expired()).toBe(false);
      expect(outerCm.expired()).toBe(true);
    });
  });

  test('nested with the same deadline: TimeoutError reaches the caller', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const when = loop.time() + 0.005;
      await expect(
        aio.timeoutAt(when, () => aio.timeoutAt(when, () => aio.sleep(10))),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
    });
  });

  test('nested, loop busy: the inner expires, then the outer stops the work after it', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      loop.slowCallbackDuration = 10;
      const busy = (ms: number) => {
        const end = performance.now() + ms;
        while (performance.now() < end);
      };
      const t0 = loop.time();
      let innerErr: unknown;
      await expect(
        aio.timeout(0.05, async () => {
          try {
            await aio.timeout(0.01, async () => {
              busy(15);
              await aio.sleep(1);
            });
          } catch (e) {
            innerErr = e;
          }
          busy(60);
          await aio.sleep(1);
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(innerErr).toBeInstanceOf(aio.TimeoutError);
      expect(loop.time() - t0).toBeLessThan(0.9);
    });
  });

  test('the awaiting task is not left cancelled or cancelling after a TimeoutError', async () => {
    await lc.runVirtual(async () => {
      const outer = aio.createTask(async () => {
        try {
          await aio.timeout(0.001, () => aio.sleep(10));
        } catch (e) {
          return (e as Error).name;
        }
        return 'no';
      });
      expect(await outer).toBe('TimeoutError');
      expect(outer.cancelled()).toBe(false);
      expect(outer.cancelling()).toBe(0);
      expect(aio.currentTask()!.cancelling()).toBe(0);
    });
  });

  test('the body failing in its cleanup after expiry: that error passes, not TimeoutError', async () => {
    await lc.runVirtual(async () => {
      await expect(
        aio.timeout(0.002, async () => {
          try {
            await aio.sleep(1);
          } finally {
            throw new RangeError('crash in finally');
          }
        }),
      ).rejects.toBeInstanceOf(RangeError);
    });
  });

  test('the body cancelling itself is a CancelledError, not a TimeoutError', async () => {
    await lc.runVirtual(async () => {
      let cm!: aio.Timeout;
      await expect(
        aio.timeout(10, async (t) => {
          cm = t;
          aio.currentTask()!.cancel();
          await aio.sleep(10);
        }),
      ).rejects.toBeInstanceOf(aio.CancelledError);
      expect(cm.expired()).toBe(false);
    });
  });

  test('cancelling the awaiting task cancels the body; CancelledError, not TimeoutError', async () => {
    await lc.runVirtual(function* () {
      let cm!: aio.Timeout;
      let bodyErr: unknown;
      const waiter = aio.createTask(async () =>
        aio.timeout(10, async (t) => {
          cm = t;
          try {
            await aio.sleep(10);
          } catch (e) {
            bodyErr = e;
            throw e;
          }
        }),
      );
      yield* aio.sleep(0.002);
      waiter.cancel();
      while (!waiter.done()) yield* aio.sleep(0);
      expect(waiter.cancelled()).toBe(true);
      expect(bodyErr).toBeInstanceOf(aio.CancelledError);
      expect(cm.expired()).toBe(false);
    });
  });

  test('cancelled from outside after expiry, while the body cleans up: CancelledError', async () => {
    await lc.runVirtual(function* () {
      const w = aio.createTask(async () =>
        aio.timeout(0.005, async () => {
          try {
            await aio.sleep(10);
          } finally {
            await aio.sleep(0.2);
          }
        }),
      );
      yield* aio.sleep(0.015);
      expect(w.done()).toBe(false);
      w.cancel();
      while (!w.done()) yield* aio.sleep(0.005);
      expect(w.cancelled()).toBe(true);
    });
  });

  test('cancelling the timeout future itself cancels the body', async () => {
    await lc.runVirtual(async () => {
      let bodyCancelled = false;
      const f = aio.timeout(10, async () => {
        try {
          await aio.sleep(10);
        } catch (e) {
          bodyCancelled = e instanceof aio.CancelledError;
          throw e;
        }
      });
      await aio.sleep(0);
      expect(f.cancel('why')).toBe(true);
      await expect(f).rejects.toBeInstanceOf(aio.CancelledError);
      expect(bodyCancelled).toBe(true);
      expect(f.cancelled()).toBe(true);
    });
  });

  test('the timeout is yield*-able and await-able and its result is typed', async () => {
    const r = await lc.runVirtual(function* () {
      const a: number = yield* aio.timeout(1, aio.sleep(0, 1));
      return a;
    });
    expect(r).toBe(1);
  });

  test('bad arguments: delay and when must be numbers, body must be awaitable', async () => {
    await lc.runVirtual(async () => {
      expect(() => aio.timeout('x' as never, async () => {})).toThrow(TypeError);
      expect(() => aio.timeout('x' as never, async () => {})).toThrow(/delay/);
      expect(() => aio.timeout(NaN, async () => {})).toThrow(RangeError);
      expect(() => aio.timeout(NaN, async () => {})).toThrow(/delay/);
      expect(() => aio.timeoutAt('x' as never, async () => {})).toThrow(/when/);
      expect(() => aio.timeoutAt(NaN, async () => {})).toThrow(RangeError);
      expect(() => aio.timeoutAt(NaN, async () => {})).toThrow(/when/);
      expect(() => aio.timeout(1, 42 as never)).toThrow(TypeError);
      expect(() => aio.timeout(1, 42 as never)).toThrow(/body/);
    });
  });

  test('toString shows the state', async () => {
    await lc.runVirtual(async () => {
      await aio.timeout(1, async (t) => {
        expect(String(t)).toMatch(/entered/);
      });
    });
  });
});
