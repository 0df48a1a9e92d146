// Executor round trip: `loop.runInExecutor(pool, fn, x)` with a trivial function on a 1-worker
// ThreadPoolExecutor, awaited one after another (each call ships the function's source and its
// argument to the worker and the result back, then wakes the awaiting task). The baseline is the
// least a round trip can cost: a bare worker_threads Worker answering postMessage with
// postMessage, awaited through a Promise. Figures are µs per round trip: lower is better.
//
// A round trip is two thread wake-ups, which a busy machine delays by as much as the work
// itself: each process times BLOCKS blocks of ROUND_TRIPS and reports the median block, so
// that a burst of other load in one of them does not decide the figure.

const ROUND_TRIPS = 2_000;
const BLOCKS = 11;
const WARMUP = 2_000;

/** Median µs per round trip over BLOCKS timed blocks of `rounds(ROUND_TRIPS)`. */
async function timeBlocks(rounds) {
  const per = [];
  for (let b = 0; b < BLOCKS; b++) {
    const t0 = process.hrtime.bigint();
    await rounds(ROUND_TRIPS);
    per.push(Number(process.hrtime.bigint() - t0) / 1000 / ROUND_TRIPS);
  }
  per.sort((a, b) => a - b);
  return per[BLOCKS >> 1];
}

const WORKER = `
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (x) => parentPort.postMessage(x + 1));
`;

export default [
  {
    name: 'executor-roundtrip',
    unit: 'µs/round trip',
    baseline: 'worker_threads postMessage',
    async run({ aio, newLoop }) {
      const pool = new aio.ThreadPoolExecutor(1);
      try {
        return await aio.run(async () => {
          const loop = aio.getRunningLoop();
          const inc = (x) => x + 1;
          const rounds = async (n) => {
            let x = 0;
            for (let i = 0; i < n; i++) x = await loop.runInExecutor(pool, inc, x);
            if (x !== n) throw new Error(`executor-roundtrip: got ${x}, expected ${n}`);
          };
          await rounds(WARMUP);
          return timeBlocks(rounds);
        }, { loopFactory: newLoop });
      } finally {
        await pool.shutdown();
      }
    },
    async runBaseline() {
      const { Worker } = await import('node:worker_threads');
      const worker = new Worker(WORKER, { eval: true });
      let resolve = null;
      worker.on('message', (v) => resolve(v));
      const call = (x) => new Promise((r) => {
        resolve = r;
        worker.postMessage(x);
      });
      const rounds = async (n) => {
        let x = 0;
        for (let i = 0; i < n; i++) x = await call(x);
        if (x !== n) throw new Error(`executor-roundtrip baseline: got ${x}, expected ${n}`);
      };
      await rounds(WARMUP);
      const us = await timeBlocks(rounds);
      await worker.terminate();
      return us;
    },
  },
];
