// The syscalls of the low-level socket API (src/socket.ts, src/loops/native/sock.ts): real OS
// sockets, non-blocking and close-on-exec from birth. Not a libuv handle kind: a Socket belongs to
// no loop until one uses it, so these are plain functions of the addon. Waiting is not theirs
// either: each call tries once and returns -EAGAIN (or -EINPROGRESS) when it would block; JS then
// waits for readiness on the fd's uv_poll_t (poll.cc) and tries again, as uvloop does.
//
// Every function takes an fd, and an fd is only ever one this addon made (socket or accept4) and
// has not closed or handed over: the set below. Anything else is EBADF, so the raw binding cannot
// be used to close, read or write an fd that is not a Socket's (libuv's epoll fd, Node's sockets).
// The set is process-wide, as fds are, and guarded by a mutex for worker threads.
//
// Each returns >= 0 or a negative errno (on Unix libuv's error codes are -errno, so JS names them
// with errName like every other native error).
#ifndef _WIN32
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_set>

#include "io.h"
#include "loop.h"

namespace aloop {

#ifndef _WIN32

namespace {

std::mutex g_mutex;
std::unordered_set<int>* g_fds = new std::unordered_set<int>();  // never freed: outlives every thread

bool Owned(int fd) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_fds->count(fd) != 0;
}

void Own(int fd) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_fds->insert(fd);
}

/** Stops owning `fd`; false if it was not ours. */
bool Disown(int fd) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_fds->erase(fd) != 0;
}

/** family 1 (AF_UNIX), 2 (AF_INET) or 10 (AF_INET6), as Linux numbers them (and src/socket.ts). */
bool DomainArg(Call& c, size_t i, int* domain) {
  int32_t f;
  if (!c.Int(i, "family", 0, 64, &f)) return false;
  if (f != 1 && f != 2 && f != 10) return c.RangeError("family must be AF_UNIX (1), AF_INET (2) or AF_INET6 (10)");
  *domain = f == 1 ? AF_UNIX : f == 2 ? AF_INET : AF_INET6;
  return true;
}

/**
 * Arguments (i: family, i+1: host or path, i+2: port) as a sockaddr. False after a throw; else
 * *err is 0, or -EINVAL for a host that is no IP literal of the family (JS resolves names first),
 * or -ENAMETOOLONG for a path longer than sun_path.
 */
bool AddrArgs(Call& c, size_t i, sockaddr_storage* ss, socklen_t* len, int* err) {
  int domain = 0;
  std::string host;
  int32_t port;
  if (!DomainArg(c, i, &domain) || !c.String(i + 1, "address", &host) || !PortArg(c, i + 2, "port", &port)) return false;
  std::memset(ss, 0, sizeof(*ss));
  *err = 0;
  if (domain == AF_UNIX) {
    sockaddr_un* un = reinterpret_cast<sockaddr_un*>(ss);
    if (host.size() >= sizeof(un->sun_path)) {
      *err = -ENAMETOOLONG;
      return true;
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, host.data(), host.size());
    *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + host.size() + 1);
    return true;
  }
  *err = ParseAddr(host.c_str(), domain == AF_INET6 ? 6 : 4, port, ss);
  *len = domain == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  return true;
}

/** [a, b], or nullptr if N-API failed. */
napi_value Pair(napi_env env, napi_value a, napi_value b) {
  napi_value out;
  if (napi_create_array_with_length(env, 2, &out) != napi_ok || napi_set_element(env, out, 0, a) != napi_ok ||
      napi_set_element(env, out, 1, b) != napi_ok) {
    return nullptr;
  }
  return out;
}

/** A sockaddr as JS sees addresses: [host, port] for IP, the path ('' if unnamed) for Unix. */
napi_value AddrValue(napi_env env, const sockaddr_storage& ss, socklen_t len) {
  napi_value out = nullptr;
  if (ss.ss_family == AF_UNIX) {
    const sockaddr_un* un = reinterpret_cast<const sockaddr_un*>(&ss);
    const size_t off = offsetof(sockaddr_un, sun_path);
    size_t n = len > off ? len - off : 0;
    n = strnlen(un->sun_path, std::min(n, sizeof(un->sun_path)));
    napi_create_string_utf8(env, un->sun_path, n, &out);
    return out;
  }
  char name[INET6_ADDRSTRLEN + 1] = {0};
  const int port = InetName(ss, name);
  napi_value host, p;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &host) != napi_ok || napi_create_int32(env, port, &p) != napi_ok) {
    return nullptr;
  }
  return Pair(env, host, p);
}

/**
 * TCP_NODELAY on a TCP socket (a no-op on others), as every aloop transport and Node's server
 * sockets have it: a reply that takes two segments must not wait on the peer's delayed ACK.
 * (Python leaves a raw socket as the OS makes it; there, programs set it with setsockopt.)
 */
void NoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/** Retries a syscall interrupted by a signal; its result, or -errno. */
template <typename F>
ssize_t Retry(F f) {
  ssize_t r;
  do r = f();
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : r;
}

/**
 * A call of a socket* function that takes an fd (argument 0, read first): the fd, and the error
 * to answer instead of making the syscall. That is -EBADF for an fd not of ours, then an address
 * the family cannot hold (Addr); it is answered only after every argument passed its checks, so
 * misuse throws the same whatever the fd.
 */
class FdCall : public Call {
 public:
  FdCall(napi_env env, napi_callback_info info) : Call(env, info) {
    read_ = Call::ok() && Int(0, "fd", INT32_MIN, INT32_MAX, &fd);
    if (read_ && !Owned(fd)) err = -EBADF;
  }

  /** The fd was read; false after a throw. */
  bool ok() const { return read_; }

  /** Arguments i, i+1, i+2 as AddrArgs reads them. */
  bool Addr(size_t i, sockaddr_storage* ss, socklen_t* len) {
    int aerr;
    if (!AddrArgs(*this, i, ss, len, &aerr)) return false;
    if (err == 0) err = aerr;
    return true;
  }

  int32_t fd = -1;
  /** Negative: answer it; the syscall is not made. */
  int err = 0;

 private:
  bool read_ = false;
};

// socketOpen(family, type) → fd or -errno. type: 1 SOCK_STREAM, 2 SOCK_DGRAM.
napi_value SocketOpen(napi_env env, napi_callback_info info) {
  Call c(env, info);
  int domain = 0;
  int32_t type;
  if (!c.ok() || !DomainArg(c, 0, &domain) || !c.Int(1, "type", 1, 2, &type)) return nullptr;
  const int t = (type == 1 ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC;
  const int fd = socket(domain, t, 0);
  if (fd < 0) return c.Number(-errno);
  Own(fd);
  return c.Number(fd);
}

// socketBind(fd, family, host | path, port) → 0 or -errno
napi_value SocketBind(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!c.ok() || !c.Addr(1, &ss, &len)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  return c.Number(bind(c.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? 0 : -errno);
}

// socketListen(fd, backlog) → 0 or -errno
napi_value SocketListen(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  int32_t backlog;
  if (!c.ok() || !c.Int(1, "backlog", 0, INT32_MAX, &backlog)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  return c.Number(listen(c.fd, backlog) == 0 ? 0 : -errno);
}

// socketConnect(fd, family, host | path, port) → 0, -EINPROGRESS (wait for writability, then
// socketError), or -errno
napi_value SocketConnect(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  sockaddr_storage ss;
  socklen_t len = 0;
  if (!c.ok() || !c.Addr(1, &ss, &len)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  if (ss.ss_family != AF_UNIX) NoDelay(c.fd);
  // EINTR: the connect goes on in the background, as EINPROGRESS (POSIX); not retried.
  if (connect(c.fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) return c.Number(0);
  return c.Number(errno == EINTR ? -EINPROGRESS : -errno);
}

// socketError(fd) → the pending error (SO_ERROR) as -errno, or 0
napi_value SocketError(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  if (!c.ok()) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  int value = 0;
  socklen_t len = sizeof(value);
  if (getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &value, &len) != 0) return c.Number(-errno);
  return c.Number(-value);
}

// socketAccept(fd) → the new connection's fd (non-blocking, close-on-exec) or -errno
napi_value SocketAccept(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  if (!c.ok()) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  const ssize_t r = Retry([&] { return accept4(c.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC); });
  if (r >= 0) {
    Own(static_cast<int>(r));
    NoDelay(static_cast<int>(r));
  }
  return c.Number(static_cast<double>(r));
}

// socketRecv(fd, bytes) → bytes read into `bytes` (0 at EOF) or -errno. The pointer is used
// during this call only.
napi_value SocketRecv(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  const uint8_t* data;
  size_t len;
  if (!c.ok() || !c.Bytes(1, "buffer", &data, &len)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  uint8_t* p = const_cast<uint8_t*>(data);
  return c.Number(static_cast<double>(Retry([&] { return recv(c.fd, p, len, 0); })));
}

// socketSend(fd, bytes) → bytes sent or -errno (no SIGPIPE: EPIPE instead)
napi_value SocketSend(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  const uint8_t* data;
  size_t len;
  if (!c.ok() || !c.Bytes(1, "data", &data, &len)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  return c.Number(static_cast<double>(Retry([&] { return send(c.fd, data, len, MSG_NOSIGNAL); })));
}

// socketRecvfrom(fd, bytes) → [n, address] or -errno
napi_value SocketRecvfrom(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  const uint8_t* data;
  size_t len;
  if (!c.ok() || !c.Bytes(1, "buffer", &data, &len)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  sockaddr_storage ss;
  socklen_t alen = sizeof(ss);
  std::memset(&ss, 0, sizeof(ss));
  uint8_t* p = const_cast<uint8_t*>(data);
  const ssize_t r = Retry([&] { return recvfrom(c.fd, p, len, 0, reinterpret_cast<sockaddr*>(&ss), &alen); });
  if (r < 0) return c.Number(static_cast<double>(r));
  napi_value addr = AddrValue(env, ss, alen);
  return addr == nullptr ? nullptr : Pair(env, c.Number(static_cast<double>(r)), addr);
}

// socketSendto(fd, bytes, family, host | path, port) → bytes sent or -errno
napi_value SocketSendto(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  const uint8_t* data;
  size_t len;
  sockaddr_storage ss;
  socklen_t alen = 0;
  if (!c.ok() || !c.Bytes(1, "data", &data, &len) || !c.Addr(2, &ss, &alen)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  return c.Number(static_cast<double>(
      Retry([&] { return sendto(c.fd, data, len, MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&ss), alen); })));
}

// socketName(fd, peer) → the socket's (or peer's) address ([host, port] or a path) or -errno
napi_value SocketName(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  bool peer;
  if (!c.ok() || !c.Bool(1, "peer", &peer)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  std::memset(&ss, 0, sizeof(ss));
  sockaddr* sa = reinterpret_cast<sockaddr*>(&ss);
  const int r = peer ? getpeername(c.fd, sa, &len) : getsockname(c.fd, sa, &len);
  if (r != 0) return c.Number(-errno);
  return AddrValue(env, ss, len);
}

// socketShutdown(fd, how) → 0 or -errno; how: 0 SHUT_RD, 1 SHUT_WR, 2 SHUT_RDWR
napi_value SocketShutdown(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  int32_t how;
  if (!c.ok() || !c.Int(1, "how", 0, 2, &how)) return nullptr;
  if (c.err < 0) return c.Number(c.err);
  return c.Number(shutdown(c.fd, how) == 0 ? 0 : -errno);
}

// socketClose(fd) → 0 or -errno. The fd is no longer ours whatever close says (POSIX leaves it
// unspecified after EINTR; Linux has closed it).
napi_value SocketClose(napi_env env, napi_callback_info info) {
  FdCall c(env, info);
  if (!c.ok()) return nullptr;
  if (c.err < 0 || !Disown(c.fd)) return c.Number(-EBADF);
  return c.Number(close(c.fd) == 0 || errno == EINTR ? 0 : -errno);
}

}  // namespace

bool TakeSocketFd(int fd) { return Disown(fd); }

int32_t IoTable::OpenFd(HandleKind kind, int fd, bool listener, int backlog) {
  IoHandle* h = NewHandle(kind, listener);
  int err = kind == kTcp ? uv_tcp_open(&h->uv.tcp, fd) : kind == kPipe ? uv_pipe_open(&h->uv.pipe, fd) : uv_udp_open(&h->uv.udp, fd);
  if (err < 0) {
    close(fd);  // not the handle's: uv_close would leave it open
    StartClose(h);
    return err;
  }
  if (listener) {
    err = StartListening(h, backlog);  // listen() again on a listening socket only sets the backlog
    if (err < 0) {
      StartClose(h);
      return err;
    }
    return h->id;
  }
  if (kind == kUdp) {
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    h->family = getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6 ? 6 : 4;
    h->js_reading = false;  // as UdpBind: JS asks once its endpoint is ready
  } else if (kind == kTcp) {
    uv_tcp_nodelay(&h->uv.tcp, 1);  // as every transport's (listen.cc Adopt)
  }
  h->connected = true;
  UpdateReading(h);
  return h->id;
}

// openFd(fd, kind, listener, backlog) → id, or a libuv error (UV_EBADF: not a socket of the
// low-level API). kind: 0 TCP, 1 Unix, 2 UDP (HandleKind).
napi_value NativeIo::OpenFd(Call& c) {
  int32_t fd, kind, backlog;
  bool listener;
  if (!c.Int(0, "fd", INT32_MIN, INT32_MAX, &fd) || !c.Int(1, "kind", 0, 2, &kind) || !c.Bool(2, "listener", &listener) ||
      !c.Int(3, "backlog", 0, INT32_MAX, &backlog)) {
    return nullptr;
  }
  if (listener && kind == kUdp) return c.Number(UV_EINVAL);
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!TakeSocketFd(fd)) return c.Number(UV_EBADF);
  return c.Number(t->OpenFd(static_cast<HandleKind>(kind), fd, listener, backlog));
}

void DefineSocketFunctions(napi_env env, napi_value exports) {
  struct Fn {
    const char* name;
    napi_callback cb;
  };
  static const Fn kFns[] = {
      {"socketOpen", SocketOpen},       {"socketBind", SocketBind},       {"socketListen", SocketListen},
      {"socketConnect", SocketConnect}, {"socketError", SocketError},     {"socketAccept", SocketAccept},
      {"socketRecv", SocketRecv},       {"socketSend", SocketSend},       {"socketRecvfrom", SocketRecvfrom},
      {"socketSendto", SocketSendto},   {"socketName", SocketName},       {"socketShutdown", SocketShutdown},
      {"socketClose", SocketClose},
  };
  for (const Fn& f : kFns) {
    napi_value fn;
    // The name doubles as the prefix of the function's error messages (call.h).
    if (napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, const_cast<char*>(f.name), &fn) != napi_ok) return;
    if (napi_set_named_property(env, exports, f.name, fn) != napi_ok) return;
  }
}

#else

void DefineSocketFunctions(napi_env, napi_value) {}
bool TakeSocketFd(int) { return false; }
int32_t IoTable::OpenFd(HandleKind, int, bool, int) { return UV_ENOSYS; }
napi_value NativeIo::OpenFd(Call& c) { return c.Number(UV_ENOSYS); }

#endif

}  // namespace aloop
