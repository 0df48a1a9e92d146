/**
 * Signal handlers for a loop (asyncio's `add_signal_handler`): Node delivers the signal on its
 * own loop; the handler is queued with `callSoon` so it runs as a loop callback. Node's signal
 * watchers do not keep the process alive, and neither do these.
 */
import { constants } from 'node:os';
import type { AbstractEventLoop } from '../events.js';
import { describe } from '../events.js';

const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, num] of Object.entries(constants.signals)) if (!byNumber.has(num)) byNumber.set(num, name as NodeJS.Signals);

/** The Node name of a signal given by name or number; RangeError for unknown or uncatchable ones. */
export function signalName(sig: unknown): NodeJS.Signals {
  let name: NodeJS.Signals | undefined;
  if (typeof sig === 'number' && Number.isInteger(sig)) name = byNumber.get(sig);
  else if (typeof sig === 'string') name = sig in constants.signals ? (sig as NodeJS.Signals) : undefined;
  else throw new TypeError(`sig must be a signal name or number, not ${describe(sig)}`);
  if (name === undefined) throw new RangeError(`sig ${String(sig)} is not a signal of this platform`);
  if (name === 'SIGKILL' || name === 'SIGSTOP') throw new RangeError(`sig ${name} cannot be caught`);
  return name;
}

export class SignalHandlers {
  #listeners = new Map<NodeJS.Signals, () => void>();

  add(loop: AbstractEventLoop, sig: unknown, callback: (...args: unknown[]) => unknown, args: unknown[]): void {
    const name = signalName(sig);
    if (typeof callback !== 'function') throw new TypeError(`callback must be a function, not ${describe(callback)}`);
    this.remove(name);
    const listener = () => {
      if (!loop.isClosed()) loop.callSoonThreadsafe(callback, ...args);
    };
    process.on(name, listener);
    this.#listeners.set(name, listener);
  }

  remove(sig: unknown): boolean {
    const name = signalName(sig);
    const l = this.#listeners.get(name);
    if (l === undefined) return false;
    process.removeListener(name, l);
    this.#listeners.delete(name);
    return true;
  }

  clear(): void {
    for (const [name, l] of this.#listeners) process.removeListener(name, l);
    this.#listeners.clear();
  }
}
