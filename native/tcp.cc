// TCP streams on uv_tcp_t; the plan (ids, event records, the read arena) is in tcp.h.
#include "tcp.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "loop.h"

namespace aloop {

namespace {

constexpr int kSlotBits = 20;
constexpr int32_t kSlotMask = (1 << kSlotBits) - 1;
constexpr uint32_t kGenerationMask = (1u << (31 - kSlotBits)) - 1;
/** One read takes at most this much of the arena (libuv suggests 64 KiB). */
constexpr size_t kMaxRead = 64 * 1024;
/** Below this much free arena a socket waits for the next iteration instead of reading. */
constexpr size_t kMinRead = 4 * 1024;

struct WriteReq {
  uv_write_t req;
  size_t len;
  // The bytes follow the struct.
};

int ParseAddr(const char* host, int family, int port, sockaddr_storage* out) {
  if (family == 6) return uv_ip6_addr(host, port, reinterpret_cast<sockaddr_in6*>(out));
  return uv_ip4_addr(host, port, reinterpret_cast<sockaddr_in*>(out));
}

}  // namespace

struct TcpHandle {
  uv_tcp_t tcp;
  TcpTable* table;
  int32_t id;
  bool listener;
  bool connected = false;
  bool js_reading = true;  // JS has not paused reading
  bool reading = false;    // uv_read_start is in effect
  bool starved = false;    // the arena was full
  bool eof = false;
  bool shut = false;       // uv_shutdown requested (writeEof or close)
  bool shut_done = false;
  bool close_requested = false;
  bool closing = false;    // uv_close called
  size_t queued = 0;
  int64_t drain_at = -1;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;

  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
};

TcpTable::TcpTable(LoopCore* core_, uv_loop_t* uv, int32_t* state, int32_t* events, size_t event_capacity,
                   uint8_t* arena, size_t arena_size)
    : core(core_),
      uv_(uv),
      state_(state),
      events_out_(events),
      event_capacity_(event_capacity),
      arena_(arena),
      arena_size_(arena_size) {}

TcpHandle* TcpTable::Get(int32_t id) {
  if (id < 0) return nullptr;
  const size_t slot = static_cast<size_t>(id & kSlotMask);
  if (slot >= slots_.size()) return nullptr;
  TcpHandle* h = slots_[slot];
  return h != nullptr && h->id == id ? h : nullptr;
}

TcpHandle* TcpTable::NewHandle(bool listener) {
  size_t slot;
  if (!free_.empty()) {
    slot = static_cast<size_t>(free_.back());
    free_.pop_back();
  } else {
    slot = slots_.size();
    slots_.push_back(nullptr);
    generations_.push_back(0);
  }
  TcpHandle* h = new TcpHandle();
  h->table = this;
  h->listener = listener;
  h->id = static_cast<int32_t>(slot | (static_cast<size_t>(generations_[slot]) << kSlotBits));
  slots_[slot] = h;
  uv_tcp_init(uv_, &h->tcp);
  h->tcp.data = h;
  h->connect_req.data = h;
  h->shutdown_req.data = h;
  core->HandleOpened();
  return h;
}

void TcpTable::Emit(int32_t id, int32_t kind, int32_t a, int32_t b) {
  if (core->closed()) return;
  events_.push_back(Record{id, kind, a, b});
  core->Wake();
}

int32_t TcpTable::WriteEvents() {
  const size_t left = events_.size() - events_pos_;
  const size_t n = std::min(left, event_capacity_ / 4);
  for (size_t i = 0; i < n; ++i) {
    const Record& r = events_[events_pos_ + i];
    int32_t* out = events_out_ + i * 4;
    out[0] = r.id;
    out[1] = r.kind;
    out[2] = r.a;
    out[3] = r.b;
  }
  events_pos_ += n;
  const bool more = events_pos_ < events_.size();
  if (!more) {
    events_.clear();
    events_pos_ = 0;
  }
  state_[kEvCount] = static_cast<int32_t>(n);
  state_[kEvMore] = more ? 1 : 0;
  return static_cast<int32_t>(n);
}

void TcpTable::AfterIteration() {
  state_[kEvCount] = 0;
  // Records made while JS ran (drains, write errors) name no arena bytes: reads happen only in
  // libuv's poll phase. Records not handed over yet (JS did not fetch them all) may.
  if (events_pos_ != 0) return;
  arena_used_ = 0;
  if (starved_.empty()) return;
  std::vector<int32_t> starved;
  starved.swap(starved_);
  for (int32_t id : starved) {
    TcpHandle* h = Get(id);
    if (h == nullptr) continue;
    h->starved = false;
    UpdateReading(h);
  }
}

void TcpTable::UpdateReading(TcpHandle* h) {
  const bool want = h->connected && h->js_reading && !h->starved && !h->eof && !h->close_requested && !h->closing;
  if (want == h->reading) return;
  h->reading = want;
  if (want) {
    const int err = uv_read_start(h->stream(), OnAlloc, OnRead);
    if (err < 0) {
      h->reading = false;
      Fail(h, err, kSysRead);
    }
  } else {
    uv_read_stop(h->stream());
  }
}

void TcpTable::Fail(TcpHandle* h, int err, int32_t syscall) {
  if (h->closing) return;
  Emit(h->id, kEvError, err, syscall);
  StartClose(h);
}

void TcpTable::StartClose(TcpHandle* h, bool reset) {
  if (h->closing) return;
  h->closing = true;
  h->reading = false;
  // RST instead of FIN (SO_LINGER 0); libuv refuses it after a shutdown: close plainly then.
  if (reset && uv_tcp_close_reset(&h->tcp, OnClose) == 0) return;
  uv_close(reinterpret_cast<uv_handle_t*>(&h->tcp), OnClose);
}

/** Both directions are done (FIN received, our shutdown complete): release the socket. */
void TcpTable::MaybeFinish(TcpHandle* h) {
  if (h->closing || !h->shut_done) return;
  if (h->close_requested || h->eof) StartClose(h);
}

void TcpTable::CloseAll() {
  for (TcpHandle* h : slots_) {
    if (h != nullptr) StartClose(h);
  }
  events_.clear();
  events_pos_ = 0;
  starved_.clear();
}

void TcpTable::OnClose(uv_handle_t* handle) {
  TcpHandle* h = static_cast<TcpHandle*>(handle->data);
  TcpTable* self = h->table;
  LoopCore* core = self->core;
  const size_t slot = static_cast<size_t>(h->id & kSlotMask);
  self->Emit(h->id, kEvClosed);
  self->slots_[slot] = nullptr;
  self->generations_[slot] = (self->generations_[slot] + 1) & kGenerationMask;
  self->free_.push_back(static_cast<int32_t>(slot));
  delete h;
  core->HandleClosed();  // may delete the core, and this table with it
}

// --- reading ------------------------------------------------------------------------------------

void TcpTable::OnAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  TcpTable* self = static_cast<TcpHandle*>(handle->data)->table;
  const size_t left = self->arena_size_ - self->arena_used_;
  if (left < kMinRead) {
    *buf = uv_buf_init(nullptr, 0);  // libuv then reports UV_ENOBUFS
    return;
  }
  *buf = uv_buf_init(reinterpret_cast<char*>(self->arena_ + self->arena_used_),
                     static_cast<unsigned int>(std::min(left, kMaxRead)));
}

void TcpTable::OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  TcpHandle* h = static_cast<TcpHandle*>(stream->data);
  TcpTable* self = h->table;
  if (nread > 0) {
    const size_t off = static_cast<size_t>(reinterpret_cast<uint8_t*>(buf->base) - self->arena_);
    self->arena_used_ = off + static_cast<size_t>(nread);
    self->Emit(h->id, kEvRead, static_cast<int32_t>(off), static_cast<int32_t>(nread));
    return;
  }
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_ENOBUFS) {
    // The arena is full until JS has copied it out: wait for the end of the iteration.
    h->starved = true;
    self->starved_.push_back(h->id);
    self->UpdateReading(h);
    self->core->Wake();
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

void TcpTable::SetReading(int32_t id, bool on) {
  TcpHandle* h = Get(id);
  if (h == nullptr) return;
  h->js_reading = on;
  UpdateReading(h);
}

// --- writing ------------------------------------------------------------------------------------

int32_t TcpTable::Write(int32_t id, const uint8_t* data, size_t len) {
  TcpHandle* h = Get(id);
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

void TcpTable::OnWrite(uv_write_t* r, int status) {
  WriteReq* req = reinterpret_cast<WriteReq*>(r);
  TcpHandle* h = static_cast<TcpHandle*>(r->data);
  h->queued -= req->len;
  std::free(req);
  TcpTable* self = h->table;
  if (status < 0) {
    if (status != UV_ECANCELED) self->Fail(h, status, kSysWrite);
    return;
  }
  if (h->drain_at >= 0 && static_cast<int64_t>(h->queued) <= h->drain_at) {
    h->drain_at = -1;
    self->Emit(h->id, kEvDrained, static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX)));
  }
}

int32_t TcpTable::Queued(int32_t id) {
  TcpHandle* h = Get(id);
  return h == nullptr ? 0 : static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX));
}

void TcpTable::WatchDrain(int32_t id, int32_t low) {
  TcpHandle* h = Get(id);
  if (h == nullptr) return;
  if (static_cast<int64_t>(h->queued) <= low) {
    h->drain_at = -1;
    Emit(h->id, kEvDrained, static_cast<int32_t>(h->queued));
  } else {
    h->drain_at = low;
  }
}

int32_t TcpTable::Shutdown(int32_t id) {
  TcpHandle* h = Get(id);
  if (h == nullptr || h->closing || h->shut) return 0;
  h->shut = true;
  const int err = uv_shutdown(&h->shutdown_req, h->stream(), OnShutdown);
  if (err < 0) {
    Fail(h, err, kSysShutdown);
    return err;
  }
  return 0;
}

void TcpTable::OnShutdown(uv_shutdown_t* req, int status) {
  TcpHandle* h = static_cast<TcpHandle*>(req->data);
  TcpTable* self = h->table;
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

void TcpTable::Close(int32_t id, int mode) {
  TcpHandle* h = Get(id);
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

// --- connecting and listening -------------------------------------------------------------------

int32_t TcpTable::Connect(const char* host, int family, int port, const char* local_host, int local_port, bool nodelay) {
  sockaddr_storage addr;
  int err = ParseAddr(host, family, port, &addr);
  if (err < 0) return err;
  TcpHandle* h = NewHandle(false);
  if (nodelay) uv_tcp_nodelay(&h->tcp, 1);
  if (local_host != nullptr) {
    sockaddr_storage local;
    err = ParseAddr(local_host, family, local_port, &local);
    if (err == 0) err = uv_tcp_bind(&h->tcp, reinterpret_cast<sockaddr*>(&local), 0);
  }
  if (err == 0) err = uv_tcp_connect(&h->connect_req, &h->tcp, reinterpret_cast<sockaddr*>(&addr), OnConnect);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  return h->id;
}

void TcpTable::OnConnect(uv_connect_t* req, int status) {
  TcpHandle* h = static_cast<TcpHandle*>(req->data);
  TcpTable* self = h->table;
  if (status == UV_ECANCELED || h->closing) return;
  self->Emit(h->id, kEvConnect, status);
  if (status < 0) {
    self->StartClose(h);
    return;
  }
  h->connected = true;
  self->UpdateReading(h);
}

int32_t TcpTable::Listen(const char* host, int family, int port, int backlog, bool ipv6only) {
  sockaddr_storage addr;
  int err = ParseAddr(host, family, port, &addr);
  if (err < 0) return err;
  TcpHandle* h = NewHandle(true);
  err = uv_tcp_bind(&h->tcp, reinterpret_cast<sockaddr*>(&addr), family == 6 && ipv6only ? UV_TCP_IPV6ONLY : 0);
  if (err == 0) err = uv_listen(h->stream(), backlog, OnConnection);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  return h->id;
}

void TcpTable::OnConnection(uv_stream_t* server, int status) {
  TcpHandle* s = static_cast<TcpHandle*>(server->data);
  TcpTable* self = s->table;
  if (s->closing) return;
  if (status < 0) {
    self->Emit(s->id, kEvError, status, kSysAccept);
    return;
  }
  TcpHandle* c = self->NewHandle(false);
  const int err = uv_accept(server, c->stream());
  if (err < 0) {
    self->StartClose(c);
    self->Emit(s->id, kEvError, err, kSysAccept);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->connected = true;
  self->Emit(s->id, kEvAccept, c->id);
  self->UpdateReading(c);
}

// --- options and addresses ----------------------------------------------------------------------

int32_t TcpTable::SetNoDelay(int32_t id, bool on) {
  TcpHandle* h = Get(id);
  return h == nullptr || h->closing ? UV_EBADF : uv_tcp_nodelay(&h->tcp, on ? 1 : 0);
}

int32_t TcpTable::SetKeepAlive(int32_t id, bool on, int delay) {
  TcpHandle* h = Get(id);
  return h == nullptr || h->closing ? UV_EBADF : uv_tcp_keepalive(&h->tcp, on ? 1 : 0, static_cast<unsigned int>(delay));
}

Napi::Value TcpTable::Address(Napi::Env env, int32_t id, bool peer) {
  TcpHandle* h = Get(id);
  if (h == nullptr || h->closing) return Napi::Number::New(env, UV_EBADF);
  sockaddr_storage ss;
  int len = sizeof(ss);
  const int err = peer ? uv_tcp_getpeername(&h->tcp, reinterpret_cast<sockaddr*>(&ss), &len)
                       : uv_tcp_getsockname(&h->tcp, reinterpret_cast<sockaddr*>(&ss), &len);
  if (err < 0) return Napi::Number::New(env, err);
  char name[INET6_ADDRSTRLEN + 1] = {0};
  int port = 0;
  if (ss.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, name, sizeof(name));
    port = ntohs(a->sin6_port);
  } else {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&ss);
    uv_ip4_name(a, name, sizeof(name));
    port = ntohs(a->sin_port);
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::String::New(env, name));
  out.Set(1u, Napi::Number::New(env, port));
  return out;
}

// --- the JS class -------------------------------------------------------------------------------

Napi::Function NativeTcp::Define(Napi::Env env) {
  return DefineClass(env, "Tcp",
                     {
                         InstanceMethod<&NativeTcp::Connect>("connect"),
                         InstanceMethod<&NativeTcp::Listen>("listen"),
                         InstanceMethod<&NativeTcp::Write>("write"),
                         InstanceMethod<&NativeTcp::Queued>("queued"),
                         InstanceMethod<&NativeTcp::WatchDrain>("watchDrain"),
                         InstanceMethod<&NativeTcp::Shutdown>("shutdown"),
                         InstanceMethod<&NativeTcp::Close>("close"),
                         InstanceMethod<&NativeTcp::SetReading>("setReading"),
                         InstanceMethod<&NativeTcp::SetNoDelay>("setNoDelay"),
                         InstanceMethod<&NativeTcp::SetKeepAlive>("setKeepAlive"),
                         InstanceMethod<&NativeTcp::Address>("address"),
                         InstanceMethod<&NativeTcp::More>("more"),
                     });
}

// new Tcp(loop, state: Int32Array, events: Int32Array, arena: Uint8Array): the TS side validates;
// these checks only keep a wrong call from crashing the process.
NativeTcp::NativeTcp(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTcp>(info) {
  Napi::Env env = info.Env();
  InstanceData* instance = env.GetInstanceData<InstanceData>();
  if (info.Length() < 4 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(instance->loop_constructor.Value()) || !info[1].IsTypedArray() ||
      !info[2].IsTypedArray() || !info[3].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < kTcpStateLength ||
      info[2].As<Napi::TypedArray>().ElementLength() < 4 ||
      info[3].As<Napi::TypedArray>().ElementLength() < 2 * kMaxRead) {
    Napi::TypeError::New(env, "Tcp(loop: Loop, state: Int32Array, events: Int32Array, arena: Uint8Array)")
        .ThrowAsJavaScriptException();
    return;
  }
  NativeLoop* loop = NativeLoop::Unwrap(info[0].As<Napi::Object>());
  if (loop->core == nullptr || loop->core->closed() || loop->core->tcp != nullptr) {
    Napi::Error::New(env, "Tcp: the loop is closed or already has its Tcp").ThrowAsJavaScriptException();
    return;
  }
  loop_ = Napi::Persistent(info[0].As<Napi::Object>());
  Napi::Int32Array state = info[1].As<Napi::Int32Array>();
  Napi::Int32Array events = info[2].As<Napi::Int32Array>();
  Napi::Uint8Array arena = info[3].As<Napi::Uint8Array>();
  uv_loop_t* uv = nullptr;
  napi_get_uv_event_loop(env, &uv);
  TcpTable* table = new TcpTable(loop->core, uv, state.Data(), events.Data(), events.ElementLength(), arena.Data(),
                                 arena.ElementLength());
  loop->core->AttachTcp(table, {Napi::Object(state), Napi::Object(events), Napi::Object(arena)});
}

TcpTable* NativeTcp::Table() {
  NativeLoop* loop = NativeLoop::Unwrap(loop_.Value());
  if (loop == nullptr || loop->core == nullptr || loop->core->closed()) return nullptr;
  return loop->core->tcp;
}

// connect(host, family, port, localHost | null, localPort, noDelay) → id or a libuv error
Napi::Value NativeTcp::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TcpTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, UV_EBADF);
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  const bool has_local = info[3].IsString();
  const std::string local = has_local ? info[3].As<Napi::String>().Utf8Value() : std::string();
  return Napi::Number::New(env, t->Connect(host.c_str(), info[1].As<Napi::Number>().Int32Value(),
                                           info[2].As<Napi::Number>().Int32Value(), has_local ? local.c_str() : nullptr,
                                           info[4].As<Napi::Number>().Int32Value(), info[5].ToBoolean().Value()));
}

// listen(host, family, port, backlog, ipv6Only) → id or a libuv error
Napi::Value NativeTcp::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TcpTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, UV_EBADF);
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, t->Listen(host.c_str(), info[1].As<Napi::Number>().Int32Value(),
                                          info[2].As<Napi::Number>().Int32Value(),
                                          info[3].As<Napi::Number>().Int32Value(), info[4].ToBoolean().Value()));
}

// write(id, bytes: Uint8Array) → bytes queued in C++ after this write
Napi::Value NativeTcp::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TcpTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, 0);
  Napi::Uint8Array data = info[1].As<Napi::Uint8Array>();
  return Napi::Number::New(env, t->Write(info[0].As<Napi::Number>().Int32Value(), data.Data(), data.ByteLength()));
}

Napi::Value NativeTcp::Queued(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->Queued(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value NativeTcp::WatchDrain(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  if (t != nullptr) t->WatchDrain(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value NativeTcp::Shutdown(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->Shutdown(info[0].As<Napi::Number>().Int32Value()));
}

Napi::Value NativeTcp::Close(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  if (t != nullptr) t->Close(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value NativeTcp::SetReading(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  if (t != nullptr) t->SetReading(info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
  return info.Env().Undefined();
}

Napi::Value NativeTcp::SetNoDelay(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? UV_EBADF
                                                    : t->SetNoDelay(info[0].As<Napi::Number>().Int32Value(),
                                                                    info[1].ToBoolean().Value()));
}

Napi::Value NativeTcp::SetKeepAlive(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? UV_EBADF
                                                    : t->SetKeepAlive(info[0].As<Napi::Number>().Int32Value(),
                                                                      info[1].ToBoolean().Value(),
                                                                      info[2].As<Napi::Number>().Int32Value()));
}

// address(id, peer) → [host, port] or a libuv error
Napi::Value NativeTcp::Address(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  if (t == nullptr) return Napi::Number::New(info.Env(), UV_EBADF);
  return t->Address(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
}

Napi::Value NativeTcp::More(const Napi::CallbackInfo& info) {
  TcpTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->WriteEvents());
}

Napi::Value ErrName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int err = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::String::New(env, err < 0 ? uv_err_name(err) : "UNKNOWN"));
  out.Set(1u, Napi::String::New(env, err < 0 ? uv_strerror(err) : "unknown error"));
  return out;
}

}  // namespace aloop
