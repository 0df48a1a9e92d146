// Synchronization and queue workloads (issue 4): Lock uncontended and contended, Queue
// producer/consumer ping-pong. aloop runs generator-form tasks (the fast path); each baseline
// does the same job the way Node code does it today. Figures are ns per unit: lower is better.
import { Mutex } from 'async-mutex';

const N_UNCONTENDED = 1_000_000;
const N_TASKS = 100;
const N_ACQ = 1000;
const N_ITEMS = 1_000_000;

/**
 * The baseline queue: a plain async queue of values and of waiting resolvers, the usual
 * hand-written Node pattern (no library: p-queue is a concurrency limiter, not a channel).
 * Bounded, so the producer and consumer alternate as they do on aloop.
 */
class ResolverQueue {
  constructor(maxsize) {
    this.maxsize = maxsize;
    this.items = [];
    this.head = 0;
    this.getters = [];
    this.putters = [];
  }
  get size() {
    return this.items.length - this.head;
  }
  #take() {
    const v = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  put(v) {
    if (this.getters.length > 0) {
      this.getters.shift()(v);
      return Promise.resolve();
    }
    if (this.size < this.maxsize) {
      this.items.push(v);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.putters.push(() => {
      this.items.push(v);
      resolve();
    }));
  }
  get() {
    if (this.size > 0) {
      const v = this.#take();
      if (this.putters.length > 0) this.putters.shift()();
      return Promise.resolve(v);
    }
    return new Promise((resolve) => this.getters.push(resolve));
  }
}

function elapsedNs(t0, n) {
  return Number(process.hrtime.bigint() - t0) / n;
}

export default [
  {
    name: 'lock-uncontended',
    unit: 'ns/op',
    baseline: 'async-mutex Mutex (await acquire + release)',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        const lock = new aio.Lock();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < N_UNCONTENDED; i++) {
          yield* lock.acquire();
          lock.release();
        }
        return elapsedNs(t0, N_UNCONTENDED);
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const m = new Mutex();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < N_UNCONTENDED; i++) {
        const release = await m.acquire();
        release();
      }
      return elapsedNs(t0, N_UNCONTENDED);
    },
  },
  {
    name: 'lock-contended',
    unit: 'ns/hand-off',
    baseline: 'async-mutex Mutex (100 async fns, yield inside)',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        const lock = new aio.Lock();
        function* worker() {
          for (let i = 0; i < N_ACQ; i++) {
            yield* lock.acquire();
            yield* aio.sleep(0); // hold the lock across a suspension, so every acquire waits
            lock.release();
          }
        }
        const t0 = process.hrtime.bigint();
        const ts = [];
        for (let i = 0; i < N_TASKS; i++) ts.push(aio.createTask(worker()));
        yield* aio.gather(...ts);
        return elapsedNs(t0, N_TASKS * N_ACQ);
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const m = new Mutex();
      async function worker() {
        for (let i = 0; i < N_ACQ; i++) {
          const release = await m.acquire();
          await null;
          release();
        }
      }
      const t0 = process.hrtime.bigint();
      const ts = [];
      for (let i = 0; i < N_TASKS; i++) ts.push(worker());
      await Promise.all(ts);
      return elapsedNs(t0, N_TASKS * N_ACQ);
    },
  },
  pingpongRow('queue-pingpong', 1),
  // 100 pairs at once: many hand-offs per loop iteration, so this measures the queue rather than
  // the cost of one loop iteration (which bounds the single pair above).
  pingpongRow('queue-pingpong-100', 100),
];

/** `pairs` producer/consumer pairs, each over its own Queue(1), N_ITEMS items in all. */
function pingpongRow(name, pairs) {
  const n = N_ITEMS / pairs;
  return {
    name,
    unit: 'ns/item',
    baseline: `hand-written array-of-resolvers async queue (maxsize 1, ${pairs} pair${pairs > 1 ? 's' : ''})`,
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        const ts = [];
        const t0 = process.hrtime.bigint();
        for (let p = 0; p < pairs; p++) {
          const q = new aio.Queue(1);
          ts.push(aio.createTask(function* () {
            for (let i = 0; i < n; i++) yield* q.put(i);
          }));
          ts.push(aio.createTask(function* () {
            let sum = 0;
            for (let i = 0; i < n; i++) sum += yield* q.get();
            return sum;
          }));
        }
        yield* aio.gather(...ts);
        return elapsedNs(t0, N_ITEMS);
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const ts = [];
      const t0 = process.hrtime.bigint();
      for (let p = 0; p < pairs; p++) {
        const q = new ResolverQueue(1);
        ts.push((async () => {
          for (let i = 0; i < n; i++) await q.put(i);
        })());
        ts.push((async () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += await q.get();
          return sum;
        })());
      }
      await Promise.all(ts);
      return elapsedNs(t0, N_ITEMS);
    },
  };
}
