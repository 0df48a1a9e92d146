// Task workloads: what a task step costs (async-function and generator tasks, few long tasks and
// many short ones), whether having used async tasks slows plain `await` elsewhere in the process,
// a big Promise.all inside a task (and how it scales from 10k to 100k), and the heap a sleeping
// task holds. Each `run` gets the built package (`aio`) and a factory for the loop under test;
// `runBaseline` does the same job with plain Node and never loads aloop (bench/one.mjs imports
// dist/ only for the pure and native targets). Every row checks that its work was done (counts).

const TOTAL_STEPS = 1_000_000;

function elapsedNs(t0) {
  return Number(process.hrtime.bigint() - t0);
}

function check(what, got, want) {
  if (got !== want) throw new Error(`${what}: ${got}, expected ${want}`);
}

// --- task-step-*: `tasks` tasks × `steps` steps, 1M steps in all ----------------------------

/** `tasks` tasks of `kind` ('async' or 'generator'), each taking `steps` sleep(0) steps: ns/step. */
function taskSteps(kind, tasks, steps) {
  return async ({ aio, newLoop }) => {
    let done = 0;
    const worker = kind === 'async'
      ? async function worker() {
        for (let i = 0; i < steps; i++) {
          await aio.sleep(0);
          done++;
        }
      }
      : function* worker() {
        for (let i = 0; i < steps; i++) {
          yield* aio.sleep(0);
          done++;
        }
      };
    return aio.run(async () => {
      const t0 = process.hrtime.bigint();
      const ts = new Array(tasks);
      for (let i = 0; i < tasks; i++) ts[i] = aio.createTask(worker);
      await aio.gather(ts);
      const ns = elapsedNs(t0) / (tasks * steps);
      check('steps done', done, tasks * steps);
      return ns;
    }, { loopFactory: newLoop });
  };
}

function stepBaseline(tasks, steps) {
  return async () => {
    let done = 0;
    async function worker() {
      for (let i = 0; i < steps; i++) {
        await Promise.resolve();
        done++;
      }
    }
    const t0 = process.hrtime.bigint();
    const ps = new Array(tasks);
    for (let i = 0; i < tasks; i++) ps[i] = worker();
    await Promise.all(ps);
    const ns = elapsedNs(t0) / (tasks * steps);
    check('steps done', done, tasks * steps);
    return ns;
  };
}

function stepRow(name, kind, tasks, extra = {}) {
  const steps = TOTAL_STEPS / tasks;
  return {
    name,
    unit: 'ns/step',
    baseline: `${tasks.toLocaleString('en-US')} async fns × ${steps} awaits of Promise.resolve()`,
    run: taskSteps(kind, tasks, steps),
    runBaseline: stepBaseline(tasks, steps),
    ...extra,
  };
}

// --- await-tax --------------------------------------------------------------------------------

const TAX_AWAITS = 2_000_000;
const TAX_TASKS = 1000;
const TAX_STEPS = 3;

/** A plain async function awaiting Promise.resolve() n times, outside any task: ns/await. */
async function plainAwaits(n) {
  let k = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    await Promise.resolve();
    k++;
  }
  const ns = elapsedNs(t0) / n;
  check('plain awaits', k, n);
  return ns;
}

// --- promise-all-100k-in-task -----------------------------------------------------------------

const PA_BIG = 100_000;
const PA_SMALL = 10_000;

/** Promise.all of PA_SMALL then PA_BIG calls of `f`: ms for the big one, scaling in the note. */
async function promiseAllRounds(f) {
  const round = async (n) => {
    let done = 0;
    const t0 = process.hrtime.bigint();
    await Promise.all(Array.from({ length: n }, async () => {
      await f();
      done++;
    }));
    const ms = elapsedNs(t0) / 1e6;
    check('functions done', done, n);
    return ms;
  };
  const small = await round(PA_SMALL);
  const big = await round(PA_BIG);
  return { value: big, note: `10k ${small.toFixed(0)} ms, 100k/10k = ${(big / small).toFixed(1)}` };
}

// --- sleeping-tasks-1m-* ----------------------------------------------------------------------

const SLEEPERS = 1_000_000;
// A million suspended tasks plus their timers need more than a default heap on slow builds.
const SLEEPERS_NODE_ARGS = ['--max-old-space-size=8192'];

/**
 * Heap per sleeping task: gc, create SLEEPERS tasks each sleeping 1 s, let them all reach their
 * sleep (`settle`), gc again, heapUsed growth / SLEEPERS; then wait for all of them. The note
 * gives the time from the first creation to the last finish.
 */
async function measureSleepers({ spawn, settle, join, counts }) {
  globalThis.gc();
  const h0 = process.memoryUsage().heapUsed;
  const t0 = process.hrtime.bigint();
  const all = new Array(SLEEPERS);
  for (let i = 0; i < SLEEPERS; i++) all[i] = spawn();
  await settle();
  globalThis.gc();
  const perTask = (process.memoryUsage().heapUsed - h0) / SLEEPERS;
  const early = counts.finished;
  check('tasks asleep', counts.started, SLEEPERS);
  await join(all);
  const s = elapsedNs(t0) / 1e9;
  check('tasks finished', counts.finished, SLEEPERS);
  // If creating and starting them took over a second, some woke before the heap was measured.
  const warn = early > 0 ? `, ${early} had already finished when measured` : '';
  return { value: perTask, note: `all done in ${s.toFixed(1)} s${warn}` };
}

function sleepersRow(name, kind) {
  return {
    name,
    unit: 'B/task',
    baseline: '1M async fns awaiting setTimeout(1000)',
    nodeArgs: SLEEPERS_NODE_ARGS,
    timeout: 300_000,
    async run({ aio, newLoop }) {
      const counts = { started: 0, finished: 0 };
      const worker = kind === 'async'
        ? async () => { counts.started++; await aio.sleep(1); counts.finished++; }
        : function* () { counts.started++; yield* aio.sleep(1); counts.finished++; };
      return aio.run(async () => measureSleepers({
        spawn: () => aio.createTask(worker),
        settle: async () => { await aio.sleep(0); await aio.sleep(0); },
        join: (ts) => aio.gather(ts),
        counts,
      }), { loopFactory: newLoop });
    },
    async runBaseline() {
      const counts = { started: 0, finished: 0 };
      const worker = async () => {
        counts.started++;
        await new Promise((r) => setTimeout(r, 1000));
        counts.finished++;
      };
      return measureSleepers({
        spawn: worker,
        // A plain async function reaches its await when called: nothing to wait for. (Waiting for
        // the loop here would let the first timers fire: creating 1M of them takes over 1 s, and
        // Node dates them from the loop's cached time, taken before creation began.)
        settle: async () => {},
        join: (ps) => Promise.all(ps),
        counts,
      });
    },
  };
}

export default [
  stepRow('task-step-async-1k', 'async', 1000),
  stepRow('task-step-async-100k', 'async', 100_000),
  stepRow('task-step-generator-1k', 'generator', 1000),
  stepRow('task-step-generator-100k', 'generator', 100_000),
  // The same as task-step-async-1k with the task context (AsyncLocalStorage) switched on: what the
  // context costs on this Node version.
  stepRow('task-step-async-1k-context', 'async', 1000, { env: { ALOOP_TASK_CONTEXT: '1' } }),
  {
    // Does having run async tasks leave the process slower at plain `await`? aloop runs 1000
    // async tasks to completion on the loop under test; then, after run() returned and outside any
    // task, a plain async function awaits Promise.resolve() 2M times. The baseline process times
    // the same loop without ever loading aloop.
    name: 'await-tax',
    unit: 'ns/await',
    baseline: 'plain await, aloop never loaded',
    async run({ aio, newLoop }) {
      let done = 0;
      async function worker() {
        for (let i = 0; i < TAX_STEPS; i++) await aio.sleep(0);
        done++;
      }
      await aio.run(async () => {
        const ts = new Array(TAX_TASKS);
        for (let i = 0; i < TAX_TASKS; i++) ts[i] = aio.createTask(worker);
        await aio.gather(ts);
      }, { loopFactory: newLoop });
      check('tasks done', done, TAX_TASKS);
      return plainAwaits(TAX_AWAITS);
    },
    runBaseline: () => plainAwaits(TAX_AWAITS),
  },
  {
    // A wide Promise.all of async functions inside a task, each sleeping 0.1 s then yielding once:
    // ms for 100k of them (after a 10k round, whose time gives the scaling note).
    name: 'promise-all-100k-in-task',
    unit: 'ms',
    baseline: 'plain Node: setTimeout(100) + setImmediate, Promise.all',
    timeout: 300_000,
    async run({ aio, newLoop }) {
      return aio.run(() => promiseAllRounds(async () => {
        await aio.sleep(0.1);
        await aio.sleep(0);
      }), { loopFactory: newLoop });
    },
    runBaseline: () => promiseAllRounds(async () => {
      await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setImmediate(r));
    }),
  },
  sleepersRow('sleeping-tasks-1m-async', 'async'),
  sleepersRow('sleeping-tasks-1m-generator', 'generator'),
];
