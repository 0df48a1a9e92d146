// Unix domain sockets on uv_pipe_t: connect, bind and listen, addresses. Accepting is listen.cc's;
// reading, writing and closing are the stream code's (stream.cc); the plan is in io.h.
//
// The plain uv_pipe_bind/uv_pipe_connect (not the *2 variants of libuv 1.46) so the addon loads
// on every Node 20; TS rejects paths longer than sun_path before they get here, so nothing is
// truncated silently.
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

// pipeConnect(path) → id (the outcome comes as a CONNECT event) or a libuv error
Napi::Value NativeIo::PipeConnect(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(info.Env(), UV_EBADF);
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), t->PipeConnect(path.c_str()));
}

// pipeListen(path, backlog) → id or a libuv error
Napi::Value NativeIo::PipeListen(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(info.Env(), UV_EBADF);
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(info.Env(), t->PipeListen(path.c_str(), info[1].As<Napi::Number>().Int32Value()));
}

// pipeAddress(id, peer) → the path ('' when unnamed) or a libuv error
Napi::Value NativeIo::PipeAddress(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(info.Env(), UV_EBADF);
  return t->PipeAddress(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
}

}  // namespace aloop
