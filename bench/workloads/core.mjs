// Core workloads of the foundation and native-loop issues: callbacks, timers, gather (task steps
// and other task rows are in tasks.mjs).
// Each `run` gets the built package (`aio`) and a factory for the loop under test; `runBaseline`
// does the same job with plain Node. Figures are ns per unit of work: lower is better.

const N_CALLSOON = 1_000_000;
const N_TIMERS = 1_000_000;
const N_TASKS = 100_000;

/** Deterministic delays (ms) in [0, 50), the same for aloop and the baseline. */
function delaysMs(n) {
  let x = 0x9e3779b9;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = (x % 50000) / 1000;
  }
  return out;
}

export default [
  {
    name: 'callsoon',
    unit: 'ns/callback',
    baseline: 'setImmediate',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        const loop = aio.getRunningLoop();
        const done = loop.createFuture();
        let n = 0;
        const cb = () => { if (++n === N_CALLSOON) done.setResult(); };
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N_CALLSOON; i++) loop.callSoon(cb);
        yield* done;
        return Number(process.hrtime.bigint() - t0) / N_CALLSOON;
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      return new Promise((resolve) => {
        let n = 0;
        const t0 = process.hrtime.bigint();
        const cb = () => { if (++n === N_CALLSOON) resolve(Number(process.hrtime.bigint() - t0) / N_CALLSOON); };
        for (let i = 0; i < N_CALLSOON; i++) setImmediate(cb);
      });
    },
  },
  {
    name: 'timers-1m',
    unit: 'ns/timer',
    baseline: 'setTimeout',
    async run({ aio, newLoop }) {
      const d = delaysMs(N_TIMERS);
      return aio.run(function* () {
        const loop = aio.getRunningLoop();
        const done = loop.createFuture();
        let n = 0;
        const cb = () => { if (++n === N_TIMERS) done.setResult(); };
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N_TIMERS; i++) loop.callLater(d[i] / 1000, cb);
        yield* done;
        return Number(process.hrtime.bigint() - t0) / N_TIMERS;
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const d = delaysMs(N_TIMERS);
      return new Promise((resolve) => {
        let n = 0;
        const t0 = process.hrtime.bigint();
        const cb = () => { if (++n === N_TIMERS) resolve(Number(process.hrtime.bigint() - t0) / N_TIMERS); };
        for (let i = 0; i < N_TIMERS; i++) setTimeout(cb, d[i]);
      });
    },
  },
  {
    name: 'gather-100k',
    unit: 'ns/task',
    baseline: 'Promise.all of async fns',
    async run({ aio, newLoop }) {
      function* job(i) {
        return i;
      }
      return aio.run(function* () {
        globalThis.gc?.();
        const h0 = process.memoryUsage().heapUsed;
        const t0 = process.hrtime.bigint();
        const coros = new Array(N_TASKS);
        for (let i = 0; i < N_TASKS; i++) coros[i] = aio.createTask(job(i));
        const g = aio.gather(coros);
        const heap = (process.memoryUsage().heapUsed - h0) / N_TASKS;
        const r = yield* g;
        const ns = Number(process.hrtime.bigint() - t0) / N_TASKS;
        if (r.length !== N_TASKS) throw new Error('gather lost results');
        return { value: ns, note: `${Math.round(heap)} B/task` };
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      async function job(i) {
        return i;
      }
      globalThis.gc?.();
      const h0 = process.memoryUsage().heapUsed;
      const t0 = process.hrtime.bigint();
      const ps = new Array(N_TASKS);
      for (let i = 0; i < N_TASKS; i++) ps[i] = job(i);
      const all = Promise.all(ps);
      const heap = (process.memoryUsage().heapUsed - h0) / N_TASKS;
      await all;
      return { value: Number(process.hrtime.bigint() - t0) / N_TASKS, note: `${Math.round(heap)} B/task` };
    },
  },
];
