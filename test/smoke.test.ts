import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

eachLoop((lc) => {
  test('callSoon, callLater(0), callSoon run A, C, B', async () => {
    const order: string[] = [];
    await lc.run(function* () {
      const loop = aio.getRunningLoop();
      loop.callSoon(() => order.push('A'));
      loop.callLater(0, () => order.push('B'));
      loop.callSoon(() => order.push('C'));
      yield* aio.sleep(0.01);
    });
    expect(order).toEqual(['A', 'C', 'B']);
  });

  test('both coroutine forms gather', async () => {
    function* gen(): aio.Coro<number> {
      yield* aio.sleep(0.001);
      return 1;
    }
    const r = await lc.run(async () => aio.gather(gen(), async () => 2, aio.sleep(0.001, 3)));
    expect(r).toEqual([1, 2, 3]);
  });
});
