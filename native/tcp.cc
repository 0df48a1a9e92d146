// TCP on uv_tcp_t: connect, bind and listen, options, addresses (UDP sockets' too). Accepting is
// listen.cc's; reading, writing and closing are the stream code's (stream.cc); the plan is in io.h.
#include <cstring>

#include "io.h"
#include "loop.h"

namespace aloop {

// --- connecting and listening -------------------------------------------------------------------

int32_t IoTable::Connect(const char* host, int family, int port, const char* local_host, int local_port, bool nodelay) {
  sockaddr_storage addr;
  int err = ParseAddr(host, family, port, &addr);
  if (err < 0) return err;
  IoHandle* h = NewHandle(kTcp, false);
  if (nodelay) uv_tcp_nodelay(&h->uv.tcp, 1);
  if (local_host != nullptr) {
    sockaddr_storage local;
    err = ParseAddr(local_host, family, local_port, &local);
    if (err == 0) err = uv_tcp_bind(&h->uv.tcp, reinterpret_cast<sockaddr*>(&local), 0);
  }
  if (err == 0) err = uv_tcp_connect(&h->connect_req, &h->uv.tcp, reinterpret_cast<sockaddr*>(&addr), OnConnect);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  return h->id;
}

int32_t IoTable::Listen(const char* host, int family, int port, int backlog, bool ipv6only) {
  sockaddr_storage addr;
  int err = ParseAddr(host, family, port, &addr);
  if (err < 0) return err;
  IoHandle* h = NewHandle(kTcp, true);
  err = uv_tcp_bind(&h->uv.tcp, reinterpret_cast<sockaddr*>(&addr), family == 6 && ipv6only ? UV_TCP_IPV6ONLY : 0);
  if (err == 0) err = StartListening(h, backlog);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  return h->id;
}

// --- options and addresses ----------------------------------------------------------------------

int32_t IoTable::SetNoDelay(int32_t id, bool on) {
  IoHandle* h = Get(id);
  return h == nullptr || h->closing ? UV_EBADF : uv_tcp_nodelay(&h->uv.tcp, on ? 1 : 0);
}

int32_t IoTable::SetKeepAlive(int32_t id, bool on, int delay) {
  IoHandle* h = Get(id);
  return h == nullptr || h->closing ? UV_EBADF : uv_tcp_keepalive(&h->uv.tcp, on ? 1 : 0, static_cast<unsigned int>(delay));
}

Napi::Value IoTable::Address(Napi::Env env, int32_t id, bool peer) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing) return Napi::Number::New(env, UV_EBADF);
  sockaddr_storage ss;
  sockaddr* sa = reinterpret_cast<sockaddr*>(&ss);
  int len = sizeof(ss);
  int err;
  if (h->kind == kUdp) err = peer ? uv_udp_getpeername(&h->uv.udp, sa, &len) : uv_udp_getsockname(&h->uv.udp, sa, &len);
  else err = peer ? uv_tcp_getpeername(&h->uv.tcp, sa, &len) : uv_tcp_getsockname(&h->uv.tcp, sa, &len);
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

// --- the JS methods ------------------------------------------------------------------------------

// connect(host, family, port, localHost | null, localPort, noDelay) → id or a libuv error
Napi::Value NativeIo::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, UV_EBADF);
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  const bool has_local = info[3].IsString();
  const std::string local = has_local ? info[3].As<Napi::String>().Utf8Value() : std::string();
  return Napi::Number::New(env, t->Connect(host.c_str(), info[1].As<Napi::Number>().Int32Value(),
                                           info[2].As<Napi::Number>().Int32Value(), has_local ? local.c_str() : nullptr,
                                           info[4].As<Napi::Number>().Int32Value(), info[5].ToBoolean().Value()));
}

// listen(host, family, port, backlog, ipv6Only) → id or a libuv error
Napi::Value NativeIo::Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(env, UV_EBADF);
  const std::string host = info[0].As<Napi::String>().Utf8Value();
  return Napi::Number::New(env, t->Listen(host.c_str(), info[1].As<Napi::Number>().Int32Value(),
                                          info[2].As<Napi::Number>().Int32Value(),
                                          info[3].As<Napi::Number>().Int32Value(), info[4].ToBoolean().Value()));
}

Napi::Value NativeIo::SetNoDelay(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? UV_EBADF
                                                    : t->SetNoDelay(info[0].As<Napi::Number>().Int32Value(),
                                                                    info[1].ToBoolean().Value()));
}

Napi::Value NativeIo::SetKeepAlive(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  return Napi::Number::New(info.Env(), t == nullptr ? UV_EBADF
                                                    : t->SetKeepAlive(info[0].As<Napi::Number>().Int32Value(),
                                                                      info[1].ToBoolean().Value(),
                                                                      info[2].As<Napi::Number>().Int32Value()));
}

// address(id, peer) → [host, port] or a libuv error
Napi::Value NativeIo::Address(const Napi::CallbackInfo& info) {
  IoTable* t = Table();
  if (t == nullptr) return Napi::Number::New(info.Env(), UV_EBADF);
  return t->Address(info.Env(), info[0].As<Napi::Number>().Int32Value(), info[1].ToBoolean().Value());
}

}  // namespace aloop
