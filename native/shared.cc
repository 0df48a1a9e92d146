// Memory C++ and JS share (the plan is in shared.h).
#include "shared.h"

#include <cstdlib>
#include <cstring>

namespace aloop {

SharedMemory* SharedMemory::New(napi_env env, size_t bytes, napi_value* buffer) {
  if (bytes == 0) bytes = 1;
  // 16-byte alignment suits every typed array (Float64Array and BigInt64Array need 8).
  void* p = std::aligned_alloc(16, (bytes + 15) & ~size_t{15});
  if (p == nullptr) return nullptr;
  std::memset(p, 0, bytes);
  SharedMemory* m = new SharedMemory(static_cast<uint8_t*>(p), bytes);
  m->refs_.store(2);  // C++'s and, once it exists, the ArrayBuffer's
  if (napi_create_external_arraybuffer(env, p, bytes, OnFinalize, m, buffer) != napi_ok) {
    // A failed creation may have run the finalizer already (Node does when it refuses the
    // length); otherwise the ArrayBuffer's reference was never taken.
    if (!m->js_released_) m->Unref();
    m->Release();
    return nullptr;
  }
  return m;
}

napi_value SharedMemory::View(napi_env env, napi_value buffer, napi_typedarray_type type, size_t byte_offset,
                              size_t length) {
  napi_value view = nullptr;
  if (napi_create_typedarray(env, type, length, buffer, byte_offset, &view) != napi_ok) return nullptr;
  return view;
}

SharedMemory::~SharedMemory() { std::free(data_); }

void SharedMemory::OnFinalize(napi_env, void*, void* hint) {
  SharedMemory* m = static_cast<SharedMemory*>(hint);
  m->js_released_ = true;
  m->Unref();
}

void SharedMemory::Release() { Unref(); }

void SharedMemory::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace aloop
