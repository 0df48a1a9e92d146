/**
 * The coroutine forms every Task accepts, and the argument checks shared by the functions that
 * take them (createTask, gather, wait, waitFor, shield, timeout, run).
 */
import { Future } from './futures.js';
import { describe } from './events.js';

export type Coro<T> = Generator<Future<unknown> | null | undefined, T, unknown>;

/** Anything a Task (or gather, waitFor, run, ...) accepts. */
export type CoroLike<T> = Coro<T> | (() => Coro<T> | PromiseLike<T>) | Future<T> | PromiseLike<T>;

/** A generator coroutine object (what calling a generator function returns). */
export function isCoroutine(x: unknown): x is Coro<unknown> {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as Generator).next === 'function' &&
    typeof (x as Generator).throw === 'function' &&
    typeof (x as Generator)[Symbol.iterator] === 'function'
  );
}

export function isThenable(x: unknown): x is PromiseLike<unknown> {
  return (typeof x === 'object' || typeof x === 'function') && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';
}

const GeneratorFunction = Object.getPrototypeOf(function* () {}).constructor;

export function isGeneratorFunction(fn: unknown): fn is () => Coro<unknown> {
  return fn instanceof GeneratorFunction;
}

export function checkOptions(options: unknown): void {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError(`options must be an object, not ${describe(options)}`);
  }
}

/**
 * @internal Throws a TypeError naming the argument `name` unless `x` is a CoroLike (checked up
 * front so that a bad entry in a list starts no task for the entries before it).
 */
export function checkCoroLike(x: unknown, name: string): void {
  if (x instanceof Future || typeof x === 'function' || isCoroutine(x) || isThenable(x)) return;
  throw new TypeError(`${name} must be a coroutine, a function, a Future or a Promise, not ${describe(x)}`);
}

export function checkDelay(delay: unknown, name = 'delay'): number {
  if (typeof delay !== 'number') throw new TypeError(`${name} must be a number (seconds), not ${describe(delay)}`);
  if (Number.isNaN(delay)) throw new RangeError(`${name} must not be NaN`);
  return delay;
}

export function checkTimeout(timeout: unknown, name = 'timeout'): number | null {
  if (timeout === null || timeout === undefined) return null;
  return checkDelay(timeout, name);
}
