// run() and Runner (CPython test_runners.py, translated), and the policy functions.
import { afterEach, expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

afterEach(() => {
  aio.setEventLoopPolicy(null);
});

eachLoop((lc) => {
  test('run() returns the result (both forms)', async () => {
    expect(await lc.run(async () => 'async')).toBe('async');
    expect(
      await lc.run(function* () {
        yield* aio.sleep(0);
        return 'gen';
      }),
    ).toBe('gen');
    function* g(): aio.Coro<number> {
      return 3;
    }
    expect(await lc.run(g())).toBe(3);
  });

  test('run() accepts a Promise and a Future-returning function', async () => {
    expect(await lc.run(() => aio.sleep(0.001, 'fut'))).toBe('fut');
    expect(await lc.run(Promise.resolve('p'))).toBe('p');
  });

  test('run() rejects with the coroutine\'s error', async () => {
    await expect(
      lc.run(async () => {
        await aio.sleep(0);
        throw new ReferenceError('main failed');
      }),
    ).rejects.toBeInstanceOf(ReferenceError);
    await expect(
      lc.run(function* (): aio.Coro<void> {
        throw new Error('gen main failed');
      }),
    ).rejects.toThrow('gen main failed');
  });

  test('run() rejects with CancelledError when main is cancelled', async () => {
    await expect(
      lc.run(async () => {
        aio.currentTask()!.cancel();
        await aio.sleep(0);
      }),
    ).rejects.toBeInstanceOf(aio.CancelledError);
  });

  test('run() cancels leftover tasks at close and waits for their cleanup', async () => {
    const log: string[] = [];
    let leftover!: aio.Task<unknown>;
    await lc.run(async () => {
      leftover = aio.createTask(async () => {
        try {
          await aio.sleep(10);
        } catch (e) {
          log.push((e as Error).name);
          await aio.sleep(0);
          log.push('cleaned');
          throw e;
        }
      });
      await aio.sleep(0);
    });
    expect(log).toEqual(['CancelledError', 'cleaned']);
    expect(leftover.cancelled()).toBe(true);
  });

  test('a leftover task failing during shutdown goes to the exception handler', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(
      async () => {
        aio.createTask(async () => {
          try {
            await aio.sleep(10);
          } catch {
            throw new Error('during shutdown');
          }
        });
        await aio.sleep(0);
      },
      { allowErrors: true, errors },
    );
    expect(errors).toHaveLength(1);
    expect((errors[0]!.exception as Error).message).toBe('during shutdown');
    expect(errors[0]!.task).toBeInstanceOf(aio.Task);
  });

  test('run() inside a running loop rejects', async () => {
    await lc.run(async () => {
      await expect(aio.run(async () => 1)).rejects.toThrow(/running event loop/);
      const r = new aio.Runner({ loopFactory: lc.newLoop });
      await expect(r.run(async () => 1)).rejects.toThrow(/running event loop/);
    });
  });

  test('run() with a non-coroutine rejects with TypeError naming the argument', async () => {
    await expect(aio.run(42 as never)).rejects.toBeInstanceOf(TypeError);
    await expect(aio.run(42 as never)).rejects.toThrow(/main/);
    await expect(aio.run(null as never)).rejects.toBeInstanceOf(TypeError);
  });

  test('run() closes its loop', async () => {
    let loop!: aio.AbstractEventLoop;
    await lc.run(async () => {
      loop = aio.getRunningLoop();
    });
    expect(loop.isClosed()).toBe(true);
    expect(loop.isRunning()).toBe(false);
    expect(() => aio.getRunningLoop()).toThrow();
  });

  test('run() with debug sets the loop debug flag', async () => {
    expect(await lc.run(async () => aio.getRunningLoop().getDebug(), { debug: true })).toBe(true);
    expect(await lc.run(async () => aio.getRunningLoop().getDebug(), { debug: false })).toBe(false);
  });

  test('aio.run with loopFactory uses that loop', async () => {
    let made: aio.AbstractEventLoop | null = null;
    const r = await aio.run(
      async () => aio.getRunningLoop(),
      {
        loopFactory: () => (made = lc.newLoop()),
      },
    );
    expect(r).toBe(made);
  });

  test('Runner: several run() calls on one loop, then close', async () => {
    const runner = new aio.Runner({ loopFactory: lc.newLoop });
    const loop = runner.getLoop();
    expect(runner.getLoop()).toBe(loop);
    expect(await runner.run(async () => aio.getRunningLoop())).toBe(loop);
    let background!: aio.Task<unknown>;
    expect(
      await runner.run(function* () {
        background = aio.createTask(() => aio.sleep(10));
        yield* aio.sleep(0);
        return 2;
      }),
    ).toBe(2);
    // A task left by one run() is still pending in the next one.
    expect(background.done()).toBe(false);
    expect(await runner.run(async () => aio.allTasks().has(background))).toBe(true);
    await runner.close();
    expect(loop.isClosed()).toBe(true);
    expect(background.cancelled()).toBe(true);
    await expect(runner.run(async () => 1)).rejects.toThrow(/closed/);
    expect(() => runner.getLoop()).toThrow(/closed/);
    await runner.close(); // closing twice is fine
  });

  test('Runner: close() before any run does nothing; debug option', async () => {
    const r1 = new aio.Runner({ loopFactory: lc.newLoop });
    await r1.close();
    const r2 = new aio.Runner({ loopFactory: lc.newLoop, debug: true });
    expect(r2.getLoop().getDebug()).toBe(true);
    expect(await r2.run(async () => aio.getRunningLoop().getDebug())).toBe(true);
    await r2.close();
  });

  test('Runner: Symbol.asyncDispose closes it', async () => {
    let loop!: aio.AbstractEventLoop;
    {
      const runner = new aio.Runner({ loopFactory: lc.newLoop });
      loop = runner.getLoop();
      expect(await runner.run(() => aio.sleep(0.001, 'x'))).toBe('x');
      await runner[Symbol.asyncDispose]();
    }
    expect(loop.isClosed()).toBe(true);
  });

  test('Runner: bad options are TypeErrors', () => {
    expect(() => new aio.Runner(5 as never)).toThrow(TypeError);
    expect(() => new aio.Runner({ loopFactory: 5 as never })).toThrow(/loopFactory/);
  });

  test('Runner without loopFactory sets and then clears the current loop', async () => {
    aio.setEventLoopPolicy(null);
    const runner = new aio.Runner();
    const loop = runner.getLoop();
    expect(aio.getEventLoop()).toBe(loop);
    expect(await runner.run(async () => 5)).toBe(5);
    await runner.close();
    expect(loop.isClosed()).toBe(true);
    expect(() => aio.getEventLoop()).toThrow(/no current event loop/);
  });

  test('default run() uses the policy\'s newEventLoop', async () => {
    let made = 0;
    class CountingPolicy extends aio.DefaultEventLoopPolicy {
      override newEventLoop(): aio.AbstractEventLoop {
        made++;
        return lc.newLoop();
      }
    }
    aio.setEventLoopPolicy(new CountingPolicy());
    expect(await aio.run(async () => 'policy')).toBe('policy');
    expect(made).toBe(1);
  });
});

test('getEventLoopPolicy returns one default policy; setEventLoopPolicy(null) restores it', () => {
  const p = aio.getEventLoopPolicy();
  expect(p).toBeInstanceOf(aio.DefaultEventLoopPolicy);
  expect(aio.getEventLoopPolicy()).toBe(p);
  const mine = new aio.DefaultEventLoopPolicy();
  aio.setEventLoopPolicy(mine);
  expect(aio.getEventLoopPolicy()).toBe(mine);
  aio.setEventLoopPolicy(null);
  const again = aio.getEventLoopPolicy();
  expect(again).toBeInstanceOf(aio.DefaultEventLoopPolicy);
  expect(again).not.toBe(mine);
});

test('setEventLoopPolicy rejects a non-policy with TypeError naming policy', () => {
  expect(() => aio.setEventLoopPolicy(5 as never)).toThrow(TypeError);
  expect(() => aio.setEventLoopPolicy({} as never)).toThrow(/policy/);
});

test('newEventLoop, getEventLoop, setEventLoop', () => {
  aio.setEventLoopPolicy(null);
  const a = aio.newEventLoop();
  const b = aio.newEventLoop();
  expect(a).not.toBe(b);
  expect(a.isRunning()).toBe(false);
  aio.setEventLoop(a);
  expect(aio.getEventLoop()).toBe(a);
  expect(aio.getEventLoop()).toBe(a);
  aio.setEventLoop(b);
  expect(aio.getEventLoop()).toBe(b);
  aio.setEventLoop(null);
  expect(() => aio.getEventLoop()).toThrow(/no current event loop/);
  expect(() => aio.setEventLoop(5 as never)).toThrow(TypeError);
  a.close();
  b.close();
});

test('getEventLoop never makes a loop implicitly (asyncio 3.14): it throws, saying what to write', () => {
  aio.setEventLoopPolicy(null);
  expect(() => aio.getEventLoop()).toThrow(/no running event loop and no current event loop/);
  expect(() => aio.getEventLoop()).toThrow(/aio\.run\(\(\) => main\(x\)\)/);
  // Still none: the failed call made no loop.
  expect(() => aio.getEventLoop()).toThrow(/no current event loop/);
  // A loop that was set stays the current one, closed or not (asyncio).
  const loop = aio.newEventLoop();
  aio.setEventLoop(loop);
  loop.close();
  expect(aio.getEventLoop()).toBe(loop);
  aio.setEventLoop(null);
});

test('getRunningLoop throws when no loop runs; getEventLoop inside gives the running loop', async () => {
  expect(() => aio.getRunningLoop()).toThrow(/no running event loop/);
  await aio.run(async () => {
    expect(aio.getEventLoop()).toBe(aio.getRunningLoop());
  });
});
