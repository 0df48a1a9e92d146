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

int IoTable::KindOf(int32_t id) {
  const IoHandle* h = Get(id);
  return h == nullptr ? -1 : h->kind;
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
    case kProcess:
      break;  // uv_spawn initializes it (process.cc)
    case kPoll:
      break;  // uv_poll_init needs the fd and may fail: PollOpen initialises it (poll.cc)
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

void IoTable::AfterPoll() { ++iter_; }

void IoTable::AfterIteration() {
  state_[kEvCount] = 0;
  unsent_ = 0;
  // Records made while JS ran (drains, write errors) name no arena bytes: reads happen only in
  // libuv's poll phase. Records not handed over yet (JS did not fetch them all) may.
  if (events_pos_ != 0) return;
  arena_used_ = 0;
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

void IoTable::Delivered(size_t n) {
  unsent_ += n;
  if (unsent_ >= kDeliverBytes) core->DeliverNow();
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
    if (h == nullptr) continue;
    if (h->kind == kProcess && !h->closing) OrphanChild(h);
    StartClose(h);
  }
  events_.clear();
  events_pos_ = 0;
  starved_.clear();
  FreeOwned();
  DropSpares();
}

bool IoTable::Supply(napi_value buf, int32_t token) {
  if (spares_.size() >= kMaxSpares) return false;
  napi_ref ref = nullptr;
  if (napi_create_reference(env_, buf, 1, &ref) != napi_ok) return true;  // the env is going away
  spares_.push_back(Spare{ref, token});
  return true;
}

uv_buf_t IoTable::TakeSpare(size_t max) {
  // Called by libuv between JS calls: the handle scope holds the values looked up here.
  napi_handle_scope scope = nullptr;
  if (spares_.empty() || napi_open_handle_scope(env_, &scope) != napi_ok) return uv_buf_init(nullptr, 0);
  uv_buf_t out = uv_buf_init(nullptr, 0);
  while (!spares_.empty()) {
    const Spare spare = spares_.back();
    spares_.pop_back();
    napi_value value = nullptr;
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    // A detached (transferred) buffer has no memory any more: drop it and try the next.
    if (napi_get_reference_value(env_, spare.ref, &value) == napi_ok && value != nullptr &&
        napi_get_typedarray_info(env_, value, &type, &length, &data, nullptr, nullptr) == napi_ok && data != nullptr &&
        length > 0) {
      reading_ = spare;
      reading_base_ = static_cast<char*>(data);
      out = uv_buf_init(reading_base_, static_cast<unsigned int>(std::min(length, max)));
      break;
    }
    napi_delete_reference(env_, spare.ref);
  }
  napi_close_handle_scope(env_, scope);
  return out;
}

void IoTable::DropSpares() {
  for (const Spare& s : spares_) napi_delete_reference(env_, s.ref);
  spares_.clear();
}

napi_value IoTable::TakeOwned(napi_env env, size_t i) {
  if (i >= owned_end_ - owned_begin_) return nullptr;
  uv_buf_t& b = owned_[owned_begin_ + i];
  if (b.base == nullptr) return nullptr;
  napi_value buf = nullptr;
  // JS owns the bytes from here: V8 frees them with the Buffer. Where external buffers are not
  // allowed (a V8 sandbox), they are copied instead. A failed call means the environment is
  // going away: what JS was not given is freed with the rest after the iteration (or with the
  // table).
  if (napi_create_external_buffer(env, b.len, b.base, [](napi_env, void* p, void*) { std::free(p); }, nullptr,
                                  &buf) == napi_ok) {
    b.base = nullptr;
  } else if (napi_create_buffer_copy(env, b.len, b.base, nullptr, &buf) != napi_ok) {
    return nullptr;
  }
  return buf;
}

void IoTable::OnClose(uv_handle_t* handle) {
  IoHandle* h = static_cast<IoHandle*>(handle->data);
  if (h->kind == kPoll) ClosePollFd(h);
  h->table->Emit(h->id, kEvClosed);
  h->table->Forget(h);
}

void IoTable::Forget(IoHandle* h) {
  LoopCore* core = this->core;
  const size_t slot = static_cast<size_t>(h->id & kSlotMask);
  slots_[slot] = nullptr;
  generations_[slot] = (generations_[slot] + 1) & kGenerationMask;
  free_.push_back(static_cast<int32_t>(slot));
  delete h;
  core->HandleClosed();  // may delete the core, and this table with it
}

uv_buf_t IoTable::ArenaSlice(size_t max) {
  const size_t left = arena_size_ - arena_used_;
  if (left < kMinRead) return uv_buf_init(nullptr, 0);
  return uv_buf_init(reinterpret_cast<char*>(arena_ + arena_used_), static_cast<unsigned int>(std::min(left, max)));
}

// --- the JS class -------------------------------------------------------------------------------

// Random: tells an Io made by this addon from any other object (call.h).
const napi_type_tag NativeIo::kTypeTag = {0x2d71b9e04c8a4f15ULL, 0xa6f03d5e91c7b248ULL};

napi_value NativeIo::Define(napi_env env) {
  const napi_property_descriptor methods[] = {
      MethodProperty<NativeIo, &NativeIo::More>("more", "Io.more"),
      MethodProperty<NativeIo, &NativeIo::Owned>("owned", "Io.owned"),
      MethodProperty<NativeIo, &NativeIo::Supply>("supply", "Io.supply"),
      MethodProperty<NativeIo, &NativeIo::Write>("write", "Io.write"),
      MethodProperty<NativeIo, &NativeIo::Queued>("queued", "Io.queued"),
      MethodProperty<NativeIo, &NativeIo::WatchDrain>("watchDrain", "Io.watchDrain"),
      MethodProperty<NativeIo, &NativeIo::Shutdown>("shutdown", "Io.shutdown"),
      MethodProperty<NativeIo, &NativeIo::Close>("close", "Io.close"),
      MethodProperty<NativeIo, &NativeIo::SetReading>("setReading", "Io.setReading"),
      MethodProperty<NativeIo, &NativeIo::Connect>("connect", "Io.connect"),
      MethodProperty<NativeIo, &NativeIo::Listen>("listen", "Io.listen"),
      MethodProperty<NativeIo, &NativeIo::SetNoDelay>("setNoDelay", "Io.setNoDelay"),
      MethodProperty<NativeIo, &NativeIo::SetKeepAlive>("setKeepAlive", "Io.setKeepAlive"),
      MethodProperty<NativeIo, &NativeIo::Address>("address", "Io.address"),
      MethodProperty<NativeIo, &NativeIo::PipeConnect>("pipeConnect", "Io.pipeConnect"),
      MethodProperty<NativeIo, &NativeIo::PipeListen>("pipeListen", "Io.pipeListen"),
      MethodProperty<NativeIo, &NativeIo::PipeAddress>("pipeAddress", "Io.pipeAddress"),
      MethodProperty<NativeIo, &NativeIo::SetAccepting>("setAccepting", "Io.setAccepting"),
      MethodProperty<NativeIo, &NativeIo::UdpBind>("udpBind", "Io.udpBind"),
      MethodProperty<NativeIo, &NativeIo::UdpConnect>("udpConnect", "Io.udpConnect"),
      MethodProperty<NativeIo, &NativeIo::UdpSetBroadcast>("udpSetBroadcast", "Io.udpSetBroadcast"),
      MethodProperty<NativeIo, &NativeIo::UdpSend>("udpSend", "Io.udpSend"),
      MethodProperty<NativeIo, &NativeIo::UdpClose>("udpClose", "Io.udpClose"),
      MethodProperty<NativeIo, &NativeIo::Spawn>("spawn", "Io.spawn"),
      MethodProperty<NativeIo, &NativeIo::ProcessKill>("processKill", "Io.processKill"),
      MethodProperty<NativeIo, &NativeIo::PollOpen>("pollOpen", "Io.pollOpen"),
      MethodProperty<NativeIo, &NativeIo::PollSet>("pollSet", "Io.pollSet"),
      MethodProperty<NativeIo, &NativeIo::PollClose>("pollClose", "Io.pollClose"),
      MethodProperty<NativeIo, &NativeIo::OpenFd>("openFd", "Io.openFd"),
  };
  return DefineClass(env, kClassName, New, methods);
}

namespace {

/** Event records per chunk JS may ask for (4 int32 each), and the read arena's bounds. */
constexpr int32_t kMaxEventCapacity = 1 << 20;
constexpr int32_t kMinArena = 2 * kMaxDatagram;
constexpr int32_t kMaxArena = 1 << 30;

}  // namespace

// new Io(loop, eventCapacity, arenaSize): the TS side validates; these checks keep a wrong call
// from the raw binding from crashing the process.
napi_value NativeIo::New(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  napi_value target = nullptr;
  if (napi_get_new_target(env, info, &target) != napi_ok) return nullptr;
  if (target == nullptr) {
    c.TypeError("cannot be invoked without 'new'");
    return nullptr;
  }
  if (c.argc() < 1) {
    c.TypeError("loop (argument 1) must be a Loop");
    return nullptr;
  }
  NativeLoop* loop = Unwrap<NativeLoop>(c, c.arg(0), "loop (argument 1)");
  if (loop == nullptr) return nullptr;
  int32_t event_capacity;
  int32_t arena_size;
  if (!c.Int(1, "eventCapacity", 1, kMaxEventCapacity, &event_capacity) ||
      !c.Int(2, "arenaSize", kMinArena, kMaxArena, &arena_size)) {
    return nullptr;
  }
  if (loop->core == nullptr || loop->core->closed() || loop->core->io != nullptr) {
    ThrowError(env, "Io: the loop is closed or already has its Io");
    return nullptr;
  }
  uv_loop_t* uv = nullptr;
  if (napi_get_uv_event_loop(env, &uv) != napi_ok || uv == nullptr) return nullptr;
  // Laid out as state (kIoStateLength int32), events (4 int32 a record), arena.
  const size_t events_off = 4 * kIoStateLength;
  const size_t events_len = 4 * static_cast<size_t>(event_capacity);
  const size_t arena_off = events_off + 4 * events_len;
  napi_value buffer;
  SharedMemory* memory = SharedMemory::New(env, arena_off + static_cast<size_t>(arena_size), &buffer);
  if (memory == nullptr) {
    ThrowError(env, "Io: cannot allocate its shared memory");
    return nullptr;
  }
  const napi_value views[] = {
      SharedMemory::View(env, buffer, napi_int32_array, 0, kIoStateLength),
      SharedMemory::View(env, buffer, napi_int32_array, events_off, events_len),
      SharedMemory::View(env, buffer, napi_uint8_array, arena_off, static_cast<size_t>(arena_size)),
  };
  const char* names[] = {"state", "events", "arena"};
  napi_property_descriptor props[3];
  for (size_t i = 0; i < 3; ++i) {
    props[i] = napi_property_descriptor{names[i], nullptr, nullptr, nullptr, nullptr, views[i], napi_enumerable, nullptr};
  }
  NativeIo* self = new NativeIo();
  self->env_ = env;
  if (views[0] == nullptr || views[1] == nullptr || views[2] == nullptr ||
      napi_define_properties(env, c.self(), 3, props) != napi_ok ||
      napi_create_reference(env, c.arg(0), 1, &self->loop_ref_) != napi_ok) {
    delete self;
    memory->Release();
    return nullptr;
  }
  self->loop_ = loop;
  if (!Wrap(env, c.self(), self)) {
    memory->Release();
    return nullptr;
  }
  uint8_t* base = memory->data();
  IoTable* table = new IoTable(loop->core, uv, reinterpret_cast<int32_t*>(base), reinterpret_cast<int32_t*>(base + events_off),
                               events_len, base + arena_off, static_cast<size_t>(arena_size));
  table->env_ = env;
  loop->core->AttachIo(table, memory);
  return c.self();
}

NativeIo::~NativeIo() {
  if (loop_ref_ != nullptr) napi_delete_reference(env_, loop_ref_);
}

IoTable* NativeIo::Table() const {
  LoopCore* core = loop_ != nullptr ? loop_->core : nullptr;
  return core == nullptr || core->closed() ? nullptr : core->io;
}

bool NativeIo::CheckKind(Call& c, IoTable* t, int32_t id, unsigned kinds, const char* expected) {
  static const char* const kNames[] = {"a TCP socket", "a Unix socket", "a UDP socket", "a process", "a poll handle"};
  const int kind = t->KindOf(id);
  if (kind < 0 || (kinds & (1u << kind)) != 0) return true;
  return c.TypeError("id " + std::to_string(id) + " is " + kNames[kind] + ", not " + expected);
}

bool FamilyArg(Call& c, size_t i, int32_t* family) {
  if (!c.Int(i, "family", 4, 6, family)) return false;
  if (*family == 5) return c.RangeError("family must be 4 or 6, not 5");
  return true;
}

napi_value NativeIo::More(Call& c) {
  IoTable* t = Table();
  return c.Number(t == nullptr ? 0 : t->WriteEvents());
}

// owned(i) → the Buffer of this chunk's READ_OWNED record i (io.h), once; undefined after that.
// One call per record, not one for the chunk: a Buffer made only when its record is handled dies
// young, where a chunk's worth made at once lives through the scavenges the handling of the
// earlier records brings and is promoted (freed only by major GCs).
napi_value NativeIo::Owned(Call& c) {
  int32_t i;
  if (!c.Int(0, "i", 0, INT32_MAX, &i)) return nullptr;
  IoTable* t = Table();
  napi_value out = t != nullptr ? t->TakeOwned(c.env(), static_cast<size_t>(i)) : nullptr;
  return out != nullptr ? out : c.Undefined();
}

// supply(buf, token): a spare read buffer (io.h); false when C++ holds too many already.
napi_value NativeIo::Supply(Call& c) {
  const uint8_t* data;
  size_t length;
  int32_t token;
  if (!c.Bytes(0, "buf", &data, &length) || !c.Int(1, "token", 0, INT32_MAX, &token)) return nullptr;
  if (length == 0) {
    c.RangeError("Io.supply: buf must not be empty");
    return nullptr;
  }
  IoTable* t = Table();
  bool taken = t != nullptr && t->Supply(c.arg(0), token);
  napi_value out = nullptr;
  napi_get_boolean(c.env(), taken, &out);
  return out;
}

int ParseAddr(const char* host, int family, int port, sockaddr_storage* out) {
  if (family == 6) return uv_ip6_addr(host, port, reinterpret_cast<sockaddr_in6*>(out));
  return uv_ip4_addr(host, port, reinterpret_cast<sockaddr_in*>(out));
}

// errName(errno) → [code, message]
napi_value ErrName(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int32_t err;
  if (!c.ok() || !c.Int(0, "errno", INT32_MIN, INT32_MAX, &err)) return nullptr;
  // The _r forms: uv_err_name allocates (and leaks) a string for an errno it does not know.
  char code[64] = "UNKNOWN";
  char text[256] = "unknown error";
  if (err < 0) {
    uv_err_name_r(err, code, sizeof(code));
    uv_strerror_r(err, text, sizeof(text));
  }
  napi_value out;
  napi_value s;
  if (napi_create_array_with_length(env, 2, &out) != napi_ok) return nullptr;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &s) != napi_ok || napi_set_element(env, out, 0, s) != napi_ok) {
    return nullptr;
  }
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &s) != napi_ok || napi_set_element(env, out, 1, s) != napi_ok) {
    return nullptr;
  }
  return out;
}

}  // namespace aloop
