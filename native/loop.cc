// The native loop core; the handle plan is in loop.h, the shared memory in shared.h.
#include "loop.h"

#include <algorithm>
#include <limits>

#include "shared.h"

namespace aloop {

LoopCore::LoopCore(Napi::Env env, InstanceData* instance, uv_loop_t* uv, Napi::Function callback,
                   Napi::Int32Array state, Napi::Int32Array op_ids, Napi::Float64Array op_when, Napi::Int32Array due,
                   double virtual_start)
    : env_(env),
      instance_(instance),
      uv_(uv),
      callback_(Napi::Persistent(callback)),
      state_(state.Data()),
      op_ids_(op_ids.Data()),
      op_when_(op_when.Data()),
      due_(due.Data()),
      op_capacity_(std::min(op_ids.ElementLength(), op_when.ElementLength())),
      due_capacity_(due.ElementLength()),
      virtual_(virtual_start == virtual_start),  // not NaN
      vtick_(virtual_ ? TimerWheel::KeyOf(virtual_start) : 0),
      wheel_(virtual_ ? vtick_ : NowTick()) {
  buffers_[0] = Napi::Persistent(Napi::Object(state));
  buffers_[1] = Napi::Persistent(Napi::Object(op_ids));
  buffers_[2] = Napi::Persistent(Napi::Object(op_when));
  buffers_[3] = Napi::Persistent(Napi::Object(due));
  napi_value name;
  napi_create_string_utf8(env, "aloop.NativeEventLoop", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, Napi::Object::New(env), name, &async_context_);

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
// dropped without close() can be collected; its finalizer then closes the handles.
void LoopCore::UpdateRef() {
  const bool active = pending_ || timer_on_;
  if (active == strong_) return;
  strong_ = active;
  if (active) {
    callback_.Ref();
  } else {
    callback_.Unref();
  }
}

void LoopCore::Wake() {
  if (closed_) return;
  woken_ = true;
  pending_ = true;
  SetIdle(true);
  UpdateRef();
}

void LoopCore::Schedule(int32_t next) {
  if (closed_) return;
  ApplyOps();
  UpdateHandles(next);
}

void LoopCore::ApplyOps() {
  const size_t n = std::min(static_cast<size_t>(std::max(state_[kNops], 0)), op_capacity_);
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = op_ids_[i];
    if (id >= 0) {
      wheel_.Insert(id, op_when_[i]);
    } else {
      wheel_.Cancel(~id);
    }
  }
  state_[kNops] = 0;
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
    WriteDue();
    if (io != nullptr) io->WriteEvents();
    state_[kNext] = kNextStopped;
    state_[kInDispatch] = 1;
    {
      Napi::HandleScope scope(env_);
      napi_value recv;
      napi_value result;
      napi_get_global(env_, &recv);  // napi_make_callback wants an object receiver
      const napi_status status = napi_make_callback(env_, async_context_, recv, callback_.Value(), 0, nullptr, &result);
      if (status != napi_ok) {
        bool pending = false;
        napi_is_exception_pending(env_, &pending);
        if (pending) {
          napi_value error;
          napi_get_and_clear_last_exception(env_, &error);
          if (!instance_->tearing_down) napi_fatal_exception(env_, error);
        }
      }
    }
    if (closed_) return;  // JS closed the loop during the iteration
    state_[kInDispatch] = 0;
    if (io != nullptr) io->AfterIteration();
    ApplyOps();
    const int32_t next = state_[kNext];
    if (next == kNextReady && chained < kMaxChained && uv_hrtime() - start < kChainNs) {
      woken_ = true;
      continue;
    }
    UpdateHandles(next);
    return;
  }
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
  callback_.Reset();
  for (auto& ref : buffers_) ref.Reset();
  if (io != nullptr) io->CloseAll();
  io_buffers_.clear();
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

void LoopCore::AttachIo(IoTable* table, std::initializer_list<Napi::Object> buffers) {
  io = table;
  for (const Napi::Object& b : buffers) io_buffers_.push_back(Napi::Persistent(b));
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

Napi::Function NativeLoop::Define(Napi::Env env) {
  return DefineClass(env, "Loop",
                     {
                         InstanceMethod<&NativeLoop::Wake>("wake"),
                         InstanceMethod<&NativeLoop::Schedule>("schedule"),
                         InstanceMethod<&NativeLoop::Flush>("flush"),
                         InstanceMethod<&NativeLoop::More>("more"),
                         InstanceMethod<&NativeLoop::Jump>("jump"),
                         InstanceMethod<&NativeLoop::Close>("close"),
                     });
}

// new Loop(onIterate, state, opIds, opWhen, due, virtualStart?): the TS side validates; these
// checks only keep a wrong call from crashing the process. A number `virtualStart` makes a
// virtual-time loop whose clock starts there.
NativeLoop::NativeLoop(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeLoop>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsFunction() || !info[1].IsTypedArray() || !info[2].IsTypedArray() ||
      !info[3].IsTypedArray() || !info[4].IsTypedArray() ||
      info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[2].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[3].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[4].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      info[1].As<Napi::TypedArray>().ElementLength() < kStateLength) {
    Napi::TypeError::New(env, "Loop(onIterate, state: Int32Array, opIds: Int32Array, opWhen: Float64Array, due: Int32Array)")
        .ThrowAsJavaScriptException();
    return;
  }
  uv_loop_t* uv = nullptr;
  if (napi_get_uv_event_loop(env, &uv) != napi_ok || uv == nullptr) {
    Napi::Error::New(env, "cannot get the libuv loop of this environment").ThrowAsJavaScriptException();
    return;
  }
  double virtual_start = std::numeric_limits<double>::quiet_NaN();
  if (info.Length() > 5 && info[5].IsNumber()) {
    virtual_start = info[5].As<Napi::Number>().DoubleValue();
    if (!(virtual_start >= 0 && virtual_start < 1e15)) {
      Napi::RangeError::New(env, "virtualStart must be a number of seconds from 0 to 1e15").ThrowAsJavaScriptException();
      return;
    }
  }
  InstanceData* instance = env.GetInstanceData<InstanceData>();
  core = new LoopCore(env, instance, uv, info[0].As<Napi::Function>(), info[1].As<Napi::Int32Array>(),
                      info[2].As<Napi::Int32Array>(), info[3].As<Napi::Float64Array>(), info[4].As<Napi::Int32Array>(),
                      virtual_start);
  core->owner = this;
}

NativeLoop::~NativeLoop() {
  // Collected without close(): close the handles now; the core frees itself after.
  if (core != nullptr) {
    core->owner = nullptr;
    core->Close();
  }
}

Napi::Value NativeLoop::Wake(const Napi::CallbackInfo& info) {
  if (core != nullptr) core->Wake();
  return info.Env().Undefined();
}

Napi::Value NativeLoop::Schedule(const Napi::CallbackInfo& info) {
  if (core != nullptr) core->Schedule(info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : kNextStopped);
  return info.Env().Undefined();
}

Napi::Value NativeLoop::Flush(const Napi::CallbackInfo& info) {
  if (core != nullptr && !core->closed()) core->ApplyOps();
  return info.Env().Undefined();
}

Napi::Value NativeLoop::More(const Napi::CallbackInfo& info) {
  const int32_t n = core != nullptr && !core->closed() ? core->WriteDue() : 0;
  return Napi::Number::New(info.Env(), n);
}

// jump(limit): `limit` in seconds; Infinity for no limit.
Napi::Value NativeLoop::Jump(const Napi::CallbackInfo& info) {
  const double limit = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  return Napi::Boolean::New(info.Env(), core != nullptr && core->Jump(limit));
}

Napi::Value NativeLoop::Close(const Napi::CallbackInfo& info) {
  if (core != nullptr) core->Close();
  return info.Env().Undefined();
}

}  // namespace aloop
