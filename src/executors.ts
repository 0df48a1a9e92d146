/**
 * Executors: run functions on worker threads, really in parallel, while the loop keeps running
 * (asyncio's `run_in_executor` / `to_thread` over a ThreadPoolExecutor).
 *
 * JavaScript threads share no memory, so a function is sent as its source text and must be
 * self-contained (no captured variables); arguments and results are structured-cloned. A
 * function can also be named by module and export: `{ module: '/abs/path.mjs', name: 'fn' }`.
 * Errors thrown in the worker reach the awaiting caller with their name, message and stack.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { describe } from './events.js';

/** A function to run elsewhere: a self-contained function, or a module export. */
export type ExecutorFunction = ((...args: any[]) => unknown) | { module: string; name: string };

export interface Executor {
  /** Runs `fn(...args)`; resolves to its result (awaited if it returns a Promise). */
  submit(fn: ExecutorFunction, args: unknown[]): Promise<unknown>;
  /** Stops taking work; with `wait`, resolves once running calls have ended. */
  shutdown(wait?: boolean): Promise<void>;
}

// The worker: compiles each distinct source once, runs jobs one at a time.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const compiled = new Map();
parentPort.on('message', async ({ id, source, module, name, args }) => {
  try {
    let fn;
    if (source !== undefined) {
      fn = compiled.get(source);
      if (fn === undefined) {
        fn = (0, eval)('(' + source + ')');
        compiled.set(source, fn);
      }
    } else {
      const m = await import(module);
      fn = m[name];
      if (typeof fn !== 'function') throw new TypeError(name + ' is not a function exported by ' + module);
    }
    const result = await fn(...args);
    parentPort.postMessage({ id, ok: true, result });
  } catch (e) {
    const err = e instanceof Error ? { name: e.name, message: e.message, stack: e.stack, code: e.code } : { name: 'Error', message: String(e) };
    parentPort.postMessage({ id, ok: false, error: err });
  }
});
`;

interface Job {
  id: number;
  msg: { id: number; source?: string; module?: string; name?: string; args: unknown[] };
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** A pool of worker threads (asyncio's ThreadPoolExecutor). Idle workers do not keep the process alive. */
export class ThreadPoolExecutor implements Executor {
  readonly maxWorkers: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #nextId = 1;
  #shutdown = false;

  /** @param maxWorkers @default min(32, cores + 4), as asyncio's */
  constructor(maxWorkers: number = Math.min(32, availableParallelism() + 4)) {
    if (typeof maxWorkers !== 'number' || !Number.isInteger(maxWorkers)) {
      throw new TypeError(`maxWorkers must be an integer, not ${describe(maxWorkers)}`);
    }
    if (maxWorkers <= 0) throw new RangeError(`maxWorkers must be greater than 0, not ${maxWorkers}`);
    this.maxWorkers = maxWorkers;
  }

  submit(fn: ExecutorFunction, args: unknown[] = []): Promise<unknown> {
    if (this.#shutdown) return Promise.reject(new Error('cannot schedule new futures after shutdown'));
    let msg: Job['msg'];
    const id = this.#nextId++;
    if (typeof fn === 'function') {
      msg = { id, source: functionSource(fn), args };
    } else if (fn !== null && typeof fn === 'object' && typeof fn.module === 'string' && typeof fn.name === 'string') {
      const module = fn.module.startsWith('file:') ? fn.module : pathToFileURL(fn.module).href;
      msg = { id, module, name: fn.name, args };
    } else {
      return Promise.reject(new TypeError(`fn must be a function or { module, name }, not ${describe(fn)}`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ id, msg, resolve, reject });
      this.#pump();
    });
  }

  async shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    if (!wait) for (const j of this.#queue.splice(0)) j.reject(new Error('executor shut down'));
    while (wait && (this.#queue.length > 0 || this.#slots.some((s) => s.job !== null))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === null);
      if (slot === undefined) {
        if (this.#slots.length >= this.maxWorkers) return;
        slot = this.#spawn();
      }
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      try {
        slot.worker.postMessage(job.msg);
      } catch (e) {
        // Arguments that cannot be cloned (functions, sockets...): the caller gets the error.
        slot.job = null;
        slot.worker.unref();
        job.reject(e);
      }
    }
  }

  #spawn(): Slot {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: Record<string, unknown> }) => {
      const job = slot.job;
      slot.job = null;
      worker.unref();
      if (job !== null) {
        if (m.ok) job.resolve(m.result);
        else job.reject(rebuildError(m.error!));
      }
      this.#pump();
    });
    worker.on('error', (e) => {
      // The worker died (e.g. out of memory): fail its job, replace it on next demand.
      const job = slot.job;
      this.#slots = this.#slots.filter((s) => s !== slot);
      if (job !== null) job.reject(e);
      this.#pump();
    });
    this.#slots.push(slot);
    return slot;
  }
}

function functionSource(fn: (...args: any[]) => unknown): string {
  const src = Function.prototype.toString.call(fn);
  if (src.endsWith('{ [native code] }')) throw new TypeError(`fn must be a JavaScript function with source, not native ${fn.name}`);
  // Check it parses as an expression here (compiling, not running), so a bad function fails
  // the call at once; a method shorthand `name(a) {...}` is not an expression: wrap it.
  if (parses(src)) return src;
  const wrapped = `({ ${src} })[${JSON.stringify(fn.name)}]`;
  if (parses(wrapped)) return wrapped;
  throw new TypeError(`fn's source cannot be sent to a worker: ${src.slice(0, 60)}`);
}

function parses(expr: string): boolean {
  try {
    new Function(`return (${expr});`);
    return true;
  } catch {
    return false;
  }
}

function rebuildError(e: Record<string, unknown>): Error {
  const err = new Error(String(e.message));
  err.name = String(e.name ?? 'Error');
  if (e.stack !== undefined) err.stack = String(e.stack);
  if (e.code !== undefined) (err as Error & { code: unknown }).code = e.code;
  return err;
}
