// The asyncio tutorial's countasync.py, one-to-one: three count() coroutines run concurrently,
// so the program takes about 1 s, not 3 s.
//   npm run build && node examples/countasync.mjs
import * as aio from 'aloop';

function* count() {
  console.log('One');
  yield* aio.sleep(1);
  console.log('Two');
}

function* main() {
  yield* aio.gather(count(), count(), count());
}

const s = performance.now();
await aio.run(main);
const elapsed = (performance.now() - s) / 1000;
console.log(`${import.meta.url.split('/').pop()} executed in ${elapsed.toFixed(2)} seconds.`);
