// Streams (uv_tcp_t and uv_pipe_t alike): reading (into the arena or a buffer of its own), try-then-queue writes,
// shutdown and the close modes. The plan is in io.h.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "io.h"
#include "loop.h"

namespace aloop {

namespace {

struct WriteReq {
  uv_write_t req;
  size_t len;
  // The bytes follow the struct.
};

}  // namespace

// --- reading ------------------------------------------------------------------------------------

void IoTable::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  IoHandle* h = static_cast<IoHandle*>(handle->data);
  IoTable* self = h->table;
  if (h->read_iter != self->iter_) {
    h->read_iter = self->iter_;
    h->read_bytes = 0;
  }
  // Over budget: an empty buffer makes libuv report UV_ENOBUFS and leave the socket readable.
  *buf = uv_buf_init(nullptr, 0);
  if (h->read_bytes >= kReadBudget) return;
  if (!h->bulk) {
    *buf = self->ArenaSlice(kMaxRead);
    if (buf->len != 0) return;
  }
  const size_t size = std::min(kOwnedRead, kReadBudget - h->read_bytes);
  char* p = static_cast<char*>(std::malloc(size));
  if (p != nullptr) *buf = uv_buf_init(p, static_cast<unsigned int>(size));
}

void IoTable::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  IoHandle* h = static_cast<IoHandle*>(stream->data);
  IoTable* self = h->table;
  const bool owned = buf->base != nullptr && !self->InArena(buf->base);
  if (nread > 0) {
    const size_t n = static_cast<size_t>(nread);
    h->read_bytes += n;
    h->bulk = n >= kBulkRead;
    if (!owned) {
      const size_t off = static_cast<size_t>(reinterpret_cast<uint8_t*>(buf->base) - self->arena_);
      self->arena_used_ = off + n;
      self->Emit(h->id, kEvRead, static_cast<int32_t>(off), static_cast<int32_t>(n));
      return;
    }
    char* data = buf->base;
    // A short read gives back what it did not use (glibc shrinks in place).
    if (n < buf->len / 2) {
      char* smaller = static_cast<char*>(std::realloc(data, n));
      if (smaller != nullptr) data = smaller;
    }
    if (self->core->closed()) {
      std::free(data);
      return;
    }
    self->owned_.push_back(uv_buf_init(data, static_cast<unsigned int>(n)));
    self->Emit(h->id, kEvReadOwned, static_cast<int32_t>(self->owned_.size() - 1), static_cast<int32_t>(n));
    return;
  }
  if (owned) std::free(buf->base);
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_ENOBUFS) {
    // Over its budget, the socket reads again next iteration (it stays readable in the kernel).
    // Otherwise no memory was to be had: stop until the end of the iteration.
    if (h->read_bytes < kReadBudget) self->Starve(h);
    return;
  }
  if (nread == UV_EOF) {
    h->eof = true;
    self->UpdateReading(h);
    self->Emit(h->id, kEvEof);
    self->MaybeFinish(h);
    return;
  }
  self->Fail(h, static_cast<int>(nread), kSysRead);
}

void IoTable::SetReading(int32_t id, bool on) {
  IoHandle* h = Get(id);
  if (h == nullptr) return;
  h->js_reading = on;
  UpdateReading(h);
}

// --- writing ------------------------------------------------------------------------------------

int32_t IoTable::Write(int32_t id, const uint8_t* data, size_t len) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->shut || len == 0) return 0;
  size_t off = 0;
  if (h->queued == 0) {
    uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)), static_cast<unsigned int>(len));
    const int n = uv_try_write(h->stream(), &b, 1);
    if (n >= 0 && static_cast<size_t>(n) == len) return 0;
    if (n < 0 && n != UV_EAGAIN) {
      Fail(h, n, kSysWrite);
      return 0;
    }
    if (n > 0) off = static_cast<size_t>(n);
  }
  const size_t rest = len - off;
  WriteReq* req = static_cast<WriteReq*>(std::malloc(sizeof(WriteReq) + rest));
  if (req == nullptr) {
    Fail(h, UV_ENOMEM, kSysWrite);
    return 0;
  }
  char* copy = reinterpret_cast<char*>(req + 1);
  std::memcpy(copy, data + off, rest);
  req->len = rest;
  req->req.data = h;
  uv_buf_t b = uv_buf_init(copy, static_cast<unsigned int>(rest));
  const int err = uv_write(&req->req, h->stream(), &b, 1, OnWrite);
  if (err < 0) {
    std::free(req);
    Fail(h, err, kSysWrite);
    return 0;
  }
  h->queued += rest;
  return static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX));
}

void IoTable::OnWrite(uv_write_t* r, int status) {
  WriteReq* req = reinterpret_cast<WriteReq*>(r);
  IoHandle* h = static_cast<IoHandle*>(r->data);
  h->queued -= req->len;
  std::free(req);
  IoTable* self = h->table;
  if (status < 0) {
    if (status != UV_ECANCELED) self->Fail(h, status, kSysWrite);
    return;
  }
  if (h->drain_at >= 0 && static_cast<int64_t>(h->queued) <= h->drain_at) {
    h->drain_at = -1;
    self->Emit(h->id, kEvDrained, static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX)));
  }
}

int32_t IoTable::Queued(int32_t id) {
  IoHandle* h = Get(id);
  return h == nullptr ? 0 : static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX));
}

void IoTable::WatchDrain(int32_t id, int32_t low) {
  IoHandle* h = Get(id);
  if (h == nullptr) return;
  if (static_cast<int64_t>(h->queued) <= low) {
    h->drain_at = -1;
    Emit(h->id, kEvDrained, static_cast<int32_t>(h->queued));
  } else {
    h->drain_at = low;
  }
}

int32_t IoTable::Shutdown(int32_t id) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->shut) return 0;
  h->shut = true;
  const int err = uv_shutdown(&h->shutdown_req, h->stream(), OnShutdown);
  if (err < 0) {
    Fail(h, err, kSysShutdown);
    return err;
  }
  return 0;
}

void IoTable::OnShutdown(uv_shutdown_t* req, int status) {
  IoHandle* h = static_cast<IoHandle*>(req->data);
  IoTable* self = h->table;
  if (status == UV_ECANCELED) return;
  h->shut_done = true;
  // The peer may be gone already; a close that only wanted the flush ends quietly then.
  if (status < 0 && !h->close_requested) {
    self->Fail(h, status, kSysShutdown);
    return;
  }
  if (status < 0) {
    self->StartClose(h);
    return;
  }
  self->MaybeFinish(h);
}

void IoTable::Close(int32_t id, int mode) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing) return;
  h->close_requested = true;
  UpdateReading(h);
  if (mode != 0 || h->listener || !h->connected) {
    StartClose(h, mode == 2 && h->connected);
    return;
  }
  // Flush what is queued and send FIN, then close without waiting for the peer's FIN.
  if (!h->shut) {
    if (Shutdown(id) < 0) return;
  }
  MaybeFinish(h);
}

// --- connecting (TCP and pipes); accepting is listen.cc's -------------------------------------

void IoTable::OnConnect(uv_connect_t* req, int status) {
  IoHandle* h = static_cast<IoHandle*>(req->data);
  IoTable* self = h->table;
  if (status == UV_ECANCELED || h->closing) return;
  self->Emit(h->id, kEvConnect, status);
  if (status < 0) {
    self->StartClose(h);
    return;
  }
  h->connected = true;
  self->UpdateReading(h);
}

// --- the JS methods ------------------------------------------------------------------------------

// write(id, bytes: Uint8Array) → bytes queued in C++ after this write
Napi::Value NativeIo::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, 0);
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  return Napi::Number::New(env, t->Write(info[0].As<Napi::Number>().Int32Value(), data.Data(), data.ByteLength()));
}

Napi::Value NativeIo::Queued(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->Queued(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value NativeIo::WatchDrain(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t != nullptr) t->WatchDrain(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value NativeIo::Shutdown(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->Shutdown(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value NativeIo::Close(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t != nullptr) t->Close(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value NativeIo::SetReading(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t != nullptr) t->SetReading(info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
  return info.Env().Undefined();
}

}  // namespace aloop
