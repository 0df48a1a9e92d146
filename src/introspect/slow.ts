/**
 * The slow callbacks of debug mode, kept per loop for the monitor: how many there were, and the
 * last few (what ran, for how long, when). Written only where debug mode already warns about
 * one, so a loop outside debug mode never comes here.
 */

/** One callback (or async-function step) that took longer than `slowCallbackDuration`. */
export interface SlowCallback {
  /** What ran, as the debug-mode warning names it. */
  readonly what: string;
  /** How long it ran, in seconds. */
  readonly seconds: number;
  /** When it ended, in milliseconds since the epoch. */
  readonly at: number;
}

/** How many of the latest slow callbacks are kept per loop. */
const KEEP = 20;

interface SlowLog {
  count: number;
  recent: SlowCallback[];
}

const logs = new WeakMap<object, SlowLog>();

/** `loop` ran `what` for `seconds` (debug mode found it slow). */
export function noteSlowCallback(loop: object, what: string, seconds: number): void {
  let log = logs.get(loop);
  if (log === undefined) logs.set(loop, (log = { count: 0, recent: [] }));
  log.count++;
  log.recent.push({ what, seconds, at: Date.now() });
  if (log.recent.length > KEEP) log.recent.shift();
}

/** The slow callbacks of `loop` so far: their number and the latest ones, oldest first. */
export function slowCallbacks(loop: object): { count: number; recent: SlowCallback[] } {
  const log = logs.get(loop);
  return log === undefined ? { count: 0, recent: [] } : { count: log.count, recent: [...log.recent] };
}
