// Per-environment state (the main thread and each worker thread have their own): no static
// mutable globals, so the addon works when several threads load it at once.
#ifndef ALOOP_INSTANCE_H_
#define ALOOP_INSTANCE_H_

#include <node_api.h>

#include <unordered_set>

#include "napi.h"
#include "shared.h"

namespace aloop {

class LoopCore;

struct InstanceData {
  ~InstanceData() {
    if (clock_memory != nullptr) clock_memory->Release();
  }

  /** tick() writes the loop clock here (the `clock` export: a Float64Array over clock_memory). */
  double* clock = nullptr;
  SharedMemory* clock_memory = nullptr;
  /** Loops whose handles are open (not yet closed). */
  std::unordered_set<LoopCore*> live;
  /** Loops whose handles are closing (waiting for uv_close callbacks). */
  int closing = 0;
  /** uv handles not yet closed (the debug call `openHandles()`). */
  int open_handles = 0;
  /** Set while the environment tears down: the hook is removed once every loop is closed. */
  napi_async_cleanup_hook_handle cleanup_hook = nullptr;
  bool tearing_down = false;

  /** Called by a loop when its last handle's close callback ran. */
  void LoopClosed();
};

}  // namespace aloop

#endif  // ALOOP_INSTANCE_H_
