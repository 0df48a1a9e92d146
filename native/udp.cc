// UDP on uv_udp_t: bind, connect, send, receive, close. The plan is in io.h, with the layout of a
// datagram record in the arena (kDgramHeader bytes naming the sender, then the payload).
//
// Errors of a datagram socket do not end it (asyncio's error_received): an ICMP error reported
// by recvmsg or a failed send becomes a kEvError or kEvSent record and the socket stays open.
// Datagrams the kernel drops under buffer pressure are UDP's to lose; what it handed us never is.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "io.h"
#include "loop.h"

namespace aloop {

namespace {

struct SendReq {
  uv_udp_send_t req;
  size_t len;
  // The bytes follow the struct.
};

/** Writes the sender's family, port and address into a record's header (the layout is in io.h). */
void WriteSender(uint8_t* rec, const sockaddr* addr) {
  if (addr->sa_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(addr);
    char* text = reinterpret_cast<char*>(rec + 4);
    const size_t room = kDgramHeader - 4;
    uv_inet_ntop(AF_INET6, &a->sin6_addr, text, room);
    size_t n = std::strlen(text);
    // Node names the interface of a scoped link-local sender (fe80::1%eth0); so do we.
    if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) && a->sin6_scope_id != 0 && n + 2 < room) {
      size_t len = room - n - 1;
      if (uv_if_indextoiid(a->sin6_scope_id, text + n + 1, &len) == 0) {
        text[n] = '%';
        n += 1 + len;
      }
    }
    rec[0] = 6;
    rec[1] = static_cast<uint8_t>(n);
    std::memcpy(rec + 2, &a->sin6_port, 2);
  } else {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(addr);
    rec[0] = 4;
    rec[1] = 0;
    std::memcpy(rec + 2, &a->sin_port, 2);
    std::memcpy(rec + 4, &a->sin_addr, 4);
  }
}

}  // namespace

// --- opening ------------------------------------------------------------------------------------

int32_t IoTable::UdpBind(const char* host, int family, int port) {
  sockaddr_storage addr;
  int err = ParseAddr(host, family, port, &addr);
  if (err < 0) return err;
  IoHandle* h = NewHandle(kUdp, false);
  // Flags 0: no SO_REUSEADDR, and IPV6_V6ONLY left at the system's default (off on Linux), as
  // node:dgram binds.
  err = uv_udp_bind(&h->uv.udp, reinterpret_cast<sockaddr*>(&addr), 0);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  h->family = static_cast<uint8_t>(family);
  // A bound socket can receive (`connected` gates reading), but only once JS has its endpoint
  // ready and asks (setReading): a datagram must not arrive before the connect that filters them.
  h->connected = true;
  h->js_reading = false;
  return h->id;
}

int32_t IoTable::UdpConnect(int32_t id, const char* host, int port) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kUdp) return UV_EBADF;
  sockaddr_storage addr;
  const int err = ParseAddr(host, h->family, port, &addr);
  if (err < 0) return err;
  return uv_udp_connect(&h->uv.udp, reinterpret_cast<sockaddr*>(&addr));
}

int32_t IoTable::UdpSetBroadcast(int32_t id, bool on) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kUdp) return UV_EBADF;
  return uv_udp_set_broadcast(&h->uv.udp, on ? 1 : 0);
}

// --- receiving ----------------------------------------------------------------------------------

void IoTable::OnUdpAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  IoTable* self = static_cast<IoHandle*>(handle->data)->table;
  // Room for the largest datagram or none: a smaller buffer would cut one short (MSG_TRUNC) and
  // lose its tail, while an empty one makes libuv report UV_ENOBUFS and leave it in the kernel.
  const uv_buf_t b = self->ArenaSlice(kDgramHeader + kMaxDatagram);
  if (b.len < kDgramHeader + kMaxDatagram) {
    *buf = uv_buf_init(nullptr, 0);
    return;
  }
  *buf = uv_buf_init(b.base + kDgramHeader, kMaxDatagram);
}

void IoTable::OnRecv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned) {
  IoHandle* h = static_cast<IoHandle*>(udp->data);
  IoTable* self = h->table;
  if (addr == nullptr && nread == 0) return;  // nothing more to read now; an empty datagram has an addr
  if (nread == UV_ENOBUFS) {
    self->Starve(h);
    return;
  }
  if (nread < 0) {
    // ECONNREFUSED and the like (ICMP) on a connected socket: tell the protocol, keep the socket.
    self->Emit(h->id, kEvError, static_cast<int32_t>(nread), kSysRecv);
    return;
  }
  uint8_t* rec = reinterpret_cast<uint8_t*>(buf->base) - kDgramHeader;
  WriteSender(rec, addr);
  const size_t off = static_cast<size_t>(rec - self->arena_);
  self->arena_used_ = off + kDgramHeader + static_cast<size_t>(nread);
  self->Emit(h->id, kEvDatagram, static_cast<int32_t>(off), static_cast<int32_t>(nread));
}

// --- sending ------------------------------------------------------------------------------------

int32_t IoTable::UdpSend(int32_t id, const uint8_t* data, size_t len, const char* host, int port) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kUdp) return UV_EBADF;
  // No datagram is this long; a longer buffer would wrap uv_buf_t's length and send a piece.
  if (len > INT32_MAX) return UV_EMSGSIZE;
  sockaddr_storage ss;
  const sockaddr* addr = nullptr;
  if (host != nullptr) {
    const int err = ParseAddr(host, h->family, port, &ss);
    if (err < 0) return err;
    addr = reinterpret_cast<const sockaddr*>(&ss);
  }
  uv_buf_t b = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data)), static_cast<unsigned int>(len));
  // EAGAIN also while earlier sends are queued, so datagrams leave in order.
  const int n = uv_udp_try_send(&h->uv.udp, &b, 1, addr);
  if (n >= 0) return 0;
  if (n != UV_EAGAIN) return n;
  SendReq* req = static_cast<SendReq*>(std::malloc(sizeof(SendReq) + len));
  if (req == nullptr) return UV_ENOMEM;
  char* copy = reinterpret_cast<char*>(req + 1);
  if (len > 0) std::memcpy(copy, data, len);
  req->len = len;
  b = uv_buf_init(copy, static_cast<unsigned int>(len));
  const int err = uv_udp_send(&req->req, &h->uv.udp, &b, 1, addr, OnSend);
  if (err < 0) {
    std::free(req);
    return err;
  }
  h->queued += len;
  return 1;
}

void IoTable::OnSend(uv_udp_send_t* r, int status) {
  SendReq* req = reinterpret_cast<SendReq*>(r);
  IoHandle* h = static_cast<IoHandle*>(r->handle->data);
  h->queued -= req->len;
  std::free(req);
  if (status == UV_ECANCELED) return;  // closed (abort, loop close): nobody is waiting
  IoTable* self = h->table;
  self->Emit(h->id, kEvSent, status, static_cast<int32_t>(std::min<size_t>(h->queued, INT32_MAX)));
  // libuv counts the send done before calling back; empty datagrams count too, bytes would not.
  if (h->close_requested && uv_udp_get_send_queue_count(&h->uv.udp) == 0) self->StartClose(h);
}

// --- closing ------------------------------------------------------------------------------------

void IoTable::UdpClose(int32_t id, bool abort) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->closing || h->kind != kUdp) return;
  h->close_requested = true;
  UpdateReading(h);
  // uv_close cancels queued sends (their callbacks get UV_ECANCELED): abort's drop.
  if (abort || uv_udp_get_send_queue_count(&h->uv.udp) == 0) StartClose(h);
}

// --- the JS methods ------------------------------------------------------------------------------

namespace {

/**
 * A host string for an IP literal: at most INET6_ADDRSTRLEN + a zone. Longer is no IP literal:
 * `*fits` false, and the caller reports UV_EINVAL, as libuv does for any other non-literal.
 */
bool HostArg(Call& c, size_t i, const char* what, std::string* host, bool* fits) {
  if (!c.String(i, what, host)) return false;
  *fits = host->size() < 80;
  return true;
}

}  // namespace

// udpBind(host, family, port) → id or a libuv error
napi_value NativeIo::UdpBind(Call& c) {
  std::string host;
  bool fits;
  int32_t family;
  int32_t port;
  if (!HostArg(c, 0, "host", &host, &fits) || !FamilyArg(c, 1, &family) || !PortArg(c, 2, "port", &port)) {
    return nullptr;
  }
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!fits) return c.Number(UV_EINVAL);
  return c.Number(t->UdpBind(host.c_str(), family, port));
}

// udpConnect(id, host, port) → 0 or a libuv error
napi_value NativeIo::UdpConnect(Call& c) {
  int32_t id;
  std::string host;
  bool fits;
  int32_t port;
  if (!IdArg(c, 0, &id) || !HostArg(c, 1, "host", &host, &fits) || !PortArg(c, 2, "port", &port)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kUdpOnly, "a UDP socket")) return nullptr;
  if (!fits) return c.Number(UV_EINVAL);
  return c.Number(t->UdpConnect(id, host.c_str(), port));
}

napi_value NativeIo::UdpSetBroadcast(Call& c) {
  int32_t id;
  bool on;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "on", &on)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kUdpOnly, "a UDP socket")) return nullptr;
  return c.Number(t->UdpSetBroadcast(id, on));
}

// udpSend(id, bytes: Uint8Array, host | null, port) → 0 sent, 1 queued (a SENT event follows), or
// a libuv error
napi_value NativeIo::UdpSend(Call& c) {
  int32_t id;
  const uint8_t* data;
  size_t len;
  std::string host;
  bool to;
  int32_t port;
  if (!IdArg(c, 0, &id) || !c.Bytes(1, "data", &data, &len) || !c.StringOrNull(2, "host", &host, &to) ||
      !PortArg(c, 3, "port", &port)) {
    return nullptr;
  }
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  if (!CheckKind(c, t, id, kUdpOnly, "a UDP socket")) return nullptr;
  if (to && host.size() >= 80) return c.Number(UV_EINVAL);
  return c.Number(t->UdpSend(id, data, len, to ? host.c_str() : nullptr, port));
}

// udpClose(id, abort)
napi_value NativeIo::UdpClose(Call& c) {
  int32_t id;
  bool abort;
  if (!IdArg(c, 0, &id) || !c.Bool(1, "abort", &abort)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Undefined();
  if (!CheckKind(c, t, id, kUdpOnly, "a UDP socket (close streams with close)")) return nullptr;
  t->UdpClose(id, abort);
  return c.Undefined();
}

}  // namespace aloop
