// The I/O table: handle ids, event records, the read arena, closing (the plan is in io.h).
#include "io.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "instance.h"
#include "loop.h"

namespace aloop {

namespace {

constexpr int kSlotBits = 20;
constexpr int32_t kSlotMask = (1 << kSlotBits) - 1;
constexpr uint32_t kGenerationMask = (1u << (31 - kSlotBits)) - 1;

}  // namespace

IoTable::IoTable(LoopCore* core_, uv_loop_t* uv, int32_t* state, int32_t* events, size_t event_capacity,
                 uint8_t* arena, size_t arena_size)
    : core(core_),
      uv_(uv),
      state_(state),
      events_out_(events),
      event_capacity_(event_capacity),
      arena_(arena),
      arena_size_(arena_size) {}

IoTable::~IoTable() { FreeOwned(); }

void IoTable::FreeOwned() {
  for (uv_buf_t& b : owned_) std::free(b.base);
  owned_.clear();
  owned_begin_ = owned_end_ = 0;
}

IoHandle* IoTable::Get(int32_t id) {
  if (id < 0) return nullptr;
  const size_t slot = static_cast<size_t>(id & kSlotMask);
  if (slot >= slots_.size()) return nullptr;
  IoHandle* h = slots_[slot];
  return h != nullptr && h->id == id ? h : nullptr;
}

IoHandle* IoTable::NewHandle(HandleKind kind, bool listener) {
  size_t slot;
  if (!free_.empty()) {
    slot = static_cast<size_t>(free_.back());
    free_.pop_back();
  } else {
    slot = slots_.size();
    slots_.push_back(nullptr);
    generations_.push_back(0);
  }
  IoHandle* h = new IoHandle();
  h->table = this;
  h->kind = kind;
  h->listener = listener;
  h->id = static_cast<int32_t>(slot | (static_cast<size_t>(generations_[slot]) << kSlotBits));
  slots_[slot] = h;
  switch (kind) {
    case kTcp:
      uv_tcp_init(uv_, &h->uv.tcp);
      break;
    case kPipe:
      uv_pipe_init(uv_, &h->uv.pipe, 0);
      break;
    case kUdp:
      uv_udp_init(uv_, &h->uv.udp);
      break;
  }
  h->uv.handle.data = h;
  h->connect_req.data = h;
  h->shutdown_req.data = h;
  core->HandleOpened();
  return h;
}

void IoTable::Emit(int32_t id, int32_t kind, int32_t a, int32_t b) {
  if (core->closed()) return;
  events_.push_back(Record{id, kind, a, b});
  core->Wake();
}

int32_t IoTable::WriteEvents() {
  const size_t left = events_.size() - events_pos_;
  const size_t n = std::min(left, event_capacity_ / 4);
  // Owned buffers of the last chunk JS did not take stay listed and are freed with the rest
  // after the iteration; this chunk's are numbered from its first.
  owned_begin_ = owned_end_ = 0;
  bool any_owned = false;
  for (size_t i = 0; i < n; ++i) {
    const Record& r = events_[events_pos_ + i];
    int32_t* out = events_out_ + i * 4;
    out[0] = r.id;
    out[1] = r.kind;
    out[2] = r.a;
    out[3] = r.b;
    if (r.kind == kEvReadOwned) {
      if (!any_owned) owned_begin_ = static_cast<size_t>(r.a);
      any_owned = true;
      owned_end_ = static_cast<size_t>(r.a) + 1;
      out[2] = r.a - static_cast<int32_t>(owned_begin_);
    }
  }
  state_[kOwnedCount] = static_cast<int32_t>(owned_end_ - owned_begin_);
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

void IoTable::AfterIteration() {
  state_[kEvCount] = 0;
  // Records made while JS ran (drains, write errors) name no arena bytes: reads happen only in
  // libuv's poll phase. Records not handed over yet (JS did not fetch them all) may.
  if (events_pos_ != 0) return;
  arena_used_ = 0;
  ++iter_;
  if (!owned_.empty()) FreeOwned();
  if (starved_.empty()) return;
  std::vector<int32_t> starved;
  starved.swap(starved_);
  for (int32_t id : starved) {
    IoHandle* h = Get(id);
    if (h == nullptr) continue;
    h->starved = false;
    UpdateReading(h);
  }
}

void IoTable::Starve(IoHandle* h) {
  h->starved = true;
  starved_.push_back(h->id);
  UpdateReading(h);
  core->Wake();
}

void IoTable::UpdateReading(IoHandle* h) {
  const bool want = h->connected && h->js_reading && !h->starved && !h->eof && !h->close_requested && !h->closing;
  if (want == h->reading) return;
  h->reading = want;
  const bool udp = h->kind == kUdp;
  if (want) {
    const int err = udp ? uv_udp_recv_start(&h->uv.udp, OnUdpAlloc, OnRecv) : uv_read_start(h->stream(), OnAlloc, OnRead);
    if (err < 0) {
      h->reading = false;
      Fail(h, err, udp ? kSysRecv : kSysRead);
    }
  } else if (udp) {
    uv_udp_recv_stop(&h->uv.udp);
  } else {
    uv_read_stop(h->stream());
  }
}

void IoTable::Fail(IoHandle* h, int err, int32_t syscall) {
  if (h->closing) return;
  Emit(h->id, kEvError, err, syscall);
  StartClose(h);
}

void IoTable::StartClose(IoHandle* h, bool reset) {
  if (h->closing) return;
  h->closing = true;
  h->reading = false;
  CloseAcceptPoll(h);
  // RST instead of FIN (SO_LINGER 0); libuv refuses it after a shutdown: close plainly then.
  if (reset && h->kind == kTcp && uv_tcp_close_reset(&h->uv.tcp, OnClose) == 0) return;
  uv_close(&h->uv.handle, OnClose);
}

/** Both directions are done (FIN received, our shutdown complete): release the socket. */
void IoTable::MaybeFinish(IoHandle* h) {
  if (h->closing || !h->shut_done) return;
  if (h->close_requested || h->eof) StartClose(h);
}

void IoTable::CloseAll() {
  for (IoHandle* h : slots_) {
    if (h != nullptr) StartClose(h);
  }
  events_.clear();
  events_pos_ = 0;
  starved_.clear();
  FreeOwned();
}

Napi::Value IoTable::TakeOwned(Napi::Env env) {
  const size_t n = owned_end_ - owned_begin_;
  Napi::Array out = Napi::Array::New(env, n);
  for (size_t i = 0; i < n; ++i) {
    uv_buf_t& b = owned_[owned_begin_ + i];
    if (b.base == nullptr) continue;  // taken already
    uint8_t* data = reinterpret_cast<uint8_t*>(b.base);
    napi_value buf;
    // JS owns the bytes from here: V8 frees them with the Buffer. Where external buffers are
    // not allowed (a V8 sandbox), they are copied instead.
    if (napi_create_external_buffer(env, b.len, data, [](napi_env, void* p, void*) { std::free(p); }, nullptr,
                                    &buf) == napi_ok) {
      b.base = nullptr;
    } else {
      buf = Napi::Buffer<uint8_t>::Copy(env, data, b.len);
    }
    out.Set(static_cast<uint32_t>(i), buf);
  }
  owned_begin_ = owned_end_;
  return out;
}

void IoTable::OnClose(uv_handle_t* handle) {
  IoHandle* h = static_cast<IoHandle*>(handle->data);
  IoTable* self = h->table;
  LoopCore* core = self->core;
  const size_t slot = static_cast<size_t>(h->id & kSlotMask);
  self->Emit(h->id, kEvClosed);
  self->slots_[slot] = nullptr;
  self->generations_[slot] = (self->generations_[slot] + 1) & kGenerationMask;
  self->free_.push_back(static_cast<int32_t>(slot));
  delete h;
  core->HandleClosed();  // may delete the core, and this table with it
}

uv_buf_t IoTable::ArenaSlice(size_t max) {
  const size_t left = arena_size_ - arena_used_;
  if (left < kMinRead) return uv_buf_init(nullptr, 0);
  return uv_buf_init(reinterpret_cast<char*>(arena_ + arena_used_), static_cast<unsigned int>(std::min(left, max)));
}

// --- the JS class -------------------------------------------------------------------------------

Napi::Function NativeIo::Define(Napi::Env env) {
  return DefineClass(env, "Io",
                     {
                         InstanceMethod<&NativeIo::More>("more"),
                         InstanceMethod<&NativeIo::Owned>("owned"),
                         InstanceMethod<&NativeIo::Write>("write"),
                         InstanceMethod<&NativeIo::Queued>("queued"),
                         InstanceMethod<&NativeIo::WatchDrain>("watchDrain"),
                         InstanceMethod<&NativeIo::Shutdown>("shutdown"),
                         InstanceMethod<&NativeIo::Close>("close"),
                         InstanceMethod<&NativeIo::SetReading>("setReading"),
                         InstanceMethod<&NativeIo::Connect>("connect"),
                         InstanceMethod<&NativeIo::Listen>("listen"),
                         InstanceMethod<&NativeIo::SetNoDelay>("setNoDelay"),
                         InstanceMethod<&NativeIo::SetKeepAlive>("setKeepAlive"),
                         InstanceMethod<&NativeIo::Address>("address"),
                         InstanceMethod<&NativeIo::PipeConnect>("pipeConnect"),
                         InstanceMethod<&NativeIo::PipeListen>("pipeListen"),
                         InstanceMethod<&NativeIo::PipeAddress>("pipeAddress"),
                         InstanceMethod<&NativeIo::SetAccepting>("setAccepting"),
                         InstanceMethod<&NativeIo::UdpBind>("udpBind"),
                         InstanceMethod<&NativeIo::UdpConnect>("udpConnect"),
                         InstanceMethod<&NativeIo::UdpSetBroadcast>("udpSetBroadcast"),
                         InstanceMethod<&NativeIo::UdpSend>("udpSend"),
                         InstanceMethod<&NativeIo::UdpClose>("udpClose"),
                     });
}

// new Io(loop, state: Int32Array, events: Int32Array, arena: Uint8Array): the TS side validates;
// these checks only keep a wrong call from crashing the process.
NativeIo::NativeIo(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeIo>(info) {
  Napi::Env env = info.Env();
  InstanceData* instance = env.GetInstanceData<InstanceData>();
  if (info.Length() < 4 || !info[0].IsObject() ||
      !info[0].As<Napi::Object>().InstanceOf(instance->loop_constructor.Value()) || !info[1].IsTypedArray() ||
      !info[2].IsTypedArray() || !info[3].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < kIoStateLength ||
      info[2].As<Napi::TypedArray>().ElementLength() < 4 ||
      info[3].As<Napi::TypedArray>().ElementLength() < 2 * kMaxRead) {
    Napi::TypeError::New(env, "Io(loop: Loop, state: Int32Array, events: Int32Array, arena: Uint8Array)")
        .ThrowAsJavaScriptException();
    return;
  }
  NativeLoop* loop = NativeLoop::Unwrap(info[0].As<Napi::Object>());
  if (loop->core == nullptr || loop->core->closed() || loop->core->io != nullptr) {
    Napi::Error::New(env, "Io: the loop is closed or already has its Io").ThrowAsJavaScriptException();
    return;
  }
  loop_ = Napi::Persistent(info[0].As<Napi::Object>());
  Napi::Int32Array state = info[1].As<Napi::Int32Array>();
  Napi::Int32Array events = info[2].As<Napi::Int32Array>();
  Napi::Uint8Array arena = info[3].As<Napi::Uint8Array>();
  uv_loop_t* uv = nullptr;
  napi_get_uv_event_loop(env, &uv);
  IoTable* table = new IoTable(loop->core, uv, state.Data(), events.Data(), events.ElementLength(), arena.Data(),
                               arena.ElementLength());
  loop->core->AttachIo(table, {Napi::Object(state), Napi::Object(events), Napi::Object(arena)});
}

IoTable* NativeIo::Table() {
  NativeLoop* loop = NativeLoop::Unwrap(loop_.Value());
  if (loop == nullptr || loop->core == nullptr || loop->core->closed()) return nullptr;
  return loop->core->io;
}

Napi::Value NativeIo::More(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? 0 : t->WriteEvents());
}

Napi::Value NativeIo::Owned(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t == nullptr) return Napi::Array::New(info.Env(), 0);
  return t->TakeOwned(info.Env());
}

int ParseAddr(const char* host, int family, int port, sockaddr_storage* out) {
  if (family == 6) return uv_ip6_addr(host, port, reinterpret_cast<sockaddr_in6*>(out));
  return uv_ip4_addr(host, port, reinterpret_cast<sockaddr_in*>(out));
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
