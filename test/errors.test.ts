// The error classes of SPEC "Errors", and bad arguments across the API: TypeError/RangeError
// with a message that names the argument.
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const CLASSES = [
  'CancelledError',
  'TimeoutError',
  'InvalidStateError',
  'IncompleteReadError',
  'LimitOverrunError',
  'QueueEmpty',
  'QueueFull',
  'QueueShutDown',
  'BrokenBarrierError',
  'ExceptionGroup',
  'NotImplementedError',
] as const;

function make(name: (typeof CLASSES)[number]): Error {
  const C = (aio as unknown as Record<string, new (...a: unknown[]) => Error>)[name]!;
  switch (name) {
    case 'IncompleteReadError':
      return new C(Buffer.from('ab'), 5);
    case 'LimitOverrunError':
      return new C('limit', 3);
    case 'ExceptionGroup':
      return new C('group', [new Error('a')]);
    default:
      return new C('msg');
  }
}

test.each(CLASSES)('%s is exported, extends Error and is named after its class', (name) => {
  const C = (aio as unknown as Record<string, unknown>)[name];
  expect(typeof C).toBe('function');
  const e = make(name);
  expect(e).toBeInstanceOf(Error);
  expect(e).toBeInstanceOf(C as new () => Error);
  expect(e.name).toBe(name);
  expect(String(e)).toMatch(new RegExp(`^${name}`));
  expect(typeof e.stack).toBe('string');
});

test('ExceptionGroup is an AggregateError with .exceptions and .errors', () => {
  const a = new Error('a');
  const b = new TypeError('b');
  const eg = new aio.ExceptionGroup('two failures', [a, b]);
  expect(eg).toBeInstanceOf(AggregateError);
  expect(eg.exceptions).toEqual([a, b]);
  expect(eg.errors).toEqual([a, b]);
  expect(eg.message).toBe('two failures');
});

test('IncompleteReadError and LimitOverrunError carry their fields', () => {
  const e = new aio.IncompleteReadError(Buffer.from('abc'), 10);
  expect(e.partial.toString()).toBe('abc');
  expect(e.expected).toBe(10);
  expect(e.message).toMatch(/3 bytes read on a total of 10/);
  const u = new aio.IncompleteReadError(Buffer.alloc(0), null);
  expect(u.expected).toBeNull();
  const l = new aio.LimitOverrunError('too long', 7);
  expect(l.consumed).toBe(7);
  expect(l.message).toBe('too long');
});

test('CancelledError and TimeoutError are distinct classes', () => {
  expect(new aio.CancelledError()).not.toBeInstanceOf(aio.TimeoutError);
  expect(new aio.TimeoutError()).not.toBeInstanceOf(aio.CancelledError);
});

/** Asserts `fn` throws `Cls` with a message naming `arg`. */
function throwsNaming(fn: () => unknown, Cls: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor, arg: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${Cls.name} naming ${arg}`).toBeInstanceOf(Cls);
  expect((err as Error).message).toContain(arg);
}

eachLoop((lc) => {
  test('callSoon / callLater / callAt with bad arguments', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      throwsNaming(() => loop.callSoon(5 as never), TypeError, 'callback');
      throwsNaming(() => loop.callSoonThreadsafe('f' as never), TypeError, 'callback');
      throwsNaming(() => loop.callLater(NaN, () => {}), RangeError, 'delay');
      throwsNaming(() => loop.callLater('1' as never, () => {}), TypeError, 'delay');
      throwsNaming(() => loop.callLater(1, null as never), TypeError, 'callback');
      throwsNaming(() => loop.callAt(NaN, () => {}), RangeError, 'when');
      throwsNaming(() => loop.callAt(undefined as never, () => {}), TypeError, 'when');
      throwsNaming(() => loop.callAt(1, {} as never), TypeError, 'callback');
    });
  });

  test('sleep with bad delays', async () => {
    await lc.run(async () => {
      throwsNaming(() => aio.sleep('1' as never), TypeError, 'delay');
      throwsNaming(() => aio.sleep(NaN), RangeError, 'delay');
      throwsNaming(() => aio.sleep(undefined as never), TypeError, 'delay');
      throwsNaming(() => aio.sleep(1n as never), TypeError, 'delay');
    });
  });

  test('createTask, ensureFuture, shield with non-awaitables', async () => {
    await lc.run(async () => {
      throwsNaming(() => aio.createTask(42 as never), TypeError, 'coro');
      throwsNaming(() => aio.createTask({} as never), TypeError, 'coro');
      throwsNaming(() => aio.createTask(async () => {}, 'name' as never), TypeError, 'options');
      throwsNaming(() => aio.getRunningLoop().createTask(null as never), TypeError, 'coro');
      throwsNaming(() => aio.ensureFuture(42 as never), TypeError, 'x');
      throwsNaming(() => aio.shield(42 as never), TypeError, 'aw');
    });
  });

  test('gather with a number names the offending argument and starts nothing', async () => {
    await lc.run(async () => {
      let started = false;
      const coro = (function* () {
        started = true;
      })();
      throwsNaming(() => aio.gather(coro, 5 as never), TypeError, 'aws[1]');
      throwsNaming(() => aio.gather([coro, 'x' as never]), TypeError, 'aws[1]');
      await aio.sleep(0);
      expect(started).toBe(false);
    });
  });

  test('wait, asCompleted, waitFor with bad arguments', async () => {
    await lc.run(async () => {
      throwsNaming(() => aio.wait([]), RangeError, 'aws');
      throwsNaming(() => aio.wait(5 as never), TypeError, 'aws');
      throwsNaming(() => aio.wait([1] as never), TypeError, 'aws[0]');
      throwsNaming(() => aio.wait([aio.sleep(0)], { timeout: NaN }), RangeError, 'timeout');
      throwsNaming(() => aio.wait([aio.sleep(0)], { returnWhen: 'X' as never }), RangeError, 'returnWhen');
      throwsNaming(() => aio.wait([aio.sleep(0)], 5 as never), TypeError, 'options');
      throwsNaming(() => aio.asCompleted(5 as never), TypeError, 'aws');
      throwsNaming(() => aio.asCompleted([aio.sleep(0)], { timeout: 'x' as never }), TypeError, 'timeout');
      throwsNaming(() => aio.waitFor(aio.sleep(0), NaN), RangeError, 'timeout');
      throwsNaming(() => aio.waitFor(aio.sleep(0), '1' as never), TypeError, 'timeout');
      throwsNaming(() => aio.waitFor(42 as never, 1), TypeError, 'aw');
    });
  });

  test('timeout / timeoutAt / taskGroup with bad arguments', async () => {
    await lc.run(async () => {
      throwsNaming(() => aio.timeout('x' as never, async () => {}), TypeError, 'delay');
      throwsNaming(() => aio.timeout(NaN, async () => {}), RangeError, 'delay');
      throwsNaming(() => aio.timeoutAt('x' as never, async () => {}), TypeError, 'when');
      throwsNaming(() => aio.timeout(1, 5 as never), TypeError, 'body');
      throwsNaming(() => aio.taskGroup(5 as never), TypeError, 'body');
    });
  });

  test('future and loop methods with bad arguments', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = loop.createFuture();
      throwsNaming(() => f.addDoneCallback(5 as never), TypeError, 'callback');
      throwsNaming(() => loop.setExceptionHandler(5 as never), TypeError, 'handler');
      throwsNaming(() => loop.setTaskFactory('x' as never), TypeError, 'factory');
    });
  });

  test('misuse of state throws an Error saying what was misused', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      expect(() => loop.close()).toThrow(/running/);
      const f = loop.createFuture();
      f.setResult(1);
      expect(() => f.setResult(2)).toThrow(aio.InvalidStateError);
      expect(() => loop.createFuture().result()).toThrow(/not ready/);
      await expect(loop.runForever()).rejects.toThrow(/already running/);
    });
  });
});

test('run() with bad arguments rejects with TypeError naming main', async () => {
  await expect(aio.run(42 as never)).rejects.toThrow(TypeError);
  await expect(aio.run(42 as never)).rejects.toThrow(/main/);
  await expect(aio.run(async () => {}, { loopFactory: 5 as never })).rejects.toThrow(/loopFactory/);
});

test('runUntilComplete with a non-awaitable rejects with TypeError', async () => {
  const loop = new aio.PureEventLoop();
  try {
    await expect(loop.runUntilComplete('blah' as never)).rejects.toBeInstanceOf(TypeError);
    await expect(loop.runUntilComplete(42 as never)).rejects.toBeInstanceOf(TypeError);
  } finally {
    loop.close();
  }
});

test('functions that need a running loop say so', () => {
  expect(() => aio.sleep(1)).toThrow(/no running event loop/);
  expect(() => aio.createTask(async () => {})).toThrow(/no running event loop/);
  expect(() => aio.timeout(1, async () => {})).toThrow(/no running event loop/);
  expect(() => aio.taskGroup(async () => {})).toThrow(/no running event loop/);
});
