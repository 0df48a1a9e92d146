// The asyncio tutorial's asyncq.py: producers put random items on a Queue after random sleeps,
// consumers take them off and "work" for a random time; main waits for q.join(), then cancels
// the consumers (they loop forever) and prints the total time.
//   npm run build && node examples/asyncq.mjs [-p PRODUCERS] [-c CONSUMERS]
// SCALE (default 1) multiplies every sleep, e.g. SCALE=0.05 for a quick run.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import * as aio from 'aloop';

const SCALE = Number(process.env.SCALE ?? 1);
const randint = (a, b) => a + Math.floor(Math.random() * (b - a + 1));

function* makeitem(size = 5) {
  return randomBytes(size).toString('hex');
}

function* randsleep(caller) {
  const i = randint(0, 10);
  if (caller) console.log(`${caller} sleeping for ${i} seconds.`);
  yield* aio.sleep(i * SCALE);
}

function* produce(name, q) {
  const n = randint(0, 10);
  for (let k = 0; k < n; k++) {
    yield* randsleep(`Producer ${name}`);
    const i = yield* makeitem();
    const t = performance.now();
    yield* q.put([i, t]);
    console.log(`Producer ${name} added <${i}> to queue.`);
  }
}

function* consume(name, q) {
  for (;;) {
    yield* randsleep(`Consumer ${name}`);
    const [i, t] = yield* q.get();
    const now = performance.now();
    console.log(`Consumer ${name} got element <${i}> in ${((now - t) / 1000).toFixed(5)} seconds.`);
    q.taskDone();
  }
}

function* main(nprod, ncon) {
  const q = new aio.Queue();
  const producers = [];
  for (let n = 0; n < nprod; n++) producers.push(aio.createTask(produce(n, q)));
  const consumers = [];
  for (let n = 0; n < ncon; n++) consumers.push(aio.createTask(consume(n, q)));
  yield* aio.gather(...producers);
  yield* q.join(); // Implicitly awaits consumers, too
  for (const c of consumers) c.cancel();
}

const { values } = parseArgs({
  options: { nprod: { type: 'string', short: 'p', default: '5' }, ncon: { type: 'string', short: 'c', default: '10' } },
});
const start = performance.now();
await aio.run(main(Number(values.nprod), Number(values.ncon)));
const elapsed = (performance.now() - start) / 1000;
console.log(`Program completed in ${elapsed.toFixed(2)} seconds.`);
