// The native half of NativeEventLoop: libuv handles on Node's own loop, the timer wheel, and
// the one call into JS per loop iteration.
//
//   uv_check  (unref'd, always on)  after poll: if an iteration is pending, run it: apply JS's
//                                   timer ops, fire due timers into the shared `due` array,
//                                   call JS once (MakeCallback: microtasks and process.nextTick
//                                   drain when the scope closes), then apply what JS left
//   uv_idle   (ref'd, on while work is ready)  keeps poll from blocking
//   uv_timer  (ref'd, on while timers wait)    armed to the wheel's next deadline
//
// A virtual-time loop (aloop/testing) has the same handles but a clock of its own: the wheel
// counts ticks of `vtick_`, which only `Jump` moves, and the uv_timer is never armed; the JS side
// decides when to jump (src/testing/clock.ts).
//
// Nothing here keeps the process alive unless it holds real work, like the pure loop's
// setImmediate/setTimeout. Node's loop is never run from here (no private uv_run).
#ifndef ALOOP_LOOP_H_
#define ALOOP_LOOP_H_

#include <uv.h>

#include <cstdint>
#include <vector>

#include "call.h"
#include "instance.h"
#include "napi.h"
#include "io.h"
#include "shared.h"
#include "timer_wheel.h"

namespace aloop {

class NativeLoop;

/** Where each shared array lies in a loop's SharedMemory block (shared.h). */
struct LoopLayout {
  LoopLayout(size_t op_capacity, size_t due_capacity)
      : op_capacity(op_capacity),
        due_capacity(due_capacity),
        state(op_when + 8 * op_capacity),
        op_ids(state + 4 * kStateLength),
        due(op_ids + 4 * op_capacity),
        bytes(due + 4 * due_capacity) {}
  size_t op_capacity;
  size_t due_capacity;
  // Byte offsets: the Float64Array first, so that it is 8-aligned.
  size_t op_when = 0;
  size_t state;
  size_t op_ids;
  size_t due;
  size_t bytes;
};

class LoopCore {
 public:
  /** Takes over C++'s reference to `memory` (laid out as `layout`). */
  LoopCore(napi_env env, InstanceData* instance, uv_loop_t* uv, napi_value callback, SharedMemory* memory,
           const LoopLayout& layout, double virtual_start);

  /** Work arrived: run an iteration soon. */
  void Wake();
  /**
   * Runs an iteration now, from inside libuv's poll phase: the I/O table calls it once a poll has
   * read kDeliverBytes (io.h), so that JS handles those bytes while they are still in the cache.
   */
  void DeliverNow();
  /** The end of an iteration that JS ran outside a dispatch: apply `next` now (ApplyOps' result). */
  bool Schedule(int32_t next);
  /**
   * Applies the pending timer ops (at each iteration, or when JS's op buffer is full). False if
   * some named a timer id out of [0, kMaxTimers): those are skipped.
   */
  bool ApplyOps();
  /** Writes the next chunk of due ids; returns how many. */
  int32_t WriteDue();
  /** Stops and closes every handle; the core deletes itself once they are closed. Idempotent. */
  void Close();
  bool closed() const { return closed_; }
  /** Gives the loop its I/O table (io.h) and the shared memory the table writes into (released with the core). */
  void AttachIo(IoTable* table, SharedMemory* memory);
  /** A handle of this loop (a socket or pipe) was opened / its close callback ran. */
  void HandleOpened();
  void HandleClosed();

  /** Loop time in whole ticks of the wheel (microseconds of uv_hrtime). */
  static uint64_t NowTick() { return uv_hrtime() / 1000; }
  /** The wheel's clock: uv_hrtime, or the virtual tick. */
  uint64_t Now() const { return virtual_ ? vtick_ : NowTick(); }
  /**
   * Virtual time: moves the clock to the first tick at which timers due at or before `limit`
   * seconds fire, and queues them for the next iteration. False when none is due by `limit`
   * (the clock stays), or when the loop is not virtual.
   */
  bool Jump(double limit);

  NativeLoop* owner = nullptr;
  /** Sockets and pipes of this loop, once JS made its `Io` (owned; freed with the core). */
  IoTable* io = nullptr;

 private:
  ~LoopCore();

  static void OnCheck(uv_check_t* handle);
  static void OnIdle(uv_idle_t* handle);
  static void OnTimer(uv_timer_t* handle);
  static void OnClose(uv_handle_t* handle);

  void RunIteration();
  /**
   * One JS iteration (RunIteration's, or DeliverNow's inside libuv's poll): hands JS the due
   * timers and I/O records, calls it, then applies its ops. False if JS closed the loop.
   */
  bool Dispatch();
  void UpdateHandles(int32_t next);
  void SetIdle(bool on);
  void ArmTimer();
  void StopTimer();
  void UpdateRef();

  napi_env env_;
  InstanceData* instance_;
  uv_loop_t* uv_;
  uv_check_t check_;
  uv_idle_t idle_;
  uv_timer_t timer_;
  int handles_open_ = 3;
  napi_async_context async_context_ = nullptr;
  napi_ref callback_ = nullptr;
  /** The blocks JS shares with this loop and its I/O table: C++'s references, released last. */
  std::vector<SharedMemory*> memory_;
  int32_t* state_;
  int32_t* op_ids_;
  double* op_when_;
  int32_t* due_;
  size_t op_capacity_;
  size_t due_capacity_;

  /** Virtual time (see the top of this file): the clock is `vtick_`, not uv_hrtime. */
  const bool virtual_;
  uint64_t vtick_;
  TimerWheel wheel_;
  std::vector<int32_t> due_pending_;
  size_t due_pos_ = 0;
  /** An iteration should run at the next check. */
  bool pending_ = false;
  /** JS asked for the iteration (work ready or woken), not only the timer. */
  bool woken_ = false;
  bool idle_on_ = false;
  bool timer_on_ = false;
  uint64_t timer_deadline_ = UINT64_MAX;
  /** The JS callback is held strongly only while work is pending (see UpdateRef). */
  bool strong_ = true;
  bool closed_ = false;
};

/**
 * The JS object (`binding.Loop`) that owns a LoopCore:
 *   new Loop(onIterate, opCapacity, dueCapacity)  makes the core and its shared memory, seen by
 *                                                 JS as the properties state, opIds, opWhen, due
 */
class NativeLoop {
 public:
  static constexpr const char* kClassName = "Loop";
  static const napi_type_tag kTypeTag;

  static napi_value Define(napi_env env);
  ~NativeLoop();

  LoopCore* core = nullptr;

 private:
  static napi_value New(napi_env env, napi_callback_info info);
  napi_value Wake(Call& c);
  napi_value Schedule(Call& c);
  napi_value Flush(Call& c);
  napi_value More(Call& c);
  napi_value Jump(Call& c);
  napi_value Close(Call& c);
};

}  // namespace aloop

#endif  // ALOOP_LOOP_H_
