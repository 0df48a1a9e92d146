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
  *buf = self->ArenaSlice(std::min(kStreamRead, kReadBudget - h->read_bytes));
  if (buf->len != 0) return;
  const size_t size = std::min(kOwnedRead, kReadBudget - h->read_bytes);
  *buf = self->TakeSpare(size);
  if (buf->len != 0) return;
  char* p = static_cast<char*>(std::malloc(size));
  if (p != nullptr) *buf = uv_buf_init(p, static_cast<unsigned int>(size));
}

void IoTable::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  IoHandle* h = static_cast<IoHandle*>(stream->data);
  IoTable* self = h->table;
  if (buf->base != nullptr && buf->base == self->reading_base_) {
    // A read into a spare: JS has its memory back by the token; an empty read returns it.
    const Spare spare = self->reading_;
    self->reading_ = Spare{nullptr, 0};
    self->reading_base_ = nullptr;
    if (nread > 0) {
      napi_delete_reference(self->env_, spare.ref);
      const size_t n = static_cast<size_t>(nread);
      h->read_bytes += n;
      self->Emit(h->id, kEvReadSpare, spare.token, static_cast<int32_t>(n));
      self->Delivered(n);
      return;
    }
    self->spares_.push_back(spare);
    buf = nullptr;
  }
  const bool owned = buf != nullptr && buf->base != nullptr && !self->InArena(buf->base);
  if (nread > 0) {
    const size_t n = static_cast<size_t>(nread);
    h->read_bytes += n;
    if (!owned) {
      const size_t off = static_cast<size_t>(reinterpret_cast<uint8_t*>(buf->base) - self->arena_);
      self->arena_used_ = off + n;
      self->Emit(h->id, kEvRead, static_cast<int32_t>(off), static_cast<int32_t>(n));
      self->Delivered(n);
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
    self->Delivered(n);
    return;
  }
  if (owned) std::free(buf->base);
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_ENOBUFS) {
    // Over its budget, the socket reads again after this poll (it stays readable in the kernel,
    // and the budget renews in the check phase). Otherwise no memory was to be had: stop until
    // the end of the iteration.
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
  if (h == nullptr || h->kind == kProcess) return;
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
napi_value NativeIo::Write(Call& c) {
  int32_t id;
  const uint8_t* data;
  size_t len;
  if (!IdArg(c, 0, &id) || !c.Bytes(1, "data", &data, &len)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(0);
  // libuv buffers count their length in 32 bits (TS hands over at most 1 GiB at a time).
  if (len > INT32_MAX) {
    c.RangeError("data must be at most 2 GiB - 1 bytes");
    return nullptr;
  }
  if (!CheckKind(c, t, id, kAnyStream, "a stream")) return nullptr;
  return c.Number(t->Write(id, data, len));
}

napi_value NativeIo::Queued(Call& c) {
  int32_t id;
  if (!IdArg(c, 0, &id)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(0);
  if (!CheckKind(c, t, id, kAnyStream, "a stream")) return nullptr;
  return c.Number(t->Queued(id));
}

napi_value NativeIo::WatchDrain(Call& c) {
  int32_t id;
  int32_t low;
  if (!IdArg(c, 0, &id) || !c.Int(1, "low", 0, INT32_MAX, &low)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Undefined();
  if (!CheckKind(c, t, id, kAnyStream, "a stream")) return nullptr;
  t->WatchDrain(id, low);
  return c.Undefined();
}

napi_value NativeIo::Shutdown(Call& c) {
  int32_t id;
  if (!IdArg(c, 0, &id)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(0);
  if (!CheckKind(c, t, id, kAnyStream, "a stream")) return nullptr;
  return c.Number(t->Shutdown(id));
}

// close(id, mode): 0 flush, FIN, close; 1 close now; 2 close with RST
napi_value NativeIo::Close(Call& c) {
  int32_t id;
  int32_t mode;
  if (!IdArg(c, 0, &id) || !c.Int(1, "mode", 0, 2, &mode)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Undefined();
  if (!CheckKind(c, t, id, kAnyStream, "a stream (close a UDP socket with udpClose)")) return nullptr;
  t->Close(id, mode);
  return c.Undefined();
}

// setReading(id, on): streams and UDP sockets alike
napi_value NativeIo::SetReading(Call& c) {
  int32_t id;
  bool on;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "on", &on)) return nullptr;
  IoTable* t = Table();
  if (t != nullptr) t->SetReading(id, on);
  return c.Undefined();
}

}  // namespace aloop
