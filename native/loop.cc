// The native loop core; the handle plan is in loop.h, the shared memory in shared.h.
#include "loop.h"

#include <algorithm>
#include <limits>

#include "shared.h"

namespace aloop {

LoopCore::LoopCore(napi_env env, InstanceData* instance, uv_loop_t* uv, napi_value callback, SharedMemory* memory,
                   const LoopLayout& layout, double virtual_start)
    : env_(env),
      instance_(instance),
      uv_(uv),
      memory_{memory},
      state_(reinterpret_cast<int32_t*>(memory->data() + layout.state)),
      op_ids_(reinterpret_cast<int32_t*>(memory->data() + layout.op_ids)),
      op_when_(reinterpret_cast<double*>(memory->data() + layout.op_when)),
      due_(reinterpret_cast<int32_t*>(memory->data() + layout.due)),
      op_capacity_(layout.op_capacity),
      due_capacity_(layout.due_capacity),
      virtual_(virtual_start == virtual_start),  // not NaN
      vtick_(virtual_ ? TimerWheel::KeyOf(virtual_start) : 0),
      wheel_(virtual_ ? vtick_ : NowTick()) {
  napi_create_reference(env, callback, 1, &callback_);
  napi_value name;
  napi_create_string_utf8(env, "aloop.NativeEventLoop", NAPI_AUTO_LENGTH, &name);
  napi_value resource;
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &async_context_);

  uv_check_init(uv_, &check_);
  uv_idle_init(uv_, &idle_);
  uv_timer_init(uv_, &timer_);
  check_.data = idle_.data = timer_.data = this;
  // The check handle only looks for pending work; it never keeps the process alive.
  uv_check_start(&check_, OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  instance_->open_handles += handles_open_;
  instance_->live.insert(this);
  UpdateRef();
}

// While nothing is pending the callback (and through it the JS loop) is held weakly, so a loop
// dropped without close() can be collected; its finalizer then closes the handles. The Loop
// object itself holds the callback (NativeLoop::New), so it cannot go before the Loop does.
void LoopCore::UpdateRef() {
  const bool active = pending_ || timer_on_;
  if (active == strong_ || callback_ == nullptr) return;
  strong_ = active;
  if (active) {
    napi_reference_ref(env_, callback_, nullptr);
  } else {
    napi_reference_unref(env_, callback_, nullptr);
  }
}

void LoopCore::Wake() {
  if (closed_) return;
  woken_ = true;
  pending_ = true;
  SetIdle(true);
  UpdateRef();
}

bool LoopCore::Schedule(int32_t next) {
  if (closed_) return true;
  const bool valid = ApplyOps();
  UpdateHandles(next);
  return valid;
}

LoopCore::~LoopCore() {
  delete io;
  for (SharedMemory* m : memory_) m->Release();
}

bool LoopCore::ApplyOps() {
  const size_t n = std::min(static_cast<size_t>(std::max(state_[kNops], 0)), op_capacity_);
  bool valid = true;
  for (size_t i = 0; i < n; ++i) {
    const int32_t op = op_ids_[i];
    // The wheel keeps a table indexed by id: an id from a raw caller must not size it.
    const int32_t id = op >= 0 ? op : ~op;
    if (id >= kMaxTimers) {
      valid = false;
      continue;
    }
    if (op >= 0) {
      wheel_.Insert(id, op_when_[i]);
    } else {
      wheel_.Cancel(id);
    }
  }
  state_[kNops] = 0;
  return valid;
}

int32_t LoopCore::WriteDue() {
  const size_t left = due_pending_.size() - due_pos_;
  const size_t n = std::min(left, due_capacity_);
  std::copy_n(due_pending_.begin() + static_cast<std::ptrdiff_t>(due_pos_), n, due_);
  due_pos_ += n;
  const bool more = due_pos_ < due_pending_.size();
  if (!more) {
    due_pending_.clear();
    due_pos_ = 0;
  }
  state_[kDueCount] = static_cast<int32_t>(n);
  state_[kDueMore] = more ? 1 : 0;
  return static_cast<int32_t>(n);
}

void LoopCore::OnCheck(uv_check_t* handle) {
  LoopCore* self = static_cast<LoopCore*>(handle->data);
  if (self->io != nullptr) self->io->AfterPoll();
  if (self->pending_) self->RunIteration();
}

void LoopCore::OnIdle(uv_idle_t*) {
  // Only there so that poll does not block while work is ready.
}

void LoopCore::OnTimer(uv_timer_t* handle) {
  LoopCore* self = static_cast<LoopCore*>(handle->data);
  self->timer_on_ = false;
  self->timer_deadline_ = UINT64_MAX;
  // Iterate in the check phase, after poll, so that I/O and timers reach JS together.
  self->pending_ = true;
  self->SetIdle(true);
  self->UpdateRef();
}

// Like the pure loop: while work stays ready, up to this many iterations follow each other
// within one check callback, for at most kChainNs, before Node's loop (and poll) gets a turn.
// Measured here: a chain of 300k callSoon costs ~2.1 us per iteration with one libuv turn each.
static constexpr int kMaxChained = 64;
static constexpr uint64_t kChainNs = 2'000'000;

void LoopCore::RunIteration() {
  const uint64_t start = uv_hrtime();
  for (int chained = 1;; ++chained) {
    pending_ = false;
    const bool woken = woken_;
    woken_ = false;
    ApplyOps();
    wheel_.Advance(Now(), due_pending_);
    if (!woken && due_pending_.empty()) {
      // The timer woke us before anything was due (libuv's clock is coarser): wait again
      // without calling into JS.
      SetIdle(false);
      ArmTimer();
      UpdateRef();
      return;
    }
    if (!Dispatch()) return;
    const int32_t next = state_[kNext];
    if (next == kNextReady && chained < kMaxChained && uv_hrtime() - start < kChainNs) {
      woken_ = true;
      continue;
    }
    UpdateHandles(next);
    return;
  }
}

void LoopCore::DeliverNow() {
  // Not from inside a JS iteration (reads happen only in libuv's poll phase, but a nested run of
  // libuv from JS must not re-enter the dispatch), and not once JS closed the loop.
  if (closed_ || state_[kInDispatch] != 0) return;
  pending_ = false;
  woken_ = false;
  ApplyOps();
  wheel_.Advance(Now(), due_pending_);
  if (!Dispatch()) return;
  UpdateHandles(state_[kNext]);
}

bool LoopCore::Dispatch() {
  WriteDue();
  if (io != nullptr) io->WriteEvents();
  state_[kNext] = kNextStopped;
  state_[kInDispatch] = 1;
  napi_handle_scope scope = nullptr;
  if (napi_open_handle_scope(env_, &scope) == napi_ok) {
    napi_value recv = nullptr;
    napi_value callback = nullptr;
    napi_value result;
    napi_get_global(env_, &recv);  // napi_make_callback wants an object receiver
    napi_get_reference_value(env_, callback_, &callback);
    // No callback: the Loop object was collected with it and its finalizer (which closes this
    // core) has not run yet; there is nobody to call.
    const napi_status status =
        callback == nullptr ? napi_ok : napi_make_callback(env_, async_context_, recv, callback, 0, nullptr, &result);
    if (status != napi_ok) {
      // A JS exception goes to process 'uncaughtException', as Node's own callbacks' do. When
      // the environment is terminating (worker.terminate()) there is nothing to report, and
      // napi_fatal_exception, like every call that needs JS, fails quietly.
      bool pending = false;
      napi_value error;
      if (napi_is_exception_pending(env_, &pending) == napi_ok && pending &&
          napi_get_and_clear_last_exception(env_, &error) == napi_ok && !instance_->tearing_down) {
        napi_fatal_exception(env_, error);
      }
    }
    napi_close_handle_scope(env_, scope);
  }
  if (closed_) return false;  // JS closed the loop during the iteration
  state_[kInDispatch] = 0;
  if (io != nullptr) io->AfterIteration();
  ApplyOps();
  return true;
}

void LoopCore::UpdateHandles(int32_t next) {
  if (next == kNextReady) {
    woken_ = true;
    pending_ = true;
  }
  SetIdle(pending_);
  if (next == kNextStopped || wheel_.size() == 0) {
    StopTimer();
  } else if (!pending_) {
    ArmTimer();
  }
  UpdateRef();
}

void LoopCore::SetIdle(bool on) {
  if (on == idle_on_) return;
  idle_on_ = on;
  if (on) {
    uv_idle_start(&idle_, OnIdle);
  } else {
    uv_idle_stop(&idle_);
  }
}

void LoopCore::ArmTimer() {
  if (virtual_) return;  // virtual timers fire when JS jumps the clock, never by real time
  const uint64_t deadline = wheel_.NextDeadline();
  if (deadline == UINT64_MAX) {
    StopTimer();
    return;
  }
  if (timer_on_ && deadline == timer_deadline_) return;
  const uint64_t now = NowTick();
  // libuv timers count whole milliseconds of a coarser clock: round up, and an early wake-up
  // finds nothing due and re-arms (RunIteration).
  const uint64_t ms = deadline <= now ? 0 : (deadline - now + 999) / 1000;
  uv_timer_start(&timer_, OnTimer, ms, 0);
  timer_on_ = true;
  timer_deadline_ = deadline;
}

bool LoopCore::Jump(double limit) {
  if (!virtual_ || closed_) return false;
  ApplyOps();
  if (!due_pending_.empty()) return true;
  // KeyOf(limit) fires what is due by `limit`, and what falls in the same microsecond after it
  // (the wheel's resolution); JS moves its clock to the last `when` fired. Saturated keys
  // (`Infinity`, ~146,000 years) never fire, as on the real clock.
  const uint64_t cap = limit == limit ? std::min(TimerWheel::KeyOf(limit), TimerWheel::kMaxKey - 1) : 0;
  while (due_pending_.empty()) {
    const uint64_t deadline = wheel_.NextDeadline();
    if (deadline == UINT64_MAX || deadline > cap) return false;
    // A deadline may only cascade a slot to lower levels; the next one is later.
    if (deadline > vtick_) vtick_ = deadline;
    wheel_.Advance(vtick_, due_pending_);
  }
  return true;
}

void LoopCore::StopTimer() {
  if (!timer_on_) return;
  uv_timer_stop(&timer_);
  timer_on_ = false;
  timer_deadline_ = UINT64_MAX;
}

void LoopCore::Close() {
  if (closed_) return;
  closed_ = true;
  pending_ = false;
  instance_->live.erase(this);
  instance_->closing++;
  if (callback_ != nullptr) {
    napi_delete_reference(env_, callback_);
    callback_ = nullptr;
  }
  if (io != nullptr) io->CloseAll();
  if (async_context_ != nullptr) {
    napi_async_destroy(env_, async_context_);
    async_context_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), OnClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), OnClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnClose);
}

void LoopCore::OnClose(uv_handle_t* handle) {
  static_cast<LoopCore*>(handle->data)->HandleClosed();
}

void LoopCore::AttachIo(IoTable* table, SharedMemory* memory) {
  io = table;
  memory_.push_back(memory);
}

void LoopCore::HandleOpened() {
  handles_open_++;
  instance_->open_handles++;
}

void LoopCore::HandleClosed() {
  instance_->open_handles--;
  if (--handles_open_ > 0) return;
  // Every handle is closed: libuv no longer touches this memory.
  if (owner != nullptr) owner->core = nullptr;
  InstanceData* instance = instance_;
  delete this;
  instance->closing--;
  instance->LoopClosed();
}

// --- the JS class -----------------------------------------------------------------------------

namespace {

/**
 * Argument `i` as seconds: absent/undefined leaves `*out`; else a number in [0, 1e15) (or
 * Infinity, if `infinite`): TypeError for another type, RangeError for another number.
 */
bool OptionalSeconds(Call& c, size_t i, const char* what, double* out, bool infinite = false) {
  napi_value v = c.arg(i);
  napi_valuetype type = napi_undefined;
  if (v == nullptr || napi_typeof(c.env(), v, &type) != napi_ok || type == napi_undefined) return true;
  double d = 0;
  if (type != napi_number || napi_get_value_double(c.env(), v, &d) != napi_ok) {
    return c.TypeError(std::string(what) + " must be a number");
  }
  if (!((d >= 0 && d < 1e15) || (infinite && d == std::numeric_limits<double>::infinity()))) {
    return c.RangeError(std::string(what) + " must be a number of seconds from 0 to 1e15");
  }
  *out = d;
  return true;
}

}  // namespace

// Random: tells a Loop made by this addon from any other object (call.h).
const napi_type_tag NativeLoop::kTypeTag = {0x8f3c2a51d04e4b7aULL, 0x9b1e6c0f27d5a3e4ULL};

napi_value NativeLoop::Define(napi_env env) {
  const napi_property_descriptor methods[] = {
      MethodProperty<NativeLoop, &NativeLoop::Wake>("wake", "Loop.wake"),
      MethodProperty<NativeLoop, &NativeLoop::Schedule>("schedule", "Loop.schedule"),
      MethodProperty<NativeLoop, &NativeLoop::Flush>("flush", "Loop.flush"),
      MethodProperty<NativeLoop, &NativeLoop::More>("more", "Loop.more"),
      MethodProperty<NativeLoop, &NativeLoop::Jump>("jump", "Loop.jump"),
      MethodProperty<NativeLoop, &NativeLoop::Close>("close", "Loop.close"),
  };
  return DefineClass(env, kClassName, New, methods);
}

// new Loop(onIterate, opCapacity, dueCapacity, virtualStart?): the TS side validates; these checks
// keep a wrong call from the raw binding from crashing the process. A number `virtualStart` makes
// a virtual-time loop (aloop/testing) whose clock starts there.
napi_value NativeLoop::New(napi_env env, napi_callback_info info) {
  Call c(env, info);
  if (!c.ok()) return nullptr;
  napi_value target = nullptr;
  if (napi_get_new_target(env, info, &target) != napi_ok) return nullptr;
  if (target == nullptr) {
    c.TypeError("cannot be invoked without 'new'");
    return nullptr;
  }
  napi_value callback;
  int32_t op_capacity;
  int32_t due_capacity;
  if (!c.Function(0, "onIterate", &callback) || !c.Int(1, "opCapacity", 1, kMaxOpCapacity, &op_capacity) ||
      !c.Int(2, "dueCapacity", 1, kMaxDueCapacity, &due_capacity)) {
    return nullptr;
  }
  double virtual_start = std::numeric_limits<double>::quiet_NaN();
  if (!OptionalSeconds(c, 3, "virtualStart", &virtual_start)) return nullptr;
  uv_loop_t* uv = nullptr;
  InstanceData* instance = nullptr;
  if (napi_get_uv_event_loop(env, &uv) != napi_ok || uv == nullptr ||
      napi_get_instance_data(env, reinterpret_cast<void**>(&instance)) != napi_ok || instance == nullptr) {
    ThrowError(env, "Loop: this environment has no libuv loop");
    return nullptr;
  }
  const LoopLayout layout(static_cast<size_t>(op_capacity), static_cast<size_t>(due_capacity));
  napi_value buffer;
  SharedMemory* memory = SharedMemory::New(env, layout.bytes, &buffer);
  if (memory == nullptr) {
    ThrowError(env, "Loop: cannot allocate its shared memory");
    return nullptr;
  }
  const napi_value views[] = {
      SharedMemory::View(env, buffer, napi_int32_array, layout.state, kStateLength),
      SharedMemory::View(env, buffer, napi_int32_array, layout.op_ids, layout.op_capacity),
      SharedMemory::View(env, buffer, napi_float64_array, layout.op_when, layout.op_capacity),
      SharedMemory::View(env, buffer, napi_int32_array, layout.due, layout.due_capacity),
  };
  const char* names[] = {"state", "opIds", "opWhen", "due"};
  napi_property_descriptor props[5];
  for (size_t i = 0; i < 4; ++i) {
    props[i] = napi_property_descriptor{names[i], nullptr, nullptr, nullptr, nullptr, views[i], napi_enumerable, nullptr};
  }
  // The Loop object holds its callback (read-only, not enumerable): C++'s reference is weak while
  // nothing is pending (LoopCore::UpdateRef), and a callback nothing else held (a raw caller's
  // arrow function) was collected by the next GC; the Loop then never called JS again. Held
  // here it lives as long as the Loop, and a Loop dropped without close() still goes with it.
  props[4] = napi_property_descriptor{"onIterate", nullptr, nullptr, nullptr, nullptr, callback, napi_default, nullptr};
  NativeLoop* self = new NativeLoop();
  if (views[0] == nullptr || views[1] == nullptr || views[2] == nullptr || views[3] == nullptr ||
      napi_define_properties(env, c.self(), 5, props) != napi_ok || !Wrap(env, c.self(), self)) {
    memory->Release();
    return nullptr;
  }
  self->core = new LoopCore(env, instance, uv, callback, memory, layout, virtual_start);
  self->core->owner = self;
  return c.self();
}

NativeLoop::~NativeLoop() {
  // Collected without close() (or the environment ends): close the handles now; the core frees
  // itself after.
  if (core != nullptr) {
    core->owner = nullptr;
    core->Close();
  }
}

napi_value NativeLoop::Wake(Call& c) {
  if (core != nullptr) core->Wake();
  return c.Undefined();
}

napi_value NativeLoop::Schedule(Call& c) {
  int32_t next;
  if (!c.Int(0, "next", kNextStopped, kNextWait, &next)) return nullptr;
  if (core != nullptr && !core->Schedule(next)) {
    c.RangeError("a timer op names an id out of [0, " + std::to_string(kMaxTimers) + ")");
  }
  return c.Undefined();
}

napi_value NativeLoop::Flush(Call& c) {
  if (core != nullptr && !core->closed() && !core->ApplyOps()) {
    c.RangeError("a timer op names an id out of [0, " + std::to_string(kMaxTimers) + ")");
  }
  return c.Undefined();
}

napi_value NativeLoop::More(Call& c) {
  const int32_t n = core != nullptr && !core->closed() ? core->WriteDue() : 0;
  return c.Number(n);
}

// jump(limit): `limit` in seconds (Infinity: no limit) → whether timers are now due (loop.h)
napi_value NativeLoop::Jump(Call& c) {
  double limit = 0;
  if (!OptionalSeconds(c, 0, "limit", &limit, true)) return nullptr;
  napi_value out = nullptr;
  napi_get_boolean(c.env(), core != nullptr && core->Jump(limit), &out);
  return out;
}

napi_value NativeLoop::Close(Call& c) {
  if (core != nullptr) core->Close();
  return c.Undefined();
}

}  // namespace aloop
