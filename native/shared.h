// The layout of the memory JS and C++ share (mirrored in src/loops/native/shared.ts).
//
// JS hands the loop four typed arrays when it makes it:
//   state   Int32Array   the small counters and flags below
//   op_ids  Int32Array   timer ops written by JS: id >= 0 inserts timer `id` due at op_when[i],
//                        ~id (< 0) cancels timer `id`; state[kNops] of them are pending
//   op_when Float64Array the `when` (seconds) of each insert op
//   due     Int32Array   timer ids that fell due, written by C++ in firing order
//
// The memory is C++'s (SharedMemory below): JS gets typed arrays over it from the addon, never
// hands it arrays of its own, so nothing JS does to them (transfer, detach) frees memory C++
// still writes into.
#ifndef ALOOP_SHARED_H_
#define ALOOP_SHARED_H_

#include <node_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace aloop {

/**
 * A block of memory C++ and JS share, owned by C++. JS sees it through an external ArrayBuffer
 * whose backing store is this block, and each side holds a reference: C++'s until it calls
 * Release (a loop frees its blocks once its last handle is closed), JS's until V8 frees the
 * backing store (collected, or the environment ends). The block is freed when both have let go.
 *
 * So a transfer or a detach on the JS side (postMessage, structuredClone with `transfer`) only
 * takes the view away from JS; C++ keeps writing into memory it still owns. A typed array made
 * in JS and held by reference would not do: a detach frees its store whatever references C++
 * holds, and N-API cannot pin one.
 */
class SharedMemory {
 public:
  /**
   * A zeroed block of `bytes` (at least 1; aligned for any typed array) and the ArrayBuffer over
   * it in `*buffer`; nullptr if either fails (a JS exception may then be pending).
   */
  static SharedMemory* New(napi_env env, size_t bytes, napi_value* buffer);
  /** A typed array of `length` elements at `byte_offset` of `buffer` (from New); nullptr on failure. */
  static napi_value View(napi_env env, napi_value buffer, napi_typedarray_type type, size_t byte_offset, size_t length);

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  /** C++ is done with the block: freed now if JS is too, else once V8 frees the ArrayBuffer. */
  void Release();

 private:
  SharedMemory(uint8_t* data, size_t size) : data_(data), size_(size) {}
  ~SharedMemory();
  static void OnFinalize(napi_env env, void* data, void* hint);
  void Unref();

  uint8_t* const data_;
  const size_t size_;
  /** C++'s reference and JS's; V8 may free a transferred store on another thread: atomic. */
  std::atomic<int> refs_{1};
  bool js_released_ = false;
};

enum StateIndex {
  kNops = 0,        // JS: ops pending in op_ids/op_when; C++ sets it to 0 once applied
  kDueCount = 1,    // C++: ids in `due` for this iteration
  kDueMore = 2,     // C++: 1 when more due ids wait (JS calls more())
  kNext = 3,        // JS, at the end of an iteration: what to do next (enum Next)
  kInDispatch = 4,  // C++: 1 while JS runs an iteration (JS then writes kNext instead of calling)
  kStateLength = 8,
};

/** Timer ids are below this (the wheel keeps a table indexed by id: 8 bytes per id). */
constexpr int32_t kMaxTimers = 1 << 24;
/** Bounds of the capacities JS asks for (Loop's opCapacity and dueCapacity). */
constexpr int32_t kMaxOpCapacity = 1 << 20;
constexpr int32_t kMaxDueCapacity = 1 << 20;

enum Next {
  kNextStopped = 0,  // the loop stopped: park (no idle, no timer)
  kNextReady = 1,    // callbacks are ready: iterate again without blocking
  kNextWait = 2,     // nothing ready: wake when the next timer is due
};

}  // namespace aloop

#endif  // ALOOP_SHARED_H_
