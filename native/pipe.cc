// Unix domain sockets on uv_pipe_t: connect, bind and listen, addresses. Accepting is listen.cc's;
// reading, writing and closing are the stream code's (stream.cc); the plan is in io.h.
//
// The plain uv_pipe_bind/uv_pipe_connect (not the *2 variants of libuv 1.46) so the addon loads
// on every Node 20; TS rejects paths longer than sun_path before they get here, so nothing is
// truncated silently.
#ifndef _WIN32
#include <sys/un.h>
#endif

#include <string>

#include "io.h"
#include "loop.h"

namespace aloop {

int32_t IoTable::PipeConnect(const char* path) {
  IoHandle* h = NewHandle(kPipe, false);
  // Errors (ENOENT, ECONNREFUSED, ...) arrive in OnConnect, like TCP's.
  uv_pipe_connect(&h->connect_req, &h->uv.pipe, path, OnConnect);
  return h->id;
}

int32_t IoTable::PipeListen(const char* path, int backlog) {
  IoHandle* h = NewHandle(kPipe, true);
  int err = uv_pipe_bind(&h->uv.pipe, path);
  if (err == 0) err = StartListening(h, backlog);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  return h->id;
}

Napi::Value IoTable::PipeAddress(Napi::Env env, int32_t id, bool peer) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kPipe) return Napi::Number::New(env, UV_EBADF);
  // sun_path is at most 108 bytes; libuv reports UV_ENOBUFS with the size it needs otherwise.
  char buf[256];
  size_t len = sizeof(buf);
  const int err = peer ? uv_pipe_getpeername(&h->uv.pipe, buf, &len) : uv_pipe_getsockname(&h->uv.pipe, buf, &len);
  if (err < 0) return Napi::Number::New(env, err);
  return Napi::String::New(env, buf, len);
}

// --- the JS methods ------------------------------------------------------------------------------

namespace {

#ifdef _WIN32
constexpr size_t kMaxPath = 256;
#else
constexpr size_t kMaxPath = sizeof(sockaddr_un{}.sun_path);
#endif

/** A Unix socket path libuv takes whole: shorter than sun_path (the pre-1.46 calls truncate). */
bool PathArg(Call& c, size_t i, std::string* path) {
  if (!c.String(i, "path", path)) return false;
  if (path->size() >= kMaxPath) return c.RangeError("path must be shorter than " + std::to_string(kMaxPath) + " bytes");
  return true;
}

}  // namespace

// pipeConnect(path) → id (the outcome comes as a CONNECT event) or a libuv error
napi_value NativeIo::PipeConnect(Call& c) {
  std::string path;
  if (!PathArg(c, 0, &path)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  return c.Number(t->PipeConnect(path.c_str()));
}

// pipeListen(path, backlog) → id or a libuv error
napi_value NativeIo::PipeListen(Call& c) {
  std::string path;
  int32_t backlog;
  if (!PathArg(c, 0, &path) || !c.Int(1, "backlog", 0, INT32_MAX, &backlog)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  return c.Number(t->PipeListen(path.c_str(), backlog));
}

// pipeAddress(id, peer) → the path ('' when unnamed) or a libuv error
napi_value NativeIo::PipeAddress(Call& c) {
  int32_t id;
  bool peer;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "peer", &peer)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kPipeOnly, "a Unix socket")) return nullptr;
  return t->PipeAddress(Napi::Env(c.env()), id, peer);
}

}  // namespace aloop
