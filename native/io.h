// Sockets and pipes of the native loop: one IoTable per loop holds every libuv I/O handle JS
// opened on it (src/loops/native/io.ts is the JS half). The code is one file per handle kind:
//
//   io.cc      ids, the event records, the read arena, closing, the JS class `Io`
//   stream.cc  reading, writing, shutdown and close of streams (uv_tcp_t and uv_pipe_t alike)
//   tcp.cc     TCP: connect, listen, accept, options, addresses
//   pipe.cc    Unix domain sockets (uv_pipe_t): connect, listen, accept, addresses
//   udp.cc     UDP (uv_udp_t): bind, connect, send, receive
//
// One IoTable per loop. Handles are named by ids `slot | generation << 20`: a stale id (its
// handle closed, the slot reused) matches nothing, so a late call from JS is a no-op.
//
// Events go the batched way (DESIGN.md "The boundary"): libuv callbacks append records to
// `events_`; before each JS iteration the loop copies them into the shared `events` Int32Array
// (4 ints a record: id, kind, a, b) and JS consumes them all while it collects ready work. Read
// bytes land in the shared `arena` (a Uint8Array JS copies out of at the same time); a READ
// record says where (a = offset, b = length). The arena is reused after every iteration; a socket
// that finds it full stops reading until then (backpressure, never a drop).
//
// Writes: uv_try_write at once; only the remainder is copied and queued with uv_write. UDP sends
// likewise (uv_udp_try_send, else a copy queued with uv_udp_send); a datagram is read only into
// room for the largest one, so none is ever cut short.
#ifndef ALOOP_IO_H_
#define ALOOP_IO_H_

#include <uv.h>

#include <cstdint>
#include <vector>

#include "call.h"
#include "napi.h"

namespace aloop {

class LoopCore;
class NativeLoop;

/** Event kinds (mirrored in src/loops/native/io.ts). */
enum IoEvent : int32_t {
  kEvRead = 1,      // a = arena offset, b = length
  kEvEof = 2,       // the peer sent FIN
  kEvError = 3,     // a = libuv error (negative), b = syscall (IoSyscall)
  kEvClosed = 4,    // the handle is closed and gone; the id is dead
  kEvConnect = 5,   // a = status (0 or a libuv error)
  kEvAccept = 6,    // id = the listener, a = the new connection's id
  kEvDrained = 7,   // the write queue fell to the watched low-water mark; a = bytes queued
  kEvDatagram = 8,  // UDP: a = arena offset of the datagram record (below), b = its payload length
  kEvSent = 9,      // UDP: a queued send finished; a = status, b = bytes still queued in sends
};

// A datagram record in the arena, at the offset a kEvDatagram names:
//   [0]            the sender's family: 4 or 6
//   [1]            n: the length of the IPv6 address text (0 for IPv4)
//   [2, 4)         the sender's port, big-endian
//   [4, 8)         IPv4: the address, network order
//   [4, 4 + n)     IPv6: the address as text (inet_ntop, %interface after a scoped link-local one)
//   [kDgramHeader, kDgramHeader + b)  the payload
// IPv6 comes as text because its canonical form (RFC 5952, zone names) is libuv's to make and
// Node's to match; IPv4 comes raw so JS can reuse the string of a sender it has just seen.
/** INET6_ADDRSTRLEN (46) + '%' + an interface name (IFNAMSIZ 16), rounded up to 4. */
constexpr size_t kDgramHeader = 4 + 64;

enum IoSyscall : int32_t {
  kSysRead = 1,
  kSysWrite = 2,
  kSysConnect = 3,
  kSysAccept = 4,
  kSysShutdown = 5,
  kSysRecv = 6,
  kSysSend = 7,
};

enum HandleKind : uint8_t { kTcp = 0, kPipe = 1, kUdp = 2 };

/** One read takes at most this much of the arena (libuv suggests 64 KiB). */
constexpr size_t kMaxRead = 64 * 1024;
/** Below this much free arena a handle waits for the next iteration instead of reading. */
constexpr size_t kMinRead = 4 * 1024;

/** Indexes into the I/O state Int32Array. */
enum IoStateIndex { kEvCount = 0, kEvMore = 1, kIoStateLength = 4 };

class IoTable;

/** One libuv handle JS opened; owned by its table, freed in its close callback. */
struct IoHandle {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_udp_t udp;
  } uv;
  IoTable* table;
  int32_t id;
  HandleKind kind;
  bool listener;
  bool connected = false;
  bool js_reading = true;  // JS has not paused reading
  bool reading = false;    // uv_read_start (uv_udp_recv_start) is in effect
  bool starved = false;    // the arena was full
  bool eof = false;
  bool shut = false;       // uv_shutdown requested (writeEof or close)
  bool shut_done = false;
  bool close_requested = false;
  bool closing = false;    // uv_close called
  uint8_t family = 0;      // UDP: 4 or 6, that of the bound socket (sends parse addresses by it)
  size_t queued = 0;       // bytes in writes (sends) libuv has not finished
  int64_t drain_at = -1;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;

  uv_stream_t* stream() { return &uv.stream; }
};

class IoTable {
 public:
  IoTable(LoopCore* core, uv_loop_t* uv, int32_t* state, int32_t* events, size_t event_capacity, uint8_t* arena,
          size_t arena_size);

  /** Writes the next chunk of event records into the shared array; returns how many. */
  int32_t WriteEvents();
  /** JS has consumed every event and copied the arena out: reuse it, restart starved reads. */
  void AfterIteration();
  bool HasEvents() const { return !events_.empty(); }
  /** The kind of live handle `id`, or -1 when no handle has that id (never had, or closed). */
  int KindOf(int32_t id);
  /** Closes every handle (the loop is closing). */
  void CloseAll();

  // Calls from JS (validated there). Each returns >= 0 or a libuv error code.

  // Streams (stream.cc).
  int32_t Write(int32_t id, const uint8_t* data, size_t len);
  int32_t Queued(int32_t id);
  void WatchDrain(int32_t id, int32_t low);
  int32_t Shutdown(int32_t id);
  /** mode 0: flush, FIN, then close; 1: close now (abort); 2: close with RST (TCP). */
  void Close(int32_t id, int mode);
  void SetReading(int32_t id, bool on);

  // TCP (tcp.cc).
  int32_t Connect(const char* host, int family, int port, const char* local_host, int local_port, bool nodelay);
  int32_t Listen(const char* host, int family, int port, int backlog, bool ipv6only);
  int32_t SetNoDelay(int32_t id, bool on);
  int32_t SetKeepAlive(int32_t id, bool on, int delay);
  /** [host, port] of the socket (or peer), or a libuv error code. */
  Napi::Value Address(Napi::Env env, int32_t id, bool peer);

  // Unix domain sockets (pipe.cc).
  int32_t PipeConnect(const char* path);
  int32_t PipeListen(const char* path, int backlog);
  /** The socket's (or peer's) path, or a libuv error code. */
  Napi::Value PipeAddress(Napi::Env env, int32_t id, bool peer);

  // UDP (udp.cc). Addresses (Address above) are uv_udp_getsockname/getpeername's.
  /** Binds a new UDP socket (no SO_REUSEADDR, not IPv6-only); its id, or a libuv error. */
  int32_t UdpBind(const char* host, int family, int port);
  int32_t UdpConnect(int32_t id, const char* host, int port);
  int32_t UdpSetBroadcast(int32_t id, bool on);
  /** uv_udp_try_send, else a copy queued with uv_udp_send: 0 sent, 1 queued, or a libuv error. */
  int32_t UdpSend(int32_t id, const uint8_t* data, size_t len, const char* host, int port);
  /** Stops receiving; closes once the queued sends are out, or at once (abort). */
  void UdpClose(int32_t id, bool abort);

  LoopCore* core;

 private:
  friend class NativeIo;
  struct Record {
    int32_t id, kind, a, b;
  };

  IoHandle* Get(int32_t id);
  IoHandle* NewHandle(HandleKind kind, bool listener);
  void Emit(int32_t id, int32_t kind, int32_t a = 0, int32_t b = 0);
  void Fail(IoHandle* h, int err, int32_t syscall);
  void StartClose(IoHandle* h, bool reset = false);
  void UpdateReading(IoHandle* h);
  void MaybeFinish(IoHandle* h);
  /** A new connection on listener `s` (TCP or pipe): accept it, start reading, tell JS. */
  void Accept(IoHandle* s, int status);
  /** A free piece of the arena of at most `max` bytes, or an empty buffer when it is full. */
  uv_buf_t ArenaSlice(size_t max);

  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnConnect(uv_connect_t* req, int status);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnClose(uv_handle_t* handle);
  static void OnUdpAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRecv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  static void OnSend(uv_udp_send_t* req, int status);
  /** The arena is full: stop reading until AfterIteration has a fresh one. */
  void Starve(IoHandle* h);

  uv_loop_t* uv_;
  int32_t* state_;
  int32_t* events_out_;
  size_t event_capacity_;
  uint8_t* arena_;
  size_t arena_size_;
  size_t arena_used_ = 0;
  std::vector<Record> events_;
  size_t events_pos_ = 0;
  std::vector<IoHandle*> slots_;
  std::vector<uint32_t> generations_;
  std::vector<int32_t> free_;
  /** Handles that stopped reading because the arena was full. */
  std::vector<int32_t> starved_;
};

/**
 * `binding.Io`: the JS object that reaches a loop's IoTable.
 *   new Io(loop, eventCapacity, arenaSize)  makes the table and its shared memory, seen by JS as
 *                                           the properties state, events, arena
 */
class NativeIo {
 public:
  static constexpr const char* kClassName = "Io";
  static const napi_type_tag kTypeTag;

  static napi_value Define(napi_env env);
  ~NativeIo();

 private:
  static napi_value New(napi_env env, napi_callback_info info);
  /** The loop's table, or nullptr once the loop is closed (every call is then a no-op). */
  IoTable* Table() const;
  /**
   * False, after a TypeError, when `id` names a live handle whose kind is not in `kinds` (bits
   * of HandleKind): libuv would take it for the wrong struct. Unknown and closed ids pass: a
   * late call from JS is a no-op.
   */
  static bool CheckKind(Call& c, IoTable* t, int32_t id, unsigned kinds, const char* expected);

  // io.cc
  napi_value More(Call& c);
  // stream.cc
  napi_value Write(Call& c);
  napi_value Queued(Call& c);
  napi_value WatchDrain(Call& c);
  napi_value Shutdown(Call& c);
  napi_value Close(Call& c);
  napi_value SetReading(Call& c);
  // tcp.cc
  napi_value Connect(Call& c);
  napi_value Listen(Call& c);
  napi_value SetNoDelay(Call& c);
  napi_value SetKeepAlive(Call& c);
  napi_value Address(Call& c);
  // pipe.cc
  napi_value PipeConnect(Call& c);
  napi_value PipeListen(Call& c);
  napi_value PipeAddress(Call& c);
  // udp.cc
  napi_value UdpBind(Call& c);
  napi_value UdpConnect(Call& c);
  napi_value UdpSetBroadcast(Call& c);
  napi_value UdpSend(Call& c);
  napi_value UdpClose(Call& c);

  napi_env env_ = nullptr;
  /** Keeps the loop's JS object (and so `loop_`) alive as long as this one. */
  napi_ref loop_ref_ = nullptr;
  NativeLoop* loop_ = nullptr;
};

/** Bits of HandleKind for NativeIo::CheckKind. */
constexpr unsigned kAnyStream = (1u << kTcp) | (1u << kPipe);
constexpr unsigned kTcpOnly = 1u << kTcp;
constexpr unsigned kPipeOnly = 1u << kPipe;
constexpr unsigned kUdpOnly = 1u << kUdp;

/** An id argument: any int32 (ids of closed handles are harmless). */
inline bool IdArg(Call& c, size_t i, int32_t* id) { return c.Int(i, "id", INT32_MIN, INT32_MAX, id); }
/** A port argument. */
inline bool PortArg(Call& c, size_t i, const char* what, int32_t* port) { return c.Int(i, what, 0, 65535, port); }
/** An address family argument: 4 or 6. */
bool FamilyArg(Call& c, size_t i, int32_t* family);

/** [code, message] of a libuv error (uv_err_name, uv_strerror). */
napi_value ErrName(napi_env env, napi_callback_info info);

/** An IP literal of `family` (4 or 6) and a port as a sockaddr; UV_EINVAL for anything else. */
int ParseAddr(const char* host, int family, int port, sockaddr_storage* out);

}  // namespace aloop

#endif  // ALOOP_IO_H_
