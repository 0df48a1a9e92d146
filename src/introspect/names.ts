/**
 * Names for coroutines that cannot tell their own. A generator object does not say which function
 * made it (V8 keeps that to itself), so a task made from one (`createTask(worker())`) is known by
 * its function only if that function was given (`createTask(worker)`), or, for aloop's own helper
 * coroutines (the task behind `waitFor`, `wait`, `taskGroup`), by the name registered here for
 * the prototype their generator objects share.
 */
const names = new WeakMap<object, string>();

/** Generator objects made by `fn` are shown as `name`. */
export function nameGenerator(fn: (...args: never[]) => Generator<unknown, unknown, unknown>, name: string): void {
  names.set(fn.prototype as object, name);
}

/** The registered name of the function that made generator object `gen`, or null. */
export function generatorName(gen: object): string | null {
  return names.get(Object.getPrototypeOf(gen) as object) ?? null;
}
