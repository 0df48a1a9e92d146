import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('a signal handler runs as a loop callback with its arguments', async () => {
    const got = await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const fut = loop.createFuture<string>();
      loop.addSignalHandler('SIGUSR2', (tag: string) => fut.setResult(tag), 'usr2');
      process.kill(process.pid, 'SIGUSR2');
      const r = await aio.waitFor(fut, 5);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(true);
      expect(loop.removeSignalHandler('SIGUSR2')).toBe(false);
      return r;
    });
    expect(got).toBe('usr2');
  });

  test('signals by number; a later handler replaces the earlier one', async () => {
    const calls: string[] = [];
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const done = loop.createFuture<void>();
      loop.addSignalHandler('SIGUSR2', () => calls.push('first'));
      loop.addSignalHandler(31 === (await import('node:os')).constants.signals.SIGUSR2 ? 31 : 'SIGUSR2', () => {
        calls.push('second');
        done.setResult();
      });
      process.kill(process.pid, 'SIGUSR2');
      await aio.waitFor(done, 5);
      loop.removeSignalHandler('SIGUSR2');
    });
    expect(calls).toEqual(['second']);
  });

  test('bad signals are refused; handlers are removed at close', async () => {
    const loop = lc.newLoop();
    expect(() => loop.addSignalHandler('SIGNOPE', () => 1)).toThrow(RangeError);
    expect(() => loop.addSignalHandler('SIGKILL', () => 1)).toThrow(/cannot be caught/);
    expect(() => loop.addSignalHandler({} as never, () => 1)).toThrow(TypeError);
    expect(() => loop.addSignalHandler('SIGUSR2', 5 as never)).toThrow(TypeError);
    const before = process.listenerCount('SIGUSR2');
    loop.addSignalHandler('SIGUSR2', () => 1);
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);
    loop.close();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });
});
