// The asyncio tutorial's rand.py: three coroutines each draw random numbers until one exceeds
// their threshold, sleeping between tries; gather collects the three results.
//   npm run build && node examples/rand.mjs
import * as aio from 'aloop';
import { seededRandInt } from './random.mjs';

const randint = seededRandInt(444);
// ANSI colors
const c = ['\x1b[0m', '\x1b[36m', '\x1b[91m', '\x1b[35m'];

function* makerandom(idx, threshold = 6) {
  console.log(c[idx + 1] + `Initiated makerandom(${idx}).`);
  let i = randint(0, 10);
  while (i <= threshold) {
    console.log(c[idx + 1] + `makerandom(${idx}) == ${i} too low; retrying.`);
    yield* aio.sleep(idx + 1);
    i = randint(0, 10);
  }
  console.log(c[idx + 1] + `---> Finished: makerandom(${idx}) == ${i}` + c[0]);
  return i;
}

function* main() {
  return yield* aio.gather([0, 1, 2].map((i) => makerandom(i, 10 - i - 1)));
}

const [r1, r2, r3] = await aio.run(main);
console.log(`r1: ${r1}, r2: ${r2}, r3: ${r3}`);
