// TCP on uv_tcp_t: connect, bind and listen, options, addresses (UDP sockets' too). Accepting is
// listen.cc's; reading, writing and closing are the stream code's (stream.cc); the plan is in io.h.
#include <cstring>
#include <string>

#include "io.h"
#include "loop.h"

namespace aloop {

// --- connecting and listening -------------------------------------------------------------------

// Connect returns a failure of the local bind as (libuv error - kBindFailed): below every libuv
// error (> -4096), so JS (src/loops/native/tcp.ts, BIND_FAILED) can name the syscall that failed.
constexpr int32_t kBindFailed = 1 << 16;

// The port `tcp` is bound to (0 if it is not bound).
static int BoundPort(uv_tcp_t* tcp) {
  sockaddr_storage ss;
  int len = sizeof(ss);
  if (uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return 0;
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  return 0;
}

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
    if (err == 0 && local_port > 0 && BoundPort(&h->uv.tcp) != local_port) {
      // libuv defers bind's EADDRINUSE to the connect, which then binds some other port and
      // fails later as a connect error: check the port now, as Node's net does (checkBindError).
      err = UV_EADDRINUSE;
    }
    // The caller reports a failed bind as Node does ('bind', the local address), not as a
    // failed connect: tell it apart by the bias (see kBindFailed).
    if (err < 0) err -= kBindFailed;
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
  const int port = InetName(ss, name);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::String::New(env, name));
  out.Set(1u, Napi::Number::New(env, port));
  return out;
}

int InetName(const sockaddr_storage& ss, char (&name)[INET6_ADDRSTRLEN + 1]) {
  if (ss.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    uv_ip6_name(a, name, sizeof(name));
    return ntohs(a->sin6_port);
  }
  const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&ss);
  uv_ip4_name(a, name, sizeof(name));
  return ntohs(a->sin_port);
}

// --- the JS methods ------------------------------------------------------------------------------

// connect(host, family, port, localHost | null, localPort, noDelay) → id, a libuv error, or a
// bind error - kBindFailed
napi_value NativeIo::Connect(Call& c) {
  std::string host;
  std::string local;
  bool has_local;
  int32_t family;
  int32_t port;
  int32_t local_port;
  bool nodelay;
  if (!c.String(0, "host", &host) || !FamilyArg(c, 1, &family) || !PortArg(c, 2, "port", &port) ||
      !c.StringOrNull(3, "localHost", &local, &has_local) || !PortArg(c, 4, "localPort", &local_port) ||
      !c.Bool(5, "noDelay", &nodelay)) {
    return nullptr;
  }
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  return c.Number(t->Connect(host.c_str(), family, port, has_local ? local.c_str() : nullptr, local_port, nodelay));
}

// listen(host, family, port, backlog, ipv6Only) → id or a libuv error
napi_value NativeIo::Listen(Call& c) {
  std::string host;
  int32_t family;
  int32_t port;
  int32_t backlog;
  bool ipv6only;
  if (!c.String(0, "host", &host) || !FamilyArg(c, 1, &family) || !PortArg(c, 2, "port", &port) ||
      !c.Int(3, "backlog", 0, INT32_MAX, &backlog) || !c.Bool(4, "ipv6Only", &ipv6only)) {
    return nullptr;
  }
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  return c.Number(t->Listen(host.c_str(), family, port, backlog, ipv6only));
}

napi_value NativeIo::SetNoDelay(Call& c) {
  int32_t id;
  bool on;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "on", &on)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kTcpOnly, "a TCP socket")) return nullptr;
  return c.Number(t->SetNoDelay(id, on));
}

// setKeepAlive(id, on, delaySeconds)
napi_value NativeIo::SetKeepAlive(Call& c) {
  int32_t id;
  bool on;
  int32_t delay;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "on", &on) || !c.Int(2, "delaySeconds", 0, INT32_MAX, &delay)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kTcpOnly, "a TCP socket")) return nullptr;
  return c.Number(t->SetKeepAlive(id, on, delay));
}

// address(id, peer) → [host, port] or a libuv error (TCP and UDP sockets)
napi_value NativeIo::Address(Call& c) {
  int32_t id;
  bool peer;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "peer", &peer)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kTcpOnly | kUdpOnly, "a TCP or UDP socket (pipeAddress names Unix sockets)")) return nullptr;
  return t->Address(Napi::Env(c.env()), id, peer);
}

}  // namespace aloop
