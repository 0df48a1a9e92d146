// The async-function task core: what `await fut` returns and costs (a Reaction, a real Promise only
// when chained on), which task the loop attributes code to (its own drains, the one task away on a
// foreign Promise, or the exact context), what cancel() reaches (every loop Future the task's code
// awaits, Promise.all children and helpers included), and step order across tasks.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { exactContext } from '../src/context.js';
import { eachLoop } from './loops.js';

function* spin(n: number): aio.Coro<void> {
  for (let i = 0; i < n; i++) yield* aio.sleep(0);
}

const later = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

afterEach(() => aio.setLogger(null));

eachLoop((lc) => {
  // --- what `then` returns ----------------------------------------------------------------------

  test('fut.then(f) chains like a Promise: then, catch, finally, await', async () => {
    const got = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      loop.callSoon(() => a.setResult(20));
      loop.callSoon(() => b.setException(new Error('boom')));
      const doubled = await a.then((v) => v * 2).then((v) => v + 2);
      const caught = await b.then(() => 'no').catch((e: Error) => `caught ${e.message}`);
      let fin = 0;
      const viaFinally = await a.then((v) => v).finally(() => void fin++);
      const thrownInCb = await a
        .then(() => {
          throw new Error('in callback');
        })
        .then(
          () => 'no',
          (e: Error) => e.message,
        );
      // A callback returning a thenable is flattened, as Promise.prototype.then does.
      const flattened = await a.then((v) => Promise.resolve(v + 1));
      return { doubled, caught, viaFinally, fin, thrownInCb, flattened };
    });
    expect(got).toEqual({ doubled: 42, caught: 'caught boom', viaFinally: 20, fin: 1, thrownInCb: 'in callback', flattened: 21 });
  });

  test('fut.then() called before and after the future is done, inside and outside tasks', async () => {
    const seen: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture<string>();
      // From a generator step (not an async task): a plain reaction, run by the loop.
      void f.then((v) => seen.push(`gen ${v}`));
      const t = aio.createTask(async () => {
        seen.push(`task ${await f}`);
        // Already done: settles in a microtask, no loop iteration.
        void f.then((v) => seen.push(`done ${v}`));
      });
      yield* aio.sleep(0);
      f.setResult('x');
      yield* t;
      yield* spin(1);
    });
    expect(seen.sort()).toEqual(['done x', 'gen x', 'task x']);
  });

  // --- which task runs ----------------------------------------------------------------------------

  test('Promise.all children inside a task are that task\'s code, and share its drain', async () => {
    await lc.run(async () => {
      const bad: string[] = [];
      const t = aio.createTask(
        async () => {
          const child = async (i: number) => {
            for (let k = 0; k < 3; k++) {
              if (aio.currentTask() !== t) bad.push(`child ${i} step ${k}`);
              await aio.sleep(0.001 * (i % 3));
            }
            return i;
          };
          const r = await Promise.all(Array.from({ length: 50 }, (_, i) => child(i)));
          if (aio.currentTask() !== t) bad.push('after all');
          return r.length;
        },
        { name: 'parent' },
      );
      expect(await t).toBe(50);
      expect(bad).toEqual([]);
    });
  });

  test('steps of two tasks resumed in one iteration never interleave, even across microtask hops', async () => {
    const order: string[] = [];
    await lc.run(async () => {
      const mk = (n: string) =>
        aio.createTask(async () => {
          for (let i = 0; i < 3; i++) {
            order.push(`${n}${i}a`);
            await Promise.resolve();
            await null;
            order.push(`${n}${i}b`);
            await aio.sleep(0);
          }
        });
      await aio.gather(mk('x'), mk('y'));
    });
    expect(order).toEqual(['x0a', 'x0b', 'y0a', 'y0b', 'x1a', 'x1b', 'y1a', 'y1b', 'x2a', 'x2b', 'y2a', 'y2b']);
  });

  test('a task away on a foreign Promise is still found by its next loop await: cancel lands there', async () => {
    await lc.run(async () => {
      const log: string[] = [];
      const t = aio.createTask(async () => {
        await later(20); // a Node timer: outside every loop drain
        log.push(`back in ${aio.currentTask() === t ? 'the task' : 'another place'}`);
        try {
          await aio.sleep(10);
          log.push('slept');
        } catch (e) {
          log.push((e as Error).name);
          throw e;
        }
      });
      await aio.sleep(0.005);
      expect(t.cancel()).toBe(true);
      await aio.wait([t]);
      expect(log).toEqual(['back in the task', 'CancelledError']);
      expect(t.cancelled()).toBe(true);
    });
  });

  test('cancel() reaches every loop await of the task\'s code: helpers, Promise.all children, its own', async () => {
    await lc.run(function* () {
      const cancelledAt: string[] = [];
      const guard = async (name: string, p: PromiseLike<unknown>) => {
        try {
          await p;
        } catch (e) {
          if (e instanceof aio.CancelledError) cancelledAt.push(name);
          throw e;
        }
      };
      const t = aio.createTask(async () => {
        void guard('detached helper', aio.sleep(10)).catch(() => {});
        const all = Promise.all([guard('child 1', aio.sleep(10)), guard('child 2', aio.getRunningLoop().createFuture())]);
        all.catch(() => {}); // the own await below fails first; this one is awaited by nobody then
        await guard('own await', aio.sleep(10));
        await all;
      });
      yield* spin(3);
      t.cancel();
      yield* spin(3);
      expect(t.cancelled()).toBe(true);
      expect(cancelledAt.sort()).toEqual(['child 1', 'child 2', 'detached helper', 'own await']);
    });
  });

  test('a task whose awaits finished holds none of them: cancel waits for its next loop await', async () => {
    await lc.run(async () => {
      const events: string[] = [];
      const t = aio.createTask(async () => {
        await Promise.all(Array.from({ length: 100 }, () => aio.sleep(0)));
        await later(10);
        events.push('foreign done');
        try {
          await aio.sleep(5);
        } catch (e) {
          events.push((e as Error).name);
          throw e;
        }
      });
      await aio.sleep(0.002);
      t.cancel();
      await aio.wait([t]);
      expect(events).toEqual(['foreign done', 'CancelledError']);
    });
  });

  test('currentTask() is null in plain callbacks even while one task is away', async () => {
    await lc.run(async () => {
      const seen: unknown[] = [];
      const t = aio.createTask(async () => {
        await later(30);
      });
      await aio.sleep(0.005);
      aio.getRunningLoop().callSoon(() => seen.push(aio.currentTask()));
      await aio.sleep(0);
      expect(seen).toEqual([null]);
      await t;
    });
  });

  test('two tasks away at once: the exact context tells them apart; without it the task is not guessed', async () => {
    await lc.run(async () => {
      const seen: [string, boolean, boolean][] = [];
      const mk = (name: string, ms: number) =>
        aio.createTask(
          async () => {
            await later(ms);
            const me = aio.currentTask();
            seen.push([name, me === null, me?.getName() === name]);
          },
          { name },
        );
      await aio.gather(mk('a', 10), mk('b', 15));
      for (const [, isNull, right] of seen) {
        // Exact (AsyncLocalStorage, Node >= 24 or ALOOP_TASK_CONTEXT=1): always right. Otherwise
        // never wrong: unknown (null) rather than another task.
        if (exactContext()) expect(right).toBe(true);
        else expect(isNull || right).toBe(true);
      }
      expect(seen.map(([n]) => n)).toEqual(['a', 'b']);
    });
  });

  // --- tasks made from Promises ---------------------------------------------------------------

  test('debug mode warns when a task made from a running Promise is cancelled, and says how to fix it', async () => {
    const warnings: string[] = [];
    aio.setLogger({ warning: (m) => void warnings.push(m), error: () => {} });
    let finished = false;
    // The work waits on a gate the test opens right after each cancel(), not on a timer: on a
    // loaded machine a real 20 ms could pass before the cancel, and the task would be done first.
    const gateOf = () => {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      return { promise, open };
    };
    let gate = gateOf();
    await lc.run(
      async () => {
        const work = async () => {
          await gate.promise;
          finished = true;
        };
        const t = aio.createTask(work()); // eager call: the work already runs
        await aio.sleep(0.001);
        t.cancel();
        gate.open();
        await aio.wait([t]);
        expect(t.cancelled()).toBe(true);
        await later(1);
        expect(finished).toBe(true); // the Promise went on running: cancelling its task did not stop it
        gate = gateOf();
        const fn = aio.createTask(work); // the function form: no warning
        await aio.sleep(0.001);
        fn.cancel();
        gate.open();
        await aio.wait([fn]);
        expect(fn.cancelled()).toBe(true);
        expect(warnings.filter((w) => w.includes('made from a Promise'))).toHaveLength(1);
        gate = gateOf();
        const g = aio.gather(work(), work()); // eager calls again: one warning per Promise
        await aio.sleep(0.001);
        g.cancel();
        gate.open();
        await aio.wait([g]);
        expect(warnings.filter((w) => w.includes('made from a Promise'))).toHaveLength(3);
        gate = gateOf();
        const g2 = aio.gather(work, work); // functions: tasks, cancelled for real
        await aio.sleep(0.001);
        g2.cancel();
        gate.open();
        await aio.wait([g2]);
        await later(1);
      },
      { debug: true },
    );
    expect(warnings.filter((w) => w.includes('made from a Promise'))).toHaveLength(3);
    expect(warnings.join('\n')).toMatch(/createTask\(\(\) => f\(x\)\)/);
  });

  test('20k concurrent awaits inside one task, then cancel() of 20k more: every one is reached', async () => {
    await lc.run(async () => {
      let cancelled = 0;
      let second = false;
      const t = aio.createTask(async () => {
        await Promise.all(
          Array.from({ length: 20_000 }, async () => {
            await aio.sleep(0.001);
            await aio.sleep(0);
          }),
        );
        second = true;
        await Promise.all(
          Array.from({ length: 20_000 }, async () => {
            try {
              await aio.sleep(10);
            } catch (e) {
              if (e instanceof aio.CancelledError) cancelled++;
              throw e;
            }
          }),
        );
      });
      while (!second) await aio.sleep(0.01);
      await aio.sleep(0);
      t.cancel();
      await aio.wait([t]);
      expect(t.cancelled()).toBe(true);
      expect(cancelled).toBe(20_000);
    });
  });
});

describe('a failed future awaited by a chain nobody handles is reported as an unhandled rejection', () => {
  test('as in plain Promise code (child process)', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const code = `import * as aio from 'aloop';
      process.on('unhandledRejection', (e) => { console.log('unhandled:', e.message); process.exit(0); });
      await aio.run(async () => {
        const f = aio.getRunningLoop().createFuture();
        f.then((v) => v); // nobody handles the failure of this chain
        f.setException(new Error('lost'));
        await aio.sleep(0.01);
      });
      console.log('not reported');`;
    const out = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '-e', code], { cwd: root, timeout: 20_000 }, (_e, stdout) => resolve(stdout));
    });
    expect(out.trim()).toBe('unhandled: lost');
  });
});
