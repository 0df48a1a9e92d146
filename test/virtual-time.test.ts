// aloop/testing: virtual time. Every test runs on the pure loop and on the native loop (whose C++
// timer wheel runs on the virtual clock); real time is measured only to show that none passed.
import { execFile } from 'node:child_process';
import * as net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import * as native from '../src/native.js';
import { NativeVirtualTimeLoop, VirtualTimeEventLoopPolicy, VirtualTimeLoop, newVirtualTimeLoop, runVirtual } from '../src/testing.js';
import { eachLoop } from './loops.js';

afterEach(() => aio.setLogger(null));

/** Real seconds `fn` takes. */
async function realSeconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** The native wheel fires by whole microseconds: its clock may read up to 1 µs past `when`. */
function expectTime(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected);
  expect(actual).toBeLessThan(expected + 2e-6);
}

eachLoop((lc) => {
  test('an hour of sleeps takes well under a second; loop.time() is 3600', async () => {
    const secs = await realSeconds(() =>
      lc.runVirtual(async () => {
        const loop = aio.getRunningLoop();
        expect(loop.time()).toBe(0);
        for (let i = 0; i < 60; i++) await aio.sleep(60);
        expectTime(loop.time(), 3600);
        await aio.sleep(3600);
        expectTime(loop.time(), 7200);
      }),
    );
    expect(secs).toBeLessThan(1);
  });

  test('the clock starts at `start`; generator and async tasks alike', async () => {
    await lc.runVirtual(
      function* () {
        const loop = aio.getRunningLoop();
        expect(loop.time()).toBe(1000);
        yield* aio.sleep(0.5);
        expectTime(loop.time(), 1000.5);
        yield* aio.createTask(async () => {
          await aio.sleep(0.25);
        });
        expectTime(loop.time(), 1000.75);
      },
      { start: 1000 },
    );
  });

  test('timers fire in `when` order, ties in scheduling order, each at its own time', async () => {
    const seen = await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const out: [string, number][] = [];
      const done = loop.createFuture<void>();
      const note = (name: string) => out.push([name, loop.time()]);
      loop.callLater(3, note, 'c1');
      loop.callLater(1, note, 'a');
      loop.callAt(3, note, 'c2');
      loop.callLater(2, note, 'b');
      loop.callLater(3, note, 'c3');
      loop.callLater(0, note, 'zero');
      loop.callSoon(note, 'soon');
      loop.callLater(1e-3, note, 'ms');
      loop.callLater(10, () => done.setResult());
      const cancelled = loop.callLater(2, note, 'cancelled');
      cancelled.cancel();
      await done;
      return out;
    });
    expect(seen.map(([n]) => n)).toEqual(['soon', 'zero', 'ms', 'a', 'b', 'c1', 'c2', 'c3']);
    const at = Object.fromEntries(seen);
    expect(at.soon).toBe(0);
    expect(at.zero).toBe(0);
    expectTime(at.ms!, 1e-3);
    expectTime(at.a!, 1);
    expectTime(at.b!, 2);
    expectTime(at.c3!, 3);
  });

  test('callSoon(A); callLater(0, B); callSoon(C) runs A, C, B; a timer set by a timer runs at its own time', async () => {
    const out = await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const seen: string[] = [];
      loop.callSoon(() => seen.push('A'));
      loop.callLater(0, () => seen.push('B'));
      loop.callSoon(() => seen.push('C'));
      loop.callLater(1, () => {
        seen.push(`outer@${loop.time()}`);
        loop.callLater(0.5, () => seen.push(`inner@${loop.time()}`));
      });
      loop.callLater(1.25, () => seen.push(`between@${loop.time()}`));
      await aio.sleep(2);
      return seen;
    });
    expect(out.slice(0, 3)).toEqual(['A', 'C', 'B']);
    expect(out.slice(3).map((s) => s.split('@')[0])).toEqual(['outer', 'between', 'inner']);
  });

  test('the clock does not move while callbacks are ready', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      let fired = -1;
      loop.callLater(1, () => (fired = loop.time()));
      // 10000 iterations in a row with work ready: the timer waits, time() stays 0.
      for (let i = 0; i < 10000; i++) await aio.sleep(0);
      expect(loop.time()).toBe(0);
      expect(fired).toBe(-1);
      await aio.sleep(2);
      expectTime(fired, 1);
    });
  });

  test('waitFor and timeout expire at their virtual deadline; in time, they give the result', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      await expect(aio.waitFor(aio.sleep(10), 5)).rejects.toBeInstanceOf(aio.TimeoutError);
      expectTime(loop.time(), 5);
      expect(await aio.waitFor(aio.sleep(1, 'ok'), 5)).toBe('ok');
      expectTime(loop.time(), 6);
      let expired: boolean | undefined;
      await expect(
        aio.timeout(2, async (t) => {
          try {
            await aio.sleep(100);
          } finally {
            expired = t.expired();
          }
        }),
      ).rejects.toBeInstanceOf(aio.TimeoutError);
      expect(expired).toBe(true);
      expectTime(loop.time(), 8);
      // Rescheduled later, the body finishes first.
      const r = await aio.timeout(1, async (t) => {
        t.reschedule(loop.time() + 50);
        await aio.sleep(30);
        return loop.time();
      });
      expectTime(r, 38);
      await expect(aio.timeoutAt(loop.time() + 0.5, () => aio.sleep(1))).rejects.toBeInstanceOf(aio.TimeoutError);
      expectTime(loop.time(), 38.5);
    });
  });

  test('wait and asCompleted with timeouts', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const a = aio.createTask(() => aio.sleep(1, 'a'));
      const b = aio.createTask(() => aio.sleep(5, 'b'));
      const [done, pending] = await aio.wait([a, b], { timeout: 2 });
      expect(done.size === 1 && done.has(a)).toBe(true);
      expect(pending.size === 1 && pending.has(b)).toBe(true);
      expectTime(loop.time(), 2);
      const order: string[] = [];
      for (const f of aio.asCompleted([aio.sleep(3.5, 'three'), aio.sleep(1, 'one'), b])) order.push(await f);
      expect(order).toEqual(['one', 'b', 'three']);
      expectTime(loop.time(), 5.5);
    });
  });

  test('TaskGroup: the first failure cancels the rest at its virtual time', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const finished: [string, number][] = [];
      const err = await aio
        .taskGroup(async (tg) => {
          tg.createTask(async () => {
            await aio.sleep(1);
            finished.push(['one', loop.time()]);
          });
          tg.createTask(async () => {
            await aio.sleep(2);
            throw new Error('boom');
          });
          tg.createTask(async () => {
            try {
              await aio.sleep(100);
            } finally {
              finished.push(['long', loop.time()]);
            }
          });
        })
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(aio.ExceptionGroup);
      expect(finished.map(([n]) => n)).toEqual(['one', 'long']);
      expectTime(finished[1]![1], 2);
      expectTime(loop.time(), 2);
    });
  });

  test('queues: producers and consumers on a schedule; get() with a timeout', async () => {
    await lc.runVirtual(function* () {
      const loop = aio.getRunningLoop();
      const q = new aio.Queue<[number, number]>(2);
      const got: [number, number, number][] = [];
      const producer = aio.createTask(function* () {
        for (let i = 0; i < 5; i++) {
          yield* aio.sleep(10);
          yield* q.put([i, loop.time()]);
        }
      });
      const consumer = aio.createTask(function* () {
        for (;;) {
          const [i, t] = yield* q.get();
          got.push([i, t, loop.time()]);
          yield* aio.sleep(25); // slower than the producer: the queue fills up
          q.taskDone();
        }
      });
      yield* producer;
      yield* q.join();
      consumer.cancel();
      expect(got.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
      // Item 0 is taken at once; then the consumer takes one every 25 s.
      expect(got.map(([, , at]) => Math.round(at))).toEqual([10, 35, 60, 85, 110]);
      let timedOut = false;
      try {
        yield* aio.waitFor(q.get(), 7);
      } catch (e) {
        timedOut = e instanceof aio.TimeoutError;
      }
      expect(timedOut).toBe(true);
      expectTime(loop.time(), 142);
    });
  });

  test('a cancelled sleep does not move the clock to its time', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      const t = aio.createTask(() => aio.sleep(1000));
      await aio.sleep(1);
      t.cancel();
      await aio.gather([t], { returnExceptions: true });
      expectTime(loop.time(), 1);
    });
  });

  test('a timer at Infinity never fires; main still ends', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop();
      let fired = false;
      loop.callAt(Infinity, () => (fired = true));
      await aio.sleep(5);
      expect(fired).toBe(false);
      expectTime(loop.time(), 5);
    });
  });

  test('manual mode: nothing moves until advance(); advance runs what is due, in order, each at its time', async () => {
    const loop = lc.newVirtualLoop({ autojump: false });
    try {
      expect(loop.autojump).toBe(false);
      const seen: [string, number][] = [];
      const note = (n: string) => seen.push([n, loop.time()]);
      loop.callLater(5, note, 'five');
      loop.callLater(12, note, 'twelve');
      loop.callLater(1, () => {
        note('one');
        loop.callLater(2, note, 'three'); // scheduled inside the window: runs at 3
      });
      loop.callLater(10, note, 'ten'); // at the target, scheduled before advance: runs before it ends
      await loop.runUntilComplete(loop.advance(10));
      expect(seen.map(([n]) => n)).toEqual(['one', 'three', 'five', 'ten']);
      expectTime(seen[1]![1], 3);
      expectTime(loop.time(), 10);
      // A task's sleep waits for the next advance, which may come from inside the loop.
      const r = await loop.runUntilComplete(
        loop.createTask(async () => {
          const s = aio.createTask(() => aio.sleep(1, 'slept'));
          await aio.sleep(0);
          await aio.sleep(0);
          expect(s.done()).toBe(false);
          await loop.advance(1);
          return s.result();
        }),
      );
      expect(r).toBe('slept');
      expectTime(loop.time(), 11);
      expect(seen.map(([n]) => n)).not.toContain('twelve');
      await loop.runUntilComplete(loop.advance(1.5));
      expect(seen.map(([n]) => n)).toContain('twelve');
      expectTime(loop.time(), 12.5);
    } finally {
      loop.close();
    }
  });

  test('manual mode: advance() from outside while the loop runs forever', async () => {
    const loop = lc.newVirtualLoop({ autojump: false, start: 100 });
    try {
      const ticks: number[] = [];
      const tick = () => {
        ticks.push(loop.time());
        loop.callLater(1, tick);
      };
      loop.callLater(1, tick);
      const running = loop.runForever();
      await loop.advance(3.5);
      expect(ticks.map(Math.round)).toEqual([101, 102, 103]);
      await loop.advance(1);
      expect(ticks.length).toBe(4);
      loop.stop();
      await running;
    } finally {
      loop.close();
    }
  });

  test('autojump mode: advance() is a sleep', async () => {
    await lc.runVirtual(async () => {
      const loop = aio.getRunningLoop() as ReturnType<typeof lc.newVirtualLoop>;
      expect(loop.autojump).toBe(true);
      await loop.advance(7);
      expectTime(loop.time(), 7);
    });
  });

  test('advance() and the options refuse bad arguments', () => {
    const loop = lc.newVirtualLoop({ autojump: false });
    try {
      expect(() => loop.advance(-1)).toThrow(RangeError);
      expect(() => loop.advance(NaN)).toThrow(RangeError);
      expect(() => loop.advance(Infinity)).toThrow(RangeError);
      expect(() => loop.advance('1' as unknown as number)).toThrow(TypeError);
    } finally {
      loop.close();
    }
    expect(() => loop.advance(1)).toThrow(/closed/);
    expect(() => lc.newVirtualLoop({ start: -1 })).toThrow(RangeError);
    expect(() => lc.newVirtualLoop({ start: 'x' as unknown as number })).toThrow(/start must be a number/);
    expect(() => lc.newVirtualLoop({ autojump: 'yes' as unknown as boolean })).toThrow(/autojump must be a boolean/);
    expect(() => lc.newVirtualLoop({ ioThreshold: -0.5 })).toThrow(RangeError);
    expect(() => lc.newVirtualLoop({ promiseThreshold: NaN })).toThrow(/promiseThreshold must be >= 0/);
    expect(() => lc.newVirtualLoop({ promiseThreshold: '1' as unknown as number })).toThrow(TypeError);
  });

  test('a foreign Promise in flight holds the clock until it settles', async () => {
    await lc.runVirtual(
      async () => {
        const loop = aio.getRunningLoop();
        const order: string[] = [];
        const sleeper = aio.createTask(async () => {
          await aio.sleep(1);
          order.push(`sleep@${loop.time()}`);
        });
        // A task awaiting a Promise that a Node timer settles after 80 ms of real time.
        await new Promise((r) => setTimeout(r, 80));
        order.push(`promise@${loop.time()}`);
        // The same wrapped in a Future, under a virtual timeout.
        const v = await aio.waitFor(
          new Promise((r) => setTimeout(() => r('late'), 80)),
          0.5,
        );
        expect(v).toBe('late');
        await sleeper;
        expect(order).toEqual(['promise@0', 'sleep@1']);
      },
      { promiseThreshold: 10 },
    );
  });

  test('an executor job holds the clock however long it takes', async () => {
    await lc.runVirtual(
      async () => {
        const loop = aio.getRunningLoop();
        // 300 ms of real time, longer than promiseThreshold: a job ends by itself, so the clock waits.
        const job = loop.runInExecutor(null, () => {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
          return 'done';
        });
        expect(await aio.waitFor(job, 1)).toBe('done');
        expect(loop.time()).toBe(0);
      },
      { promiseThreshold: 0.05 },
    );
  });

  test('a foreign Promise that waits on the loop holds the clock only for promiseThreshold, and says so once', async () => {
    const warnings: string[] = [];
    aio.setLogger({ warning: (m) => void warnings.push(m), error: () => {} });
    const secs = await realSeconds(() =>
      lc.runVirtual(
        async () => {
          const loop = aio.getRunningLoop();
          // Settled by a loop timer: holding the clock for it would hang.
          await new Promise((r) => loop.callLater(5, r));
          expectTime(loop.time(), 5);
          await new Promise((r) => loop.callLater(5, r));
          expectTime(loop.time(), 10);
        },
        { promiseThreshold: 0.05 },
      ),
    );
    expect(secs).toBeGreaterThanOrEqual(0.09);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/foreign Promise\(s\) still pending .* pass a function instead/s);
  });

  test('a connect and a name lookup hold the clock', async () => {
    const srv = net.createServer((s) => s.end('hello\n')).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const p = (srv.address() as net.AddressInfo).port;
      await lc.runVirtual(async () => {
        const loop = aio.getRunningLoop();
        // A timeout of one virtual microsecond: only a clock held for the lookup and the connect lets them win.
        const addrs = await aio.waitFor(loop.getaddrinfo('localhost', p), 1e-6);
        expect(addrs.length).toBeGreaterThan(0);
        const [reader, writer] = await aio.waitFor(aio.openConnection('localhost', p, { family: 4 }), 1e-6);
        expect((await reader.readline()).toString()).toBe('hello\n');
        writer.close();
        expect(loop.time()).toBe(0);
      });
    } finally {
      srv.close();
    }
  });

  test('a real socket holds the clock while it is answered within ioThreshold', async () => {
    // A peer outside the loop (node:net) that answers 80 ms of real time later.
    const srv = net.createServer((s) => s.once('data', () => setTimeout(() => s.end('pong\n'), 80))).listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      await lc.runVirtual(
        async () => {
          const loop = aio.getRunningLoop();
          const [reader, writer] = await aio.openConnection('127.0.0.1', port);
          writer.write(Buffer.from('ping\n'));
          expect((await aio.waitFor(reader.readline(), 10)).toString()).toBe('pong\n');
          expect(loop.time()).toBe(0);
          writer.close();
        },
        { ioThreshold: 5 },
      );
      // With the default threshold (10 ms) a peer that takes 300 ms loses to a virtual timeout.
      const slow = net.createServer((s) => s.once('data', () => setTimeout(() => s.destroyed || s.end('pong\n'), 300))).listen(0, '127.0.0.1');
      await new Promise((r) => slow.once('listening', r));
      try {
        const slowPort = (slow.address() as net.AddressInfo).port;
        await lc.runVirtual(async () => {
          const loop = aio.getRunningLoop();
          const [reader, writer] = await aio.openConnection('127.0.0.1', slowPort);
          writer.write(Buffer.from('ping\n'));
          await expect(aio.waitFor(reader.readline(), 10)).rejects.toBeInstanceOf(aio.TimeoutError);
          expectTime(loop.time(), 10);
          writer.close();
        });
      } finally {
        slow.close();
      }
    } finally {
      srv.close();
    }
  });

  test('a server and a client on the loop: virtual sleeps in the handler, no lost bytes', async () => {
    const secs = await realSeconds(() =>
      lc.runVirtual(async () => {
        const loop = aio.getRunningLoop();
        const server = await aio.startServer(
          async (reader, writer) => {
            for await (const line of reader) {
              await aio.sleep(30); // "processing"
              writer.write(Buffer.from(`${line.toString().trim()}@${Math.round(loop.time())}\n`));
            }
            writer.close();
          },
          '127.0.0.1',
          0,
        );
        const port = (server.sockets[0]!.getsockname() as [string, number])[1];
        const [reader, writer] = await aio.openConnection('127.0.0.1', port);
        const replies: string[] = [];
        for (const word of ['a', 'b', 'c']) {
          writer.write(Buffer.from(`${word}\n`));
          replies.push((await aio.waitFor(reader.readline(), 60)).toString().trim());
        }
        expect(replies).toEqual(['a@30', 'b@60', 'c@90']);
        writer.close();
        await writer.waitClosed();
        server.close();
        await server.waitClosed();
      }),
    );
    expect(secs).toBeLessThan(5);
  });

  test('an idle listening server does not hold the clock: server plus sleep(3600) ends', async () => {
    const secs = await realSeconds(() =>
      lc.runVirtual(async () => {
        const loop = aio.getRunningLoop();
        const server = await aio.startServer(() => {}, '127.0.0.1', 0);
        await aio.sleep(3600);
        expectTime(loop.time(), 3600);
        server.close();
        await server.waitClosed();
      }),
    );
    expect(secs).toBeLessThan(2);
  });

  test('debug mode runs on a virtual clock too', async () => {
    await lc.runVirtual(
      async () => {
        expect(aio.getRunningLoop().getDebug()).toBe(true);
        await aio.sleep(60);
        expectTime(aio.getRunningLoop().time(), 60);
      },
      { debug: true },
    );
  });
});

test('runVirtual and newVirtualTimeLoop: the loop kind follows the policy unless `native` says', async () => {
  const loop = newVirtualTimeLoop();
  expect(loop).toBeInstanceOf(VirtualTimeLoop);
  loop.close();
  expect(await runVirtual(async () => aio.getRunningLoop(), { native: false })).toBeInstanceOf(VirtualTimeLoop);
  await expect(runVirtual(async () => 1, { start: -1 })).rejects.toThrow(RangeError);
  await expect(runVirtual(async () => 1, null as unknown as object)).rejects.toThrow(TypeError);
  expect(() => newVirtualTimeLoop({ native: 1 as unknown as boolean })).toThrow(TypeError);
  if (!native.isAvailable()) return;
  expect(await runVirtual(async () => aio.getRunningLoop(), { native: true })).toBeInstanceOf(NativeVirtualTimeLoop);
  const saved = aio.getEventLoopPolicy();
  native.install();
  try {
    const l = newVirtualTimeLoop();
    expect(l).toBeInstanceOf(NativeVirtualTimeLoop);
    expect(l).toBeInstanceOf(native.NativeEventLoop);
    l.close();
  } finally {
    aio.setEventLoopPolicy(saved);
  }
});

test('the node:test recipe works (a child process on the built package)', async () => {
  const fixture = path.join(import.meta.dirname, 'fixtures', 'virtual-time-node-test.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, ['--test', '--test-reporter=tap', fixture], { timeout: 20_000 });
  expect(stdout).toMatch(/# pass 2\b/);
  expect(stdout).toMatch(/# fail 0\b/);
});

test('VirtualTimeEventLoopPolicy: a program run by aio.run() gets virtual loops', async () => {
  const saved = aio.getEventLoopPolicy();
  aio.setEventLoopPolicy(new VirtualTimeEventLoopPolicy({ start: 50, native: false }));
  try {
    const [kind, t] = await aio.run(async () => {
      await aio.sleep(3600);
      return [aio.getRunningLoop().constructor.name, aio.getRunningLoop().time()];
    });
    expect(kind).toBe('VirtualTimeLoop');
    expect(t).toBe(3650);
    expect(() => new VirtualTimeEventLoopPolicy({ ioThreshold: -1 })).toThrow(RangeError);
  } finally {
    aio.setEventLoopPolicy(saved);
  }
});
