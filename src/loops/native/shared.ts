/**
 * @internal The memory the native loop shares with C++ (mirrors native/shared.h): four typed
 * arrays over memory the addon owns (`new binding.Loop(...)` makes them; JS reads them from the
 * loop handle), so a transfer or detach in JS can never free what C++ writes into.
 *
 *   state   Int32Array    counters and flags, indexed by `S`
 *   opIds   Int32Array    timer ops: id >= 0 inserts timer `id` due at opWhen[i]; ~id cancels it
 *   opWhen  Float64Array  the `when` (seconds) of each insert
 *   due     Int32Array    ids of timers that fell due, in firing order, written by C++
 */
export const S = {
  /** JS: ops pending in opIds/opWhen (C++ resets it when it applies them). */
  nops: 0,
  /** C++: due ids written for this iteration. */
  dueCount: 1,
  /** C++: 1 when more due ids wait; JS fetches them with `more()`. */
  dueMore: 2,
  /** JS, at the end of an iteration run by C++: what to do next (`Next`). */
  next: 3,
  /** C++: 1 while JS runs an iteration it started; JS then writes `next` instead of calling. */
  inDispatch: 4,
  length: 8,
} as const;

export const Next = {
  stopped: 0,
  ready: 1,
  wait: 2,
} as const;

/**
 * Ops batched before C++ applies them: it does so at every iteration, or when JS fills the
 * buffer. 4096 × 12 bytes stays within L1/L2 and a flush is one crossing per 4096 timers.
 */
export const OP_CAPACITY = 4096;
/** Due ids handed over per chunk; more than this in one iteration costs one call per chunk. */
export const DUE_CAPACITY = 16384;
/** Timer ids are below this (native/shared.h `kMaxTimers`: the wheel's table is indexed by id). */
export const MAX_TIMERS = 1 << 24;
