/**
 * Reaction: one `then` on a Future — what `await fut` costs us.
 *
 * `await fut` in an async function makes V8 call `fut.then(resolve, reject)` one microtask later
 * with its own resolving functions, and ignore what `then` returns. A real Promise made there
 * (a promise, two resolving functions and their context, ~250 B) is what made every await of a
 * Future expensive. So `then` returns this one object instead. It is at once:
 * - the ready-queue entry that runs the callbacks when the Future is done (a Runnable: no Handle,
 *   no closure);
 * - a node of its task's list of pending awaits (`Task._waits`), so `task.cancel()` reaches
 *   every loop Future the task's code awaits, and unlinking is O(1);
 * - the PromiseLike `then` returns: a real Promise is made only if somebody chains on it
 *   (`fut.then(f).then(g)`, `.catch`, `.finally`), and a failure nobody chained on is handed
 *   to a rejected Promise so that Node reports it as an unhandled rejection, as it would have.
 */
import type { Runnable } from './events.js';
import type { Future } from './futures.js';

/** What a Reaction needs of the task whose code made it (implemented by Task). */
export interface ReactingTask {
  /** @internal */ _state: number;
  /** @internal Called when the Future is done: resume the task's code with its outcome. */
  _resume(r: Reaction): void;
}

const enum Outcome {
  Pending,
  Fulfilled,
  Rejected,
}

interface Chained {
  promise: Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

export class Reaction implements Runnable, PromiseLike<unknown> {
  /** Runnable protocol: the entry is never cancelled (the Future decides when); on the prototype. */
  declare readonly _cancelled: false;
  /** @internal Neighbours in the task's list of pending awaits. */
  _prevWait: Reaction | null = null;
  _nextWait: Reaction | null = null;
  #outcome = Outcome.Pending;
  #value: unknown = undefined;
  #chained: Chained | null = null;

  constructor(
    /** @internal */ readonly fut: Future<any>,
    /** @internal The task whose code awaits, or null (code outside tasks, or unknown). */ readonly _task: ReactingTask | null,
    readonly onFulfilled: ((v: any) => unknown) | null | undefined,
    readonly onRejected: ((e: any) => unknown) | null | undefined,
  ) {}

  /** The Future is done (or, for sleep(0), its one iteration has passed). */
  _run(): void {
    if (this.fut._state === 0) this.fut._settleForReaction();
    const task = this._task;
    if (task !== null && task._state === 0) task._resume(this);
    else this._settle();
  }

  /** Calls the callback for the Future's outcome. */
  _settle(): void {
    let v: unknown;
    try {
      v = this.fut.result();
    } catch (e) {
      this._reject(e);
      return;
    }
    this.#call(this.onFulfilled, v, Outcome.Fulfilled);
  }

  /** Calls the rejection callback with `e` (the Future's exception, or a cancellation). */
  _reject(e: unknown): void {
    this.#call(this.onRejected, e, Outcome.Rejected);
  }

  /** Calls `f(value)` as Promise.prototype.then would; without `f`, `value` passes through as `passed`. */
  #call(f: ((x: any) => unknown) | null | undefined, value: unknown, passed: Outcome): void {
    if (typeof f !== 'function') return this.#complete(passed, value);
    let r: unknown;
    try {
      r = f(value);
    } catch (e) {
      return this.#complete(Outcome.Rejected, e);
    }
    this.#complete(Outcome.Fulfilled, r);
  }

  #complete(outcome: Outcome, value: unknown): void {
    const c = this.#chained;
    if (c !== null) {
      if (outcome === Outcome.Fulfilled) c.resolve(value);
      else c.reject(value);
      return;
    }
    this.#outcome = outcome;
    this.#value = value;
    // Nobody chained yet: a rejected Promise now keeps Node's unhandled-rejection report.
    if (outcome === Outcome.Rejected) this.#promise();
  }

  #promise(): Promise<unknown> {
    let c = this.#chained;
    if (c === null) {
      if (this.#outcome === Outcome.Fulfilled) {
        const p = Promise.resolve(this.#value);
        c = { promise: p, resolve: noop, reject: noop };
      } else if (this.#outcome === Outcome.Rejected) {
        const p = Promise.reject(this.#value);
        c = { promise: p, resolve: noop, reject: noop };
      } else {
        let resolve!: (v: unknown) => void;
        let reject!: (e: unknown) => void;
        const p = new Promise<unknown>((res, rej) => {
          resolve = res;
          reject = rej;
        });
        c = { promise: p, resolve, reject };
      }
      this.#chained = c;
      this.#value = undefined;
    }
    return c.promise;
  }

  then<R1 = unknown, R2 = never>(
    onFulfilled?: ((value: any) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#promise().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<unknown> {
    return this.#promise().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<unknown> {
    return this.#promise().finally(onFinally);
  }

  get [Symbol.toStringTag](): string {
    return 'Promise';
  }

  /** What debug mode's slow-callback warning names. */
  toString(): string {
    return this._task !== null ? String(this._task) : `<Reaction to ${String(this.fut)}>`;
  }
}

Object.defineProperty(Reaction.prototype, '_cancelled', { value: false });

function noop(): void {}
