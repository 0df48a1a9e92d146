/**
 * captureCallGraph / formatCallGraph / printCallGraph (asyncio 3.14's graph.py, whose test
 * test_graph.py these follow): the current task's frames, who awaits it through gather,
 * TaskGroup, waitFor, timeout, shield and wait, for both coroutine forms, on every loop.
 */
import { describe, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { parseStack } from '../src/introspect/frames.js';
import { eachLoop } from './loops.js';

type Walked = [string, string[], Walked[]];

/** asyncio's test helper: `['T<name>' | 'T<anon>' | 'F', [frame names], [awaiters, sorted]]`. */
function walk(g: aio.FutureCallGraph): Walked {
  const f = g.future;
  const label = f instanceof aio.Task ? (/^Task-\d+$/.test(f.getName()) ? 'T<anon>' : `T<${f.getName()}>`) : 'F';
  const awaiters = g.awaitedBy.map(walk).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [label, g.callStack.map((e) => e.name), awaiters];
}

/** The graph of the current task as walked, and as text; `depth` as in asyncio's helper. */
function captureTestStack(fut?: aio.Future<unknown>, depth = 1): [Walked, string, aio.FutureCallGraph] {
  const g = aio.captureCallGraph(fut, { depth: depth + 1 })!;
  const text = aio.formatCallGraph(fut, { depth: depth + 1 });
  return [walk(g), text, g];
}

const MAIN: Walked = ['T<anon>', ['main'], []];
const GROUP: Walked = ['T<anon>', ['taskGroup'], [MAIN]];

eachLoop((lc) => {
  describe('call graph: async functions', () => {
    test('gather: the child task, awaited by the task awaiting the gather', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        async function deep() {
          await aio.sleep(0);
          got = captureTestStack();
        }
        async function c1() {
          await aio.sleep(0);
          await deep();
        }
        async function c2() {
          await aio.sleep(0);
        }
        await aio.gather(c1, c2);
      });
      expect(got![0]).toEqual(['T<anon>', ['deep', 'c1'], [MAIN]]);
      const mainGraph = got![2].awaitedBy[0]!;
      expect(mainGraph.awaiting.length).toBe(1);
      expect(mainGraph.awaiting[0]!.constructor.name).toBe('GatheringFuture');
    });

    test('TaskGroup: the group task, and the tasks awaiting it, each awaited by the group parent', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        function c5() {
          got = captureTestStack(undefined, 2);
        }
        async function c4() {
          await aio.sleep(0);
          c5();
        }
        async function c3() {
          await c4();
        }
        async function c2() {
          await c3();
        }
        async function c1(task: aio.Task<void>) {
          await task;
        }
        await aio.taskGroup(async (tg) => {
          const task = tg.createTask(c2, { name: 'c2_root' });
          tg.createTask(() => c1(task), { name: 'sub_main_1' });
          tg.createTask(() => c1(task), { name: 'sub_main_2' });
        });
      });
      // depth 2 leaves out captureTestStack and c5, as asyncio's test leaves out its helper.
      expect(got![0][0]).toBe('T<c2_root>');
      expect(got![0][1]).toEqual(['c4', 'c3', 'c2']);
      expect(got![0][2]).toEqual([
        GROUP,
        ['T<sub_main_1>', ['<anonymous>'], [GROUP]],
        ['T<sub_main_2>', ['<anonymous>'], [GROUP]],
      ]);
    });

    test('a task awaiting a task; formatCallGraph shows names, frames, what it waits on', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        async function inner() {
          await aio.sleep(0);
          got = captureTestStack();
        }
        async function c1() {
          await inner();
        }
        async function c2() {
          await aio.createTask(c1, { name: 'there there' });
        }
        await c2();
      });
      expect(got![0]).toEqual(['T<there there>', ['inner', 'c1'], [MAIN]]);
      const text = got![1];
      const lines = text.split('\n');
      expect(lines[0]).toMatch(/^\* Task\(name='there there', id=0x[0-9a-f]+\)$/);
      expect(lines[1]).toBe('  + Call stack:');
      expect(lines[2]).toMatch(/^ {2}\| {3}File '.*graph\.test\.ts', line \d+, in (async )?inner\(\)$/);
      expect(text).toContain('  + Awaited by:');
      expect(text).toMatch(/\n {4}\* Task\(name='Task-\d+', id=0x[0-9a-f]+\)\n {6}\+ Call stack:\n {6}\| {3}in async main\(\)\n {6}\+ Waiting on:\n {6}\| {3}Task 'there there' \(id=0x[0-9a-f]+\)$/);
    });

    test('waitFor: the inner task, awaited by waitFor\'s task, awaited by the caller', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        async function inner() {
          await aio.sleep(0);
          got = captureTestStack();
          return 1;
        }
        expect(await aio.waitFor(inner, 10)).toBe(1);
      });
      expect(got![0]).toEqual(['T<anon>', ['inner'], [['T<anon>', ['waitFor'], [MAIN]]]]);
    });

    test('timeout: the body, awaited by the caller through the timeout', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        await aio.timeout(10, async function body() {
          await aio.sleep(0);
          got = captureTestStack();
        });
      });
      expect(got![0]).toEqual(['T<anon>', ['body'], [MAIN]]);
    });

    test('shield and wait: the shielded work and the watched tasks are awaited by their caller', async () => {
      const got: Walked[] = [];
      await lc.run(async function main() {
        async function c1() {
          await aio.sleep(0);
          got.push(captureTestStack()[0]);
        }
        await aio.shield(c1);
        const t = aio.createTask(c1);
        await aio.wait([t]);
      });
      expect(got[0]).toEqual(['T<anon>', ['c1'], [MAIN]]);
      expect(got[1]).toEqual(['T<anon>', ['c1'], [['T<anon>', ['wait'], [MAIN]]]]);
    });

    test('a Future awaited by two tasks of a TaskGroup', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(async function main() {
        const fut = aio.getRunningLoop().createFuture<void>();
        async function a2() {
          await fut;
        }
        async function a1() {
          await a2();
        }
        async function b1() {
          await fut;
        }
        await aio.taskGroup(async (tg) => {
          tg.createTask(a1, { name: 'task A' });
          tg.createTask(b1, { name: 'task B' });
          for (let i = 0; i < 5; i++) await aio.sleep(0);
          got = captureTestStack(fut);
          fut.setResult();
        });
      });
      expect(got![0]).toEqual(['F', [], [
        ['T<task A>', ['a1'], [GROUP]],
        ['T<task B>', ['b1'], [GROUP]],
      ]]);
      expect(got![1].startsWith('* Future(id=')).toBe(true);
    });
  });

  describe('call graph: generator coroutines', () => {
    test('gather: generator frames across yield*, awaited by the gathering task', async () => {
      let got: ReturnType<typeof captureTestStack> | null = null;
      await lc.run(function* main(): aio.Coro<void> {
        function* deep(): aio.Coro<void> {
          yield* aio.sleep(0);
          got = captureTestStack();
        }
        function* c1(): aio.Coro<void> {
          yield* aio.sleep(0);
          yield* deep();
        }
        function* c2(): aio.Coro<void> {
          yield* aio.sleep(0);
        }
        yield* aio.gather(c1, c2);
      });
      expect(got![0]).toEqual(['T<anon>', ['deep', 'c1'], [MAIN]]);
      expect(got![2].callStack.map((f) => f.kind)).toEqual(['generator', 'generator']);
      expect(got![2].awaitedBy[0]!.callStack).toEqual([{ name: 'main', kind: 'generator', fileName: null, lineNumber: null, columnNumber: null }]);
      expect(got![1]).toMatch(/in generator deep\(\)\n.*in generator c1\(\)/);
    });

    test('TaskGroup, waitFor and timeout', async () => {
      const got: Walked[] = [];
      await lc.run(function* main(): aio.Coro<void> {
        function* leaf(): aio.Coro<void> {
          yield* aio.sleep(0);
          got.push(captureTestStack()[0]);
        }
        yield* aio.taskGroup(function* (tg): aio.Coro<void> {
          tg.createTask(leaf, { name: 'in-group' });
        });
        yield* aio.waitFor(leaf, 10);
        yield* aio.timeout(10, leaf);
      });
      expect(got[0]).toEqual(['T<in-group>', ['leaf'], [GROUP]]);
      expect(got[1]).toEqual(['T<anon>', ['leaf'], [['T<anon>', ['waitFor'], [MAIN]]]]);
      expect(got[2]).toEqual(['T<anon>', ['leaf'], [MAIN]]);
    });

    test('debug mode: a suspended generator task shows the frames it yielded from, and where it was made', async () => {
      await lc.run(
        function* main(): aio.Coro<void> {
          function* inner(): aio.Coro<void> {
            yield* aio.sleep(10);
          }
          function* outer(): aio.Coro<void> {
            yield* inner();
          }
          const t = aio.createTask(outer());
          yield* aio.sleep(0);
          const g = aio.captureCallGraph(t)!;
          expect(g.callStack.map((f) => [f.name, f.kind])).toEqual([
            ['inner', 'generator'],
            ['outer', 'generator'],
          ]);
          expect(g.callStack[0]!.fileName).toMatch(/graph\.test\.ts$/);
          expect(g.awaiting[0]!.constructor.name).toBe('SleepFuture');
          expect(aio.formatCallGraph(t)).toMatch(/\+ Waiting on:\n {2}\| {3}sleep, due in \d+\.\d{3} s \(id=0x[0-9a-f]+\)$/);
          t.cancel();
        },
        { debug: true },
      );
    });

    test('outside debug mode a generator object has no name; a generator function gives its own', async () => {
      await lc.run(function* main(): aio.Coro<void> {
        function* sleeper(): aio.Coro<void> {
          yield* aio.sleep(10);
        }
        const a = aio.createTask(sleeper());
        const b = aio.createTask(sleeper);
        yield* aio.sleep(0);
        expect(aio.captureCallGraph(a)!.callStack.map((f) => f.name)).toEqual(['<generator>']);
        expect(aio.captureCallGraph(b)!.callStack.map((f) => f.name)).toEqual(['sleeper']);
        a.cancel();
        b.cancel();
      });
    });
  });

  describe('call graph: edge cases and arguments', () => {
    test('no current task: null and an empty string; no loop: an error', async () => {
      expect(() => aio.captureCallGraph()).toThrow(/outside of a running event loop/);
      await lc.run(async () => {
        const loop = aio.getRunningLoop();
        const seen = aio.getRunningLoop().createFuture<[unknown, string]>();
        loop.callSoon(() => seen.setResult([aio.captureCallGraph(), aio.formatCallGraph()]));
        expect(await seen).toEqual([null, '']);
      });
    });

    test('bad arguments: TypeError naming the argument, RangeError for bad numbers', async () => {
      await lc.run(async () => {
        expect(() => aio.captureCallGraph(123 as never)).toThrow(TypeError);
        expect(() => aio.captureCallGraph(123 as never)).toThrow(/future must be a Future/);
        expect(() => aio.captureCallGraph(null, { depth: 0 })).toThrow(RangeError);
        expect(() => aio.captureCallGraph(null, { depth: 'x' as never })).toThrow(/depth/);
        expect(() => aio.captureCallGraph(null, { limit: 1.5 })).toThrow(RangeError);
        expect(() => aio.captureCallGraph(null, 5 as never)).toThrow(/options/);
        expect(() => aio.printCallGraph(null, { file: {} as never })).toThrow(/file/);
      });
    });

    test('limit keeps the outermost (positive) or innermost (negative) frames; 0 none; depth skips', async () => {
      await lc.run(async function main() {
        async function c3() {
          await aio.sleep(0);
          const names = (o: aio.CallGraphOptions) => aio.captureCallGraph(null, o)!.callStack.map((f) => f.name);
          // The first frame is the caller of captureCallGraph (`names`).
          expect(names({})).toEqual(['names', 'c3', 'c2', 'c1']);
          expect(names({ limit: 2 })).toEqual(['c2', 'c1']);
          expect(names({ limit: -1 })).toEqual(['names']);
          expect(names({ limit: 0 })).toEqual([]);
          expect(names({ depth: 2 })).toEqual(['c3', 'c2', 'c1']);
        }
        async function c2() {
          await c3();
        }
        async function c1() {
          await c2();
        }
        await aio.createTask(c1);
      });
    });

    test('printCallGraph writes the text and a newline to `file`', async () => {
      await lc.run(async function main() {
        let out = '';
        aio.printCallGraph(null, { file: { write: (s: string) => (out += s) } });
        expect(out).toMatch(/^\* Task\(name='Task-\d+', id=0x[0-9a-f]+\)\n {2}\+ Call stack:\n {2}\| {3}File '.*graph\.test\.ts', line \d+, in main\(\)\n$/);
      });
    });

    test('a cycle of waits: the graph ends', async () => {
      await lc.run(async function main() {
        const loop = aio.getRunningLoop();
        const gate = loop.createFuture<void>();
        const b = aio.createTask(async () => void (await gate), { name: 'B' });
        const a = aio.createTask(async () => void (await b), { name: 'A' });
        // A awaits B; say that B awaits A too: a cycle (a real one would deadlock, and cancelling
        // it would recurse, in asyncio as here).
        aio.futureAddToAwaitedBy(a, b);
        await aio.sleep(0);
        // B's waiter is A, already on the path: shown once.
        expect(walk(aio.captureCallGraph(a)!)).toEqual(['T<A>', ['<anonymous>'], [['T<B>', ['<anonymous>'], []]]]);
        aio.futureDiscardFromAwaitedBy(a, b);
        gate.setResult();
        await a;
      });
    });

    test('futureAddToAwaitedBy / futureDiscardFromAwaitedBy record edges the awaits do not show', async () => {
      await lc.run(async function main() {
        const loop = aio.getRunningLoop();
        const fut = loop.createFuture<void>();
        const waiter = loop.createFuture<void>();
        aio.futureAddToAwaitedBy(fut, waiter);
        aio.futureAddToAwaitedBy(fut, 'not a future');
        expect(walk(aio.captureCallGraph(fut)!)).toEqual(['F', [], [['F', [], []]]]);
        aio.futureDiscardFromAwaitedBy(fut, waiter);
        expect(walk(aio.captureCallGraph(fut)!)).toEqual(['F', [], []]);
      });
    });
  });
});

describe('stack parsing', () => {
  test("V8's frames: async, generator (its resumption frame dropped), anonymous, Promise.all", () => {
    const stack = [
      'Error: x',
      '    at deep (file:///a/b.mjs:3:10)',
      '    at g (file:///a/b.mjs:6:29)',
      '    at g.next (<anonymous>)',
      '    at Object.gm (file:///a/b.mjs:7:28)',
      '    at Generator.next (<anonymous>)',
      '    at /a/c.js:1:2',
      '    at async Promise.all (index 0)',
      '    at async c1 (file:///a/b.mjs:9:5)',
    ].join('\n');
    expect(parseStack(stack)).toEqual([
      { name: 'deep', kind: 'sync', fileName: '/a/b.mjs', lineNumber: 3, columnNumber: 10 },
      { name: 'g', kind: 'generator', fileName: '/a/b.mjs', lineNumber: 6, columnNumber: 29 },
      { name: 'Object.gm', kind: 'generator', fileName: '/a/b.mjs', lineNumber: 7, columnNumber: 28 },
      { name: '<anonymous>', kind: 'sync', fileName: '/a/c.js', lineNumber: 1, columnNumber: 2 },
      { name: 'Promise.all', kind: 'async', fileName: null, lineNumber: null, columnNumber: null },
      { name: 'c1', kind: 'async', fileName: '/a/b.mjs', lineNumber: 9, columnNumber: 5 },
    ]);
  });

  test('below the microtask runner, frames are async even when a rewriter dropped the mark', () => {
    const stack = ['Error', '    at deep (/t/x.ts:5:1)', '    at processTicksAndRejections (node:internal/process/task_queues:95:5)', '    at c1 (/t/x.ts:6:2)'].join('\n');
    expect(parseStack(stack).map((f) => [f.name, f.kind])).toEqual([
      ['deep', 'sync'],
      ['processTicksAndRejections', 'sync'],
      ['c1', 'async'],
    ]);
  });
});
