// fd readiness on uv_poll_t: the loop's addReader/addWriter and the waits of the low-level socket
// API (sockRecv & co. try the syscall first and only on EAGAIN wait here, as uvloop does). The
// plan of the I/O table is in io.h.
//
// libuv allows one poll handle per fd (a second uv_poll_init on a watched fd is UV_EEXIST), so one
// handle carries both interests: JS (src/loops/native/poll.ts) keeps the reader and the writer of
// each fd and sets the union of what they want with PollSet; with neither it closes the handle.
// Readiness goes the batched way, a kEvPoll record per callback: epoll is level-triggered, so an
// fd JS leaves ready is reported again next iteration, never lost.
//
// uv_poll_init accepts any fd a program names (asyncio's add_reader takes any fd too). What it
// refuses it refuses with an error, not a crash: EBADF for a closed fd, EPERM for a regular file
// (epoll cannot poll it).
//
// The handle watches a duplicate of the fd (F_DUPFD_CLOEXEC), closed with the handle. libuv
// registers an fd with epoll only at its next poll phase, and aborts the process if epoll_ctl
// fails then (EBADF, ENOENT): a program that closes its fd while a reader is on it (or in the
// same tick it added one) would take the process down. The duplicate keeps the open file alive
// for as long as the handle is, whatever the program does with its own fd number; readiness is
// the open file's, so watching the duplicate is watching the fd.
#include <cerrno>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

#include "io.h"
#include "loop.h"

namespace aloop {

int32_t IoTable::PollOpen(int fd) {
#ifndef _WIN32
  const int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return -errno;
#else
  const int dup = fd;
#endif
  IoHandle* h = NewHandle(kPoll, false);
  const int err = uv_poll_init(uv_, &h->uv.poll, dup);
  if (err < 0) {
#ifndef _WIN32
    close(dup);
#endif
    Forget(h);  // never initialised: nothing for uv_close to do
    return err;
  }
  h->uv.handle.data = h;  // uv_poll_init cleared the handle
  h->poll_fd = dup;
  return h->id;
}

void IoTable::ClosePollFd(IoHandle* h) {
#ifndef _WIN32
  // After uv_close: libuv has taken the fd out of epoll already (uv__platform_invalidate_fd).
  if (h->poll_fd >= 0) close(h->poll_fd);
#endif
  h->poll_fd = -1;
}

int32_t IoTable::PollSet(int32_t id, int events) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kPoll) return UV_EBADF;
  if (events == 0) return uv_poll_stop(&h->uv.poll);
  return uv_poll_start(&h->uv.poll, events, OnPoll);
}

void IoTable::PollClose(int32_t id) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->kind != kPoll) return;
  StartClose(h);
}

void IoTable::OnPoll(uv_poll_t* poll, int status, int events) {
  IoHandle* h = static_cast<IoHandle*>(poll->data);
  // An error (EBADF: the fd was closed under the watch) is reported once; the watch stops, JS
  // hands the error to whoever waits and closes the handle.
  if (status < 0) uv_poll_stop(poll);
  h->table->Emit(h->id, kEvPoll, status < 0 ? status : (events & (UV_READABLE | UV_WRITABLE)));
}

// --- the JS methods ------------------------------------------------------------------------------

// pollOpen(fd) → id or a libuv error
napi_value NativeIo::PollOpen(Call& c) {
  int32_t fd;
  if (!c.Int(0, "fd", 0, INT32_MAX, &fd)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  return c.Number(t->PollOpen(fd));
}

// pollSet(id, events) → 0 or a libuv error
napi_value NativeIo::PollSet(Call& c) {
  int32_t id;
  int32_t events;
  if (!IdArg(c, 0, &id) || !c.Int(1, "events", 0, UV_READABLE | UV_WRITABLE, &events)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kPollOnly, "a poll handle")) return nullptr;
  return c.Number(t->PollSet(id, events));
}

// pollClose(id)
napi_value NativeIo::PollClose(Call& c) {
  int32_t id;
  if (!IdArg(c, 0, &id)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Undefined();
  if (!CheckKind(c, t, id, kPollOnly, "a poll handle")) return nullptr;
  t->PollClose(id);
  return c.Undefined();
}

}  // namespace aloop
