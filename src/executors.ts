/**
 * Executors: run functions on worker threads, really in parallel, while the loop keeps running
 * (asyncio's `run_in_executor` / `to_thread` over a ThreadPoolExecutor).
 *
 * JavaScript threads share no memory, so a function is sent as its source text and must be
 * self-contained (no captured variables); arguments and results are structured-cloned. A
 * function can also be named by module and export, `{ module, name }` (see {@link ExecutorFunction}
 * for how the module is found). Errors thrown in the worker reach the awaiting caller with their
 * class, message, stack, `code` and `cause`.
 *
 * Per call, a worker gets the function's source (or module and name) only the first time it
 * runs it; later calls send a small number naming the function the worker compiled then.
 */
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { isBuiltin } from 'node:module';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, type AbstractEventLoop } from './events.js';
import type { Future } from './futures.js';

/**
 * A function to run elsewhere: a self-contained function (no variables from its scope: pass
 * them as arguments), or a module export `{ module, name }`. `module` is, as `import()` takes it:
 * - a built-in module: `'node:os'`, or `'os'`;
 * - a URL: `file:`, `data:` or `node:`;
 * - a path: absolute, or starting with `./` or `../` (relative to `process.cwd()`);
 * - any other name is a package (or a package's subpath, `'pkg/sub'`), found as `import(name)`
 *   from a script in the working directory finds it (that directory's `node_modules`, the
 *   package's `exports` with the `import` condition). To find one from your own module instead,
 *   pass `import.meta.resolve('pkg')`, a `file:` URL.
 *
 * `name` is a named export; for a CommonJS module without that named export, a function
 * property of its `module.exports` (the default export) of that name.
 *
 * A function is sent as the text it was written as: if a test runner or bundler rewrote that
 * text (vitest turns `import()` into a call of its own helper), the worker runs the rewritten
 * code, and a helper that only exists there is reported as a variable that is not defined.
 */
export type ExecutorFunction = ((...args: any[]) => unknown) | { module: string; name: string };

export interface Executor {
  /** Runs `fn(...args)`; resolves to its result (awaited if it returns a Promise). */
  submit(fn: ExecutorFunction, args: unknown[]): Promise<unknown>;
  /** Stops taking work; with `wait`, resolves once running calls have ended. */
  shutdown(wait?: boolean): Promise<void>;
}

/** The text a worker runs (CommonJS, evaluated: its `import()` resolves from `process.cwd()`). */
const WORKER_SOURCE = `
'use strict';
const { workerData } = require('node:worker_threads');
// One call at a time comes in on \`port\`. The cells of \`ctl\` (shared with the pool) say what the
// message is and how the answer is to be read, so that both are bare values (a nested array
// costs structured clone about a microsecond more each way):
// - ctl[CODE] > 0: the message is the call's arguments; the function is the one compiled or
//   imported for that code id. ctl[CODE] < 0: the message is [args, kind (1 source, 2 module),
//   text, name, forget (clear the cache first)] for code id -ctl[CODE].
// - ctl[STATUS], set before answering: 0 the message is the result, 1 an error record, 2 this
//   worker does not have that code (its compile or import failed before): send it whole.
const { port, ctl } = workerData;
const STATUS = 0;
const CODE = 1;
// Code id (numbered by the pool) -> the function compiled or imported for it.
const fns = new Map();
const URL_PREFIX = 'aloop-executor/';

port.on('message', handle);

// Runs the call in message \`m\`.
function handle(m) {
  const c = ctl[CODE];
  if (c > 0) {
    const fn = fns.get(c);
    if (fn !== undefined) return run(fn, m, c);
    ctl[STATUS] = 2;
    return port.postMessage(null);
  }
  const code = -c;
  if (m[4]) fns.clear();
  if (m[1] === 1) {
    let fn;
    try {
      fn = (0, eval)('(' + m[2] + ')\\n//# sourceURL=' + URL_PREFIX + code);
    } catch (e) {
      return fail(e, 0);
    }
    fns.set(code, fn);
    return run(fn, m[0], code);
  }
  load(m[2], m[3]).then((fn) => {
    fns.set(code, fn);
    run(fn, m[0], 0);
  }, (e) => fail(e, 0));
}

function run(fn, args, code) {
  let r;
  try {
    r = fn(...args);
  } catch (e) {
    return fail(e, code);
  }
  if (r !== null && (typeof r === 'object' || typeof r === 'function') && typeof r.then === 'function') {
    Promise.resolve(r).then(done, (e) => fail(e, code));
  } else {
    done(r);
  }
}

function done(v) {
  try {
    ctl[STATUS] = 0;
    port.postMessage(v);
  } catch (e) {
    fail(new TypeError('the result cannot be sent back from the worker: ' + e.message, { cause: e }), 0);
  }
}

function fail(e, code) {
  if (code !== 0) e = selfContained(e, code);
  ctl[STATUS] = 1;
  port.postMessage(record(e, 0));
}

// A ReferenceError "x is not defined" raised in the sent function's own code (its first stack
// frame is in the source compiled under this code's sourceURL), for a name the worker's global
// scope lacks: the function used a variable of the scope it was written in. Best effort: a
// ReferenceError the function throws itself with that very message is rewrapped too.
function selfContained(e, code) {
  if (!(e instanceof ReferenceError) || typeof e.message !== 'string') return e;
  const m = /^([\\p{L}\\p{Nl}$_][\\p{L}\\p{Nl}\\p{Mn}\\p{Mc}\\p{Nd}\\p{Pc}$_\\u200c\\u200d]*) is not defined$/u.exec(e.message);
  if (m === null || m[1] in globalThis) return e;
  const stack = typeof e.stack === 'string' ? e.stack : '';
  const frame = /\\n\\s*at [^\\n]*/.exec(stack);
  if (frame === null || !frame[0].includes(URL_PREFIX + code + ':')) return e;
  const err = new ReferenceError('functions sent to a worker must be self-contained: \`' + m[1] +
    '\` is not defined there (pass it as an argument, or import it inside the function)', { cause: e });
  err.stack = 'ReferenceError: ' + err.message + stack.slice(frame.index);
  return err;
}

async function load(spec, name) {
  let mod;
  try {
    mod = await import(spec);
  } catch (e) {
    if (e === null || typeof e !== 'object' || e.code !== 'ERR_MODULE_NOT_FOUND') throw e;
    const bare = !/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(spec);
    const err = new Error("Cannot find module '" + spec + "' for the executor" +
      (bare ? ' (a package name is looked up from ' + process.cwd() + ')' : '') + ': ' + e.message, { cause: e });
    err.code = 'ERR_MODULE_NOT_FOUND';
    throw err;
  }
  let fn = mod[name];
  if (fn === undefined && mod.default !== null && (typeof mod.default === 'object' || typeof mod.default === 'function') &&
      Object.prototype.hasOwnProperty.call(mod.default, name) && typeof mod.default[name] === 'function') {
    // A CommonJS module's property the export scan did not see.
    fn = mod.default[name].bind(mod.default);
  }
  if (typeof fn !== 'function') {
    throw new TypeError(fn === undefined && !(name in mod)
      ? "module '" + spec + "' has no export '" + name + "'"
      : "export '" + name + "' of module '" + spec + "' is not a function (it is " + (fn === null ? 'null' : typeof fn) + ')');
  }
  return fn;
}

const FIELDS = ['code', 'errno', 'syscall', 'path', 'address', 'port'];
function record(e, depth) {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e) };
  const r = { name: String(e.name), message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : undefined };
  for (const k of FIELDS) {
    const v = e[k];
    if (v !== undefined && (typeof v === 'string' || typeof v === 'number')) r[k] = v;
  }
  if (e.cause !== undefined && depth < 4) r.cause = record(e.cause, depth + 1);
  return r;
}
`;


const enum Kind {
  Source = 1,
  Module = 2,
}

/** What the pool knows of a function it sent: its code id and how to send it whole. */
interface Code {
  id: number;
  kind: Kind;
  text: string;
  name: string;
}

/** One call. Ends through `fut` (runInExecutor: a loop Future, completed directly) or `resolve`/`reject` (submit). */
interface Job {
  code: Code;
  args: unknown[];
  fut: Future<unknown> | null;
  loop: AbstractEventLoop | null;
  resolve: ((v: unknown) => void) | null;
  reject: ((e: unknown) => void) | null;
}

/** The worker's shared cells (see WORKER_SOURCE). */
const STATUS = 0;
const CODE = 1;
const enum Status {
  Ok = 0,
  Error = 1,
  Resend = 2,
}

interface Slot {
  worker: Worker;
  /** Our end of the worker's channel (a port of our own: its messages skip the Worker's re-emit). */
  port: MessagePort;
  ctl: Int32Array;
  job: Job | null;
  /** Code ids this worker has been sent whole. */
  known: Set<number>;
  /** Its cache was cut (see CACHE_LIMIT): the next whole message tells it to clear its own. */
  forget: boolean;
}

/** Distinct functions a cache keeps before starting over (source texts here, compiled ones in a worker). */
const CACHE_LIMIT = 4096;

let nextCodeId = 1;
/** Function objects already sent. */
const fnCodes = new WeakMap<object, Code>();
/** Source texts already checked (a new closure of the same code each call is the same function). */
const sourceCodes = new Map<string, Code>();
/** `module\0name` pairs. */
const moduleCodes = new Map<string, Code>();

/**
 * A pool of worker threads (asyncio's ThreadPoolExecutor). Workers start on demand, up to
 * `maxWorkers`; idle workers do not keep the process alive. `await using pool = new
 * ThreadPoolExecutor()` shuts it down at the end of the block, waiting for its calls, as a
 * `with` block does in Python; there is no synchronous `using` (JavaScript cannot block until
 * other threads are done).
 */
export class ThreadPoolExecutor implements Executor, AsyncDisposable {
  readonly maxWorkers: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #queueHead = 0;
  #shutdown = false;
  #busy = 0;
  #idleWaiters: (() => void)[] = [];

  /** @param maxWorkers @default min(32, cores + 4), as asyncio's */
  constructor(maxWorkers: number = Math.min(32, availableParallelism() + 4)) {
    if (typeof maxWorkers !== 'number' || !Number.isInteger(maxWorkers)) {
      throw new TypeError(`maxWorkers must be an integer, not ${describe(maxWorkers)}`);
    }
    if (maxWorkers <= 0) throw new RangeError(`maxWorkers must be greater than 0, not ${maxWorkers}`);
    this.maxWorkers = maxWorkers;
  }

  /**
   * Runs `fn(...args)` on a worker; resolves to its result. After `shutdown()` it rejects with
   * "cannot schedule new futures after shutdown" (asyncio's RuntimeError).
   */
  submit(fn: ExecutorFunction, args: unknown[] = []): Promise<unknown> {
    let code: Code;
    try {
      code = this.#check(fn, args);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => this.#enqueue({ code, args, fut: null, loop: null, resolve, reject }));
  }

  /**
   * @internal `loop.runInExecutor` on this pool: the worker's answer completes a Future of
   * `loop` directly (no Promise, no extra loop iteration between them). Throws as `submit` rejects.
   */
  _submitFuture(loop: AbstractEventLoop, fn: ExecutorFunction, args: unknown[]): Future<unknown> {
    const code = this.#check(fn, args);
    const fut = loop.createFuture<unknown>();
    // Until it ends the call is work in flight a virtual clock waits for (as wrapPromise's).
    loop._holdClock(false);
    this.#enqueue({ code, args, fut, loop, resolve: null, reject: null });
    return fut;
  }

  /**
   * Stops taking work. With `wait` (default), resolves once the queued and running calls have
   * ended, then stops the workers. Without it, queued calls fail and running ones are stopped
   * with their workers (a JavaScript thread can be terminated; asyncio lets them finish).
   */
  async shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    if (!wait) {
      const dropped = this.#queue.slice(this.#queueHead);
      this.#queue = [];
      this.#queueHead = 0;
      for (const j of dropped) settle(j, false, new Error('executor shut down'));
    }
    while (wait && (this.#busy > 0 || this.#queue.length > this.#queueHead)) {
      await new Promise<void>((r) => this.#idleWaiters.push(r));
    }
    const slots = this.#slots;
    this.#slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** `await using pool = new ThreadPoolExecutor()`: `shutdown(true)` at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown(true);
  }

  /** @internal The live worker threads (tests). */
  _workerThreads(): Worker[] {
    return this.#slots.map((s) => s.worker);
  }

  #check(fn: ExecutorFunction, args: unknown[]): Code {
    if (this.#shutdown) throw new Error('cannot schedule new futures after shutdown');
    if (!Array.isArray(args)) throw new TypeError(`args must be an array, not ${describe(args)}`);
    if (typeof fn === 'function') return functionCode(fn);
    if (fn !== null && typeof fn === 'object' && typeof fn.module === 'string' && typeof fn.name === 'string') {
      return moduleCode(fn.module, fn.name);
    }
    throw new TypeError(`fn must be a function or { module, name } (strings), not ${describe(fn)}`);
  }

  #enqueue(job: Job): void {
    if (this.#queueHead === this.#queue.length) {
      // Nothing waits: straight to a worker if one is free.
      const slot = this.#freeSlot();
      if (slot !== null) return this.#send(slot, job, false);
    }
    this.#queue.push(job);
  }

  /** An idle worker, a new one if the pool may grow, else null. */
  #freeSlot(): Slot | null {
    const slots = this.#slots;
    for (let i = 0; i < slots.length; i++) if (slots[i]!.job === null) return slots[i]!;
    return slots.length < this.maxWorkers ? this.#spawn() : null;
  }

  #pump(): void {
    while (this.#queueHead < this.#queue.length) {
      const slot = this.#freeSlot();
      if (slot === null) return;
      const queue = this.#queue;
      const job = queue[this.#queueHead]!;
      queue[this.#queueHead++] = undefined as never;
      if (this.#queueHead === queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      }
      // Cancelled while it waited for a worker: it never runs (asyncio's cancel of a pending call).
      if (job.fut !== null && job.fut.done()) {
        settle(job, false, null);
        continue;
      }
      this.#send(slot, job, false);
    }
    this.#checkIdle();
  }

  #send(slot: Slot, job: Job, whole: boolean): void {
    const code = job.code;
    let msg: unknown;
    if (!whole && slot.known.has(code.id)) {
      slot.ctl[CODE] = code.id;
      msg = job.args;
    } else {
      if (slot.known.size >= CACHE_LIMIT) {
        slot.known.clear();
        slot.forget = true;
      }
      slot.ctl[CODE] = -code.id;
      msg = [job.args, code.kind, code.text, code.name, slot.forget];
      slot.forget = false;
      slot.known.add(code.id);
    }
    if (slot.job === null) {
      slot.job = job;
      this.#busy++;
      slot.port.ref();
    }
    try {
      slot.port.postMessage(msg);
    } catch (e) {
      // Arguments that cannot be cloned (functions, sockets...): the caller gets the error.
      this.#finish(slot);
      settle(job, false, e);
    }
  }

  /** The slot's job has ended: the worker may idle (and not keep the process alive). */
  #finish(slot: Slot): void {
    slot.job = null;
    this.#busy--;
    slot.port.unref();
  }

  #checkIdle(): void {
    if (this.#busy > 0 || this.#queue.length > this.#queueHead || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #spawn(): Slot {
    const { port1, port2 } = new MessageChannel();
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { port: port2, ctl }, transferList: [port2] });
    const slot: Slot = { worker, port: port1, ctl, job: null, known: new Set(), forget: false };
    // Only a call in flight keeps the process alive (the port is ref'd for it, see #send).
    worker.unref();
    port1.on('message', (m: unknown) => {
      const job = slot.job;
      if (job === null) return;
      const status = ctl[STATUS];
      if (status === Status.Resend) {
        // The worker does not have this function (its compile or import failed before): resend.
        this.#send(slot, job, true);
        if (slot.job === null) this.#pump(); // the resend failed at once: the worker is free
        return;
      }
      this.#finish(slot);
      if (status === Status.Ok) settle(job, true, m);
      else settle(job, false, rebuildError(m as ErrorRecord));
      this.#pump();
    });
    port1.unref();
    const lost = (e: Error) => {
      // The worker died (out of memory, process.exit() in the function, shutdown(false)): fail
      // its call; a new worker replaces it on demand.
      const i = this.#slots.indexOf(slot);
      if (i >= 0) this.#slots.splice(i, 1);
      const job = slot.job;
      if (job !== null) {
        this.#finish(slot);
        settle(job, false, e);
      }
      slot.port.close();
      this.#pump();
    };
    worker.on('error', lost);
    worker.on('exit', (exitCode) => lost(new Error(`the worker thread exited (code ${exitCode}) before the call finished`)));
    this.#slots.push(slot);
    return slot;
  }
}

/** Ends a call with its outcome (null for a call whose Future was cancelled while queued). */
function settle(job: Job, ok: boolean, value: unknown): void {
  const fut = job.fut;
  if (fut === null) {
    if (ok) job.resolve!(value);
    else job.reject!(value);
    return;
  }
  const loop = job.loop!;
  loop._releaseClock(false);
  if (fut.done() || loop.isClosed()) return;
  if (ok) fut.setResult(value);
  else fut.setException(value);
}

function functionCode(fn: (...args: any[]) => unknown): Code {
  let code = fnCodes.get(fn);
  if (code !== undefined) return code;
  const src = Function.prototype.toString.call(fn);
  code = sourceCodes.get(src);
  if (code === undefined) {
    code = { id: nextCodeId++, kind: Kind.Source, text: sendableSource(src, fn), name: '' };
    if (sourceCodes.size >= CACHE_LIMIT) sourceCodes.clear();
    sourceCodes.set(src, code);
  }
  fnCodes.set(fn, code);
  return code;
}

function moduleCode(module: string, name: string): Code {
  const key = `${module}\0${name}`;
  let code = moduleCodes.get(key);
  if (code === undefined) {
    code = { id: nextCodeId++, kind: Kind.Module, text: moduleSpecifier(module), name };
    if (moduleCodes.size >= CACHE_LIMIT) moduleCodes.clear();
    moduleCodes.set(key, code);
  }
  return code;
}

/** What the worker passes to `import()` for `module` (the rule is on ExecutorFunction). */
function moduleSpecifier(module: string): string {
  if (module === '') throw new TypeError('fn.module must not be empty');
  if (isBuiltin(module)) return module.startsWith('node:') ? module : `node:${module}`;
  if (/^[a-zA-Z][a-zA-Z\d+.-]*:/.test(module)) return module; // file:, data:, node: URLs
  if (path.isAbsolute(module) || module === '.' || module === '..' || module.startsWith('./') || module.startsWith('../')) {
    return pathToFileURL(path.resolve(module)).href;
  }
  return module; // a package: the worker's import() finds it from process.cwd()
}

function sendableSource(src: string, fn: (...args: any[]) => unknown): string {
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

interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  cause?: ErrorRecord;
  [field: string]: unknown;
}

const ERROR_CLASSES: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

/** The worker's error, rebuilt here: its class if a built-in one, name, message, stack, fields, cause. */
function rebuildError(r: ErrorRecord): Error {
  const Ctor = Object.hasOwn(ERROR_CLASSES, r.name) ? ERROR_CLASSES[r.name]! : Error;
  const err = r.cause === undefined ? new Ctor(r.message) : new Ctor(r.message, { cause: rebuildError(r.cause) });
  if (err.name !== r.name) err.name = r.name;
  if (r.stack !== undefined) err.stack = r.stack;
  for (const k of ['code', 'errno', 'syscall', 'path', 'address', 'port']) {
    if (r[k] !== undefined) (err as unknown as Record<string, unknown>)[k] = r[k];
  }
  return err;
}
