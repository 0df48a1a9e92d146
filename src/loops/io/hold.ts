/**
 * Holding a virtual clock (aloop/testing) while the OS works for the loop: a connect, a name
 * lookup. Such work ends by itself, so the clock waits for it however long it takes; real
 * clocks ignore the hold (`AbstractEventLoop._holdClock`).
 */
import type { AbstractEventLoop } from '../../events.js';

/** Holds `loop`'s clock; returns the release, which may be called any number of times. */
export function holdClock(loop: AbstractEventLoop): () => void {
  loop._holdClock(false);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    loop._releaseClock(false);
  };
}
