// Listening sockets (uv_tcp_t and uv_pipe_t alike): our own accept loop on a uv_poll_t instead of
// uv_listen's. The plan of the I/O table is in io.h.
//
// Why not uv_listen: libuv meets EMFILE/ENFILE on accept with its "EMFILE trick": it closes a
// spare descriptor, accepts every pending connection, closes each at once and tells nobody (Node
// keeps that spare open, so this is what a Node server does); and if the spare is gone it calls
// back with the error in a loop that never ends. asyncio instead reports "socket.accept() out of
// system resource", stops accepting for ACCEPT_RETRY_DELAY (1 s) and resumes, the connections
// waiting in the kernel's backlog meanwhile (base_events/selector_events `_accept_connection`).
// Here C++ stops watching the socket and emits the error; JS reports it and resumes after the
// delay (loops/io/server.ts). Owning the loop also lets a listener take nothing off its backlog
// until the server serves (createServer's startServing: false).
//
// A listener is bound and listening from the start (its address is known, clients can connect);
// SetAccepting(id, true) starts the readiness watch. Each wake-up accepts at most kMaxAccepts
// connections, so one busy listener cannot hold the iteration (asyncio takes `backlog` at most).
#include <cerrno>

#ifndef _WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#include "io.h"
#include "loop.h"

namespace aloop {

/** A listener's readiness watch: a uv handle of its own, closed just before the listener. */
struct AcceptPoll {
  uv_poll_t poll;
  IoHandle* listener;
  LoopCore* core;
};

namespace {

constexpr int kMaxAccepts = 128;

#ifndef _WIN32
/** Out of descriptors or memory: asyncio's "out of system resource" errors. */
bool IsResourceError(int err) {
  return err == UV_EMFILE || err == UV_ENFILE || err == UV_ENOBUFS || err == UV_ENOMEM;
}

/** accept() a connection of listening socket `fd`: a non-blocking close-on-exec fd, or -errno. */
int AcceptFd(int fd) {
  int c;
  do {
#ifdef __linux__
    c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    c = accept(fd, nullptr, nullptr);
    if (c >= 0) fcntl(c, F_SETFD, FD_CLOEXEC);
#endif
  } while (c < 0 && errno == EINTR);
  return c >= 0 ? c : -errno;
}
#endif

}  // namespace

#ifndef _WIN32

int IoTable::StartListening(IoHandle* h, int backlog) {
  // uv_tcp_bind keeps EADDRINUSE for uv_listen to report (libuv's delayed_error); listen() on
  // the unbound socket would pick a free port instead.
  if (h->kind == kTcp && h->uv.stream.delayed_error < 0) return h->uv.stream.delayed_error;
  uv_os_fd_t fd;
  int err = uv_fileno(&h->uv.handle, &fd);
  if (err < 0) return err;
  if (listen(fd, backlog) != 0) return -errno;
  AcceptPoll* ap = new AcceptPoll();
  err = uv_poll_init_socket(uv_, &ap->poll, fd);
  if (err < 0) {
    delete ap;
    return err;
  }
  ap->listener = h;
  ap->core = core;
  ap->poll.data = ap;
  h->accept_poll = ap;
  core->HandleOpened();
  return 0;
}

void IoTable::UpdateAccepting(IoHandle* h) {
  AcceptPoll* ap = h->accept_poll;
  if (ap == nullptr) return;
  const bool want = h->accepting && !h->closing;
  if (!want) {
    uv_poll_stop(&ap->poll);
    return;
  }
  const int err = uv_poll_start(&ap->poll, UV_READABLE, OnAcceptable);
  if (err < 0) {
    h->accepting = false;
    Emit(h->id, kEvError, err, kSysAccept);
  }
}

void IoTable::OnAcceptable(uv_poll_t* poll, int status, int) {
  IoHandle* s = static_cast<AcceptPoll*>(poll->data)->listener;
  IoTable* self = s->table;
  if (status < 0) {
    // The watch itself failed: report it and stop (JS resumes after the retry delay).
    s->accepting = false;
    self->UpdateAccepting(s);
    self->Emit(s->id, kEvError, status, kSysAccept);
    return;
  }
  self->AcceptPending(s);
}

void IoTable::AcceptPending(IoHandle* s) {
  uv_os_fd_t fd;
  if (uv_fileno(&s->uv.handle, &fd) < 0) return;
  for (int i = 0; i < kMaxAccepts && s->accepting && !s->closing; ++i) {
    const int c = AcceptFd(fd);
    if (c >= 0) {
      Adopt(s, c);
      continue;
    }
    if (c == -EAGAIN || c == -EWOULDBLOCK) return;
    // The peer gave up before we took it (asyncio ignores ConnectionAbortedError too).
    if (c == UV_ECONNABORTED) continue;
    if (IsResourceError(c)) {
      // Nothing is accepted until JS resumes: no spin on a socket that stays readable.
      s->accepting = false;
      UpdateAccepting(s);
    }
    Emit(s->id, kEvError, c, kSysAccept);
    return;
  }
}

void IoTable::Adopt(IoHandle* s, int fd) {
  IoHandle* c = NewHandle(s->kind, false);
  const int err = c->kind == kTcp ? uv_tcp_open(&c->uv.tcp, fd) : uv_pipe_open(&c->uv.pipe, fd);
  if (err < 0) {
    close(fd);
    StartClose(c);
    Emit(s->id, kEvError, err, kSysAccept);
    return;
  }
  if (c->kind == kTcp) uv_tcp_nodelay(&c->uv.tcp, 1);
  c->connected = true;
  Emit(s->id, kEvAccept, c->id);
  UpdateReading(c);
}

#else  // _WIN32: libuv's own accept (no EMFILE trick there); pausing stops handing connections out.

namespace {
void OnConnection(uv_stream_t* server, int status) {
  IoHandle* s = static_cast<IoHandle*>(server->data);
  if (status < 0) return;
  if (s->accepting) s->table->SetAccepting(s->id, true);
}
}  // namespace

int IoTable::StartListening(IoHandle* h, int backlog) { return uv_listen(h->stream(), backlog, OnConnection); }

void IoTable::UpdateAccepting(IoHandle* h) {
  if (h->accepting && !h->closing) AcceptPending(h);
}

void IoTable::OnAcceptable(uv_poll_t*, int, int) {}

void IoTable::AcceptPending(IoHandle* s) {
  for (int i = 0; i < kMaxAccepts && s->accepting && !s->closing; ++i) {
    IoHandle* c = NewHandle(s->kind, false);
    const int err = uv_accept(s->stream(), c->stream());
    if (err < 0) {
      StartClose(c);
      if (err != UV_EAGAIN) Emit(s->id, kEvError, err, kSysAccept);
      return;
    }
    if (c->kind == kTcp) uv_tcp_nodelay(&c->uv.tcp, 1);
    c->connected = true;
    Emit(s->id, kEvAccept, c->id);
    UpdateReading(c);
  }
}

void IoTable::Adopt(IoHandle*, int) {}

#endif  // _WIN32

int32_t IoTable::SetAccepting(int32_t id, bool on) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing) return UV_EBADF;
  if (!h->listener) return UV_EINVAL;
  h->accepting = on;
  UpdateAccepting(h);
  return 0;
}

void IoTable::CloseAcceptPoll(IoHandle* h) {
  AcceptPoll* ap = h->accept_poll;
  if (ap == nullptr) return;
  h->accept_poll = nullptr;
  // Stops the watch now (the fd is the listener's, closed right after); freed in the callback.
  uv_close(reinterpret_cast<uv_handle_t*>(&ap->poll), OnAcceptPollClose);
}

void IoTable::OnAcceptPollClose(uv_handle_t* handle) {
  AcceptPoll* ap = static_cast<AcceptPoll*>(handle->data);
  LoopCore* core = ap->core;
  delete ap;
  core->HandleClosed();  // may delete the core
}

// --- the JS methods ------------------------------------------------------------------------------

// setAccepting(id, on) → 0 or a libuv error (UV_EBADF: no such handle; UV_EINVAL: not a listener)
napi_value NativeIo::SetAccepting(Call& c) {
  int32_t id;
  bool on;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "on", &on)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kAnyStream, "a TCP or Unix listener")) return nullptr;
  return c.Number(t->SetAccepting(id, on));
}

}  // namespace aloop
