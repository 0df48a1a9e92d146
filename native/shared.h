// The layout of the memory JS and C++ share (mirrored in src/loops/native/shared.ts).
//
// JS hands the loop four typed arrays when it makes it:
//   state   Int32Array   the small counters and flags below
//   op_ids  Int32Array   timer ops written by JS: id >= 0 inserts timer `id` due at op_when[i],
//                        ~id (< 0) cancels timer `id`; state[kNops] of them are pending
//   op_when Float64Array the `when` (seconds) of each insert op
//   due     Int32Array   timer ids that fell due, written by C++ in firing order
#ifndef ALOOP_SHARED_H_
#define ALOOP_SHARED_H_

namespace aloop {

enum StateIndex {
  kNops = 0,        // JS: ops pending in op_ids/op_when; C++ sets it to 0 once applied
  kDueCount = 1,    // C++: ids in `due` for this iteration
  kDueMore = 2,     // C++: 1 when more due ids wait (JS calls more())
  kNext = 3,        // JS, at the end of an iteration: what to do next (enum Next)
  kInDispatch = 4,  // C++: 1 while JS runs an iteration (JS then writes kNext instead of calling)
  kStateLength = 8,
};

enum Next {
  kNextStopped = 0,  // the loop stopped: park (no idle, no timer)
  kNextReady = 1,    // callbacks are ready: iterate again without blocking
  kNextWait = 2,     // nothing ready: wake when the next timer is due
};

}  // namespace aloop

#endif  // ALOOP_SHARED_H_
