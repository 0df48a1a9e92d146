// The asyncio habits that JavaScript turns into traps. An async function runs as soon as it is
// called (an asyncio coroutine waits for a Task), so `aio.run(main(5))` runs main's first steps
// before run() has made its loop. Every aloop call there must fail at once with a message that
// says what to write instead, never bind to a loop that nobody runs (which used to end the
// process with exit code 13, an unsettled top-level await, and no message at all).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

/** The way out that every such error names. */
const GUIDANCE = /aio\.run\(main\) or aio\.run\(\(\) => main\(x\)\) — not aio\.run\(main\(x\)\)/;

beforeEach(() => {
  // A fresh default policy: no current loop set.
  aio.setEventLoopPolicy(null);
});

const f = async (x: number) => x;

/** Bodies written as asyncio users write them; each is called before the loop runs. */
const SHAPES: Record<string, (n: number) => Promise<unknown>> = {
  'sleep()': async (n) => {
    await aio.sleep(0.001);
    return n;
  },
  'createTask()': async (n) => await aio.createTask(f(n)),
  'gather()': async (n) => await aio.gather(f(n), f(n + 1)),
  'gather() of generator coroutines': async (n) =>
    await aio.gather(
      (function* () {
        yield* aio.sleep(0);
        return n;
      })(),
    ),
  'ensureFuture()': async (n) => await aio.ensureFuture(f(n)),
  'shield()': async (n) => await aio.shield(f(n)),
  'getEventLoop().createFuture()': async (n) => {
    const fut = aio.getEventLoop().createFuture<number>();
    setTimeout(() => fut.setResult(n), 1);
    return await fut;
  },
  'new Future()': async (n) => {
    const fut = new aio.Future<number>();
    setTimeout(() => fut.setResult(n), 1);
    return await fut;
  },
  'wait()': async (n) => (await aio.wait([f(n)]))[0].size,
  'waitFor()': async (n) => await aio.waitFor(f(n), 1),
  'timeout()': async (n) => await aio.timeout(1, () => f(n)),
  'taskGroup()': async (n) => await aio.taskGroup(async (tg) => await tg.createTask(f(n))),
  'Queue.get()': async (n) => {
    const q = new aio.Queue<number>();
    setTimeout(() => q.putNowait(n), 1);
    return await q.get();
  },
  'Lock.acquire()': async (n) => {
    const lock = new aio.Lock();
    await lock.acquire();
    lock.release();
    return n;
  },
  'toThread()': async (n) => await aio.toThread((x: number) => x, n),
};

eachLoop((lc) => {
  describe('run(main(x)): main called before the loop exists', () => {
    for (const [name, main] of Object.entries(SHAPES)) {
      test(`${name}: rejects with the guidance; run(() => main(x)) works`, async () => {
        const err = await lc.run(main(5)).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/no running event loop/);
        expect((err as Error).message).toMatch(GUIDANCE);
        // What the message says to write works.
        expect(await lc.run(() => main(5))).toBeDefined();
      });
    }
  });

  test('the error reaches .catch() unchanged, guidance included', async () => {
    let seen: unknown = null;
    await lc.run(SHAPES['sleep()']!(5)).catch((e: unknown) => void (seen = e));
    expect(String(seen)).toMatch(/^Error: no running event loop: aloop functions such as sleep\(\) must run inside a task/);
    expect(String(seen)).toMatch(GUIDANCE);
  });

  test('run(gather(...)) made outside the loop throws the guidance before run() starts', () => {
    function* g(x: number): aio.Coro<number> {
      yield* aio.sleep(0);
      return x;
    }
    expect(() => lc.run(aio.gather(g(1), g(2)))).toThrow(GUIDANCE);
  });

  test('run() given a Future of another loop says why it could never finish', async () => {
    const loop = lc.newLoop();
    try {
      aio.setEventLoop(loop);
      const fut = aio.gather(f(1), f(2));
      expect(fut.getLoop()).toBe(loop);
      await expect(aio.run(fut)).rejects.toThrow(/of another loop: run\(\) makes a new loop.*aio\.run\(\(\) => aio\.gather/);
      // Still usable on its own loop.
      expect(await loop.runUntilComplete(fut)).toEqual([1, 2]);
    } finally {
      aio.setEventLoop(null);
      loop.close();
    }
  });

  test('asyncio still allowed: gather() before the loop runs, on the loop set with setEventLoop', async () => {
    const loop = lc.newLoop();
    try {
      aio.setEventLoop(loop);
      function* g(x: number): aio.Coro<number> {
        yield* aio.sleep(0.001);
        return x;
      }
      const fut = aio.gather(g(1), g(2), f(3));
      const empty = aio.gather();
      expect(fut.getLoop()).toBe(loop);
      expect(await loop.runUntilComplete(fut)).toEqual([1, 2, 3]);
      expect(await loop.runUntilComplete(empty)).toEqual([]);
    } finally {
      aio.setEventLoop(null);
      loop.close();
    }
  });

  test('gather() of Futures only needs no current loop: it uses theirs', async () => {
    const loop = lc.newLoop();
    try {
      const a = loop.createFuture<number>();
      const b = loop.createFuture<number>();
      const both = aio.gather(a, b);
      expect(both.getLoop()).toBe(loop);
      a.setResult(1);
      b.setResult(2);
      expect(await loop.runUntilComplete(both)).toEqual([1, 2]);
    } finally {
      loop.close();
    }
  });

  test('a Runner whose loop was made first (getLoop) gives that loop to code run before it', async () => {
    const runner = new aio.Runner({ loopFactory: null });
    try {
      runner.getLoop();
      // The runner set its loop as current, so this eager gather binds to the loop that runs.
      expect(await runner.run(SHAPES['gather()']!(5))).toEqual([5, 6]);
    } finally {
      await runner.close();
    }
  });
});

describe('outside a running loop, every call that needs one throws the guidance', () => {
  const gen = function* (): aio.Coro<number> {
    return 1;
  };
  const calls: Record<string, () => unknown> = {
    sleep: () => aio.sleep(0),
    createTask: () => aio.createTask(async () => 1),
    ensureFuture: () => aio.ensureFuture(async () => 1),
    'ensureFuture(Promise)': () => aio.ensureFuture(Promise.resolve(1)),
    gather: () => aio.gather(gen()),
    'gather()': () => aio.gather(),
    wait: () => aio.wait([gen()]),
    waitFor: () => aio.waitFor(gen(), 1),
    asCompleted: () => aio.asCompleted([gen()]),
    shield: () => aio.shield(gen()),
    timeout: () => aio.timeout(1, async () => 1),
    timeoutAt: () => aio.timeoutAt(1, async () => 1),
    taskGroup: () => aio.taskGroup(async () => 1),
    allTasks: () => aio.allTasks(),
    toThread: () => aio.toThread(() => 1),
    'new Future': () => new aio.Future(),
    getEventLoop: () => aio.getEventLoop(),
    getRunningLoop: () => aio.getRunningLoop(),
    'Lock.acquire': () => new aio.Lock().acquire(),
    'Event.wait': () => new aio.Event().wait(),
    'Semaphore.acquire': () => new aio.Semaphore(0).acquire(),
    'Barrier.wait': () => new aio.Barrier(2).wait(),
    'Queue.get': () => new aio.Queue().get(),
    'Queue.join': () => {
      const q = new aio.Queue();
      q.putNowait(1);
      return q.join();
    },
    openConnection: () => aio.openConnection('127.0.0.1', 1),
    startServer: () => aio.startServer(() => {}, '127.0.0.1', 0),
    'new StreamReader': () => new aio.StreamReader(),
  };
  for (const [name, call] of Object.entries(calls)) {
    test(name, () => {
      expect(call).toThrow(/no running event loop/);
      expect(call).toThrow(GUIDANCE);
    });
  }
  test('currentTask() is null (no task runs)', () => {
    expect(aio.currentTask()).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// The same shapes as programs: each used to exit with code 13 and print nothing.

const root = path.resolve(import.meta.dirname, '..');

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `code` as an ES module in a child Node (against the built package, like the examples). */
function program(code: string): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', code],
      { cwd: root, timeout: 20_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
      },
    );
  });
}

const HEAD = `import * as aio from 'aloop'; import * as native from 'aloop/native';
const f = async (x) => x;`;

describe('as programs (child processes): a clear message and a non-zero exit, not exit 13', () => {
  const programs: Record<string, string> = {
    'gather()': `async function main(n) { return await aio.gather(f(n), f(2)); }
      console.log(await aio.run(main(5)));`,
    'ensureFuture()': `async function main(n) { return await aio.ensureFuture(f(n)); }
      console.log(await aio.run(main(5)));`,
    'getEventLoop().createFuture()': `async function main(n) {
        const fut = aio.getEventLoop().createFuture(); setTimeout(() => fut.setResult(n), 10); return await fut; }
      console.log(await aio.run(main(5)));`,
    'new Future()': `async function main(n) {
        const fut = new aio.Future(); setTimeout(() => fut.setResult(n), 10); return await fut; }
      console.log(await aio.run(main(5)));`,
    'shield()': `async function main(n) { return await aio.shield(f(n)); }
      console.log(await aio.run(main(5)));`,
    'gather() on the native loop (install())': `native.install();
      async function main(n) { return await aio.gather(f(n), f(2)); }
      console.log(await aio.run(main(5)));`,
    'gather() on the native loop (native.run)': `async function main(n) { return await aio.gather(f(n), f(2)); }
      console.log(await native.run(main(5)));`,
    'sleep()': `async function main(n) { await aio.sleep(0.01); return n; }
      console.log(await aio.run(main(5)));`,
  };
  for (const [name, body] of Object.entries(programs)) {
    test(`await aio.run(main(5)), main calls ${name}: exit 1 and the guidance on stderr`, async () => {
      const r = await program(`${HEAD}\n${body}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no running event loop/);
      expect(r.stderr).toMatch(GUIDANCE);
      expect(r.stdout).toBe('');
    });
  }

  test('aio.run(main(5)).catch(console.error) prints the guidance', async () => {
    const r = await program(`${HEAD}
      async function main(n) { await aio.sleep(0.01); return n; }
      aio.run(main(5)).catch(console.error);`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(GUIDANCE);
  });

  test('what the guidance says to write works: aio.run(() => main(5))', async () => {
    const r = await program(`${HEAD}
      async function main(n) { return await aio.gather(f(n), aio.sleep(0.01, 2)); }
      console.log(JSON.stringify(await aio.run(() => main(5))));
      console.log(JSON.stringify(await native.run(() => main(6))));`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('[5,2]\n[6,2]\n');
  });

  describe('a run that can never finish rejects (Node has nothing left to do) instead of exit 13', () => {
    test('main awaits a Future of a loop that never runs (a loop set by hand, then run(main(5)))', async () => {
      const r = await program(`${HEAD}
        aio.setEventLoop(aio.newEventLoop());
        async function main(n) { return await aio.gather(f(n), f(2)); }
        console.log(await aio.run(main(5)));`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/run\(\) cannot finish: main waits for something that can never happen/);
      expect(r.stderr).toMatch(GUIDANCE);
    });

    for (const how of ['aio.run', 'native.run']) {
      test(`${how}: main awaits a Promise nothing settles; the error can be caught, and the next run works`, async () => {
        const r = await program(`${HEAD}
          try { await ${how}(async () => { await aio.sleep(0.01); await new Promise(() => {}); }); }
          catch (e) { console.log('caught: ' + e.message.slice(0, 60)); }
          console.log(await ${how}(async () => { await aio.sleep(0.01); return 'again'; }));`);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^caught: run\(\) cannot finish: main waits for something .*\nagain\n$/);
      });
    }

    test('shutdown: a cancelled task that then waits forever is named', async () => {
      const r = await program(`${HEAD}
        console.log(await aio.run(async () => {
          aio.createTask(async () => { try { await aio.sleep(10); } catch { await new Promise(() => {}); } }, { name: 'stubborn' });
          await aio.sleep(0.01);
          return 'main done';
        }));`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/run\(\) cannot finish its shutdown: the cancelled tasks <Task name="stubborn"/);
    });
  });
});
