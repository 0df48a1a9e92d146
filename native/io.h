// Sockets and pipes of the native loop: one IoTable per loop holds every libuv I/O handle JS
// opened on it (src/loops/native/io.ts is the JS half). The code is one file per handle kind:
//
//   io.cc      ids, the event records, the read arena, closing, the JS class `Io`
//   stream.cc  reading, writing, shutdown and close of streams (uv_tcp_t and uv_pipe_t alike)
//   tcp.cc     TCP: connect, listen, options, addresses
//   pipe.cc    Unix domain sockets (uv_pipe_t): connect, listen, addresses
//   listen.cc  listening sockets of both: our own accept loop (EMFILE, startServing)
//   udp.cc     UDP (uv_udp_t): bind, connect, send, receive
//   process.cc child processes (uv_process_t): spawn with the stdio pipes as stream handles, exit, kill
//   poll.cc    fd readiness (uv_poll_t): addReader/addWriter and the low-level sock* waits
//   socket.cc  (not a handle kind) the socket syscalls of the low-level socket API
//
// One IoTable per loop. Handles are named by ids `slot | generation << 20`: a stale id (its
// handle closed, the slot reused) matches nothing, so a late call from JS is a no-op.
//
// Events go the batched way (DESIGN.md "The boundary"): libuv callbacks append records to
// `events_`; before each JS iteration the loop copies them into the shared `events` Int32Array
// (4 ints a record: id, kind, a, b) and JS consumes them all while it collects ready work. Read
// bytes land in the shared `arena` (a Uint8Array JS copies out of at the same time); a READ
// record says where (a = offset, b = length). The arena is reused after every iteration.
//
// Stream reads go to the arena, up to kStreamRead bytes at once, as uvloop reads into one 256 KiB
// buffer and copies each read out: the arena is reused after every JS iteration, and JS runs one
// every kDeliverBytes of reads (LoopCore::DeliverNow), so the kernel copies into memory still in
// the cache and JS's copy out leaves the bytes in the cache for an echo's write. (Reading bulk
// data straight into Buffers of its own, as this did before, cost twice the syscalls at 100 KiB
// messages and kernel copies into memory cold since the last GC: 1,000 busy connections moved
// 1,181-1,255 MB/s against 1,482-1,533 now, 10,000 moved 516-611 against 723.)
//
// A full arena never stops a socket that has data (that starved thousands of sockets at once, each
// stopped and restarted every iteration). A read that does not fit goes to a buffer of its own:
//   - a spare: a Buffer JS allocated (V8's memory) and handed over with `supply(buf, token)`; the
//     read lands in it and JS gets it back by its token (READ_SPARE), no copy. JS keeps C++
//     supplied as demand goes (src/loops/native/io.ts).
//   - when no spare is left: malloc, handed to JS as an external Buffer (READ_OWNED; JS makes
//     each with one `owned(i)` call as it handles the record: made a chunk at a time, the later
//     ones lived through the scavenges the earlier ones' handling brought, were promoted, and
//     waited for major GCs, 10-20 % of the server's CPU at 1,000 busy connections).
// Fairness: a socket reads at most kReadBudget bytes per libuv poll (one read); past that it is
// left readable in the kernel (epoll is level-triggered) and read again next poll, so one busy
// peer cannot crowd out the rest.
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
  kEvReadOwned = 10,  // a = index into this chunk's `owned()` buffers, b = length
  kEvReadSpare = 11,  // a = the token the spare was supplied with, b = length
  kEvExit = 12,       // a child process exited: a = exit status, b = the signal that ended it (0: none)
  kEvPoll = 13,       // a poll handle's fd is ready: a = UV_READABLE | UV_WRITABLE bits, or a libuv error (< 0)
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

enum HandleKind : uint8_t { kTcp = 0, kPipe = 1, kUdp = 2, kProcess = 3, kPoll = 4 };

/** One stream read takes at most this much of the arena (uvloop's read buffer is 256 KiB). */
constexpr size_t kStreamRead = 256 * 1024;
/** Room for the largest datagram (udp.cc reads one only into that much). */
constexpr size_t kMaxDatagram = 64 * 1024;
/** Below this much free arena a read goes to a buffer of its own. */
constexpr size_t kMinRead = 4 * 1024;
/** The size of a read into a buffer of its own. (256 KiB is past glibc's mmap threshold: every
 * read into malloc'd memory cost an mmap, an mremap and a munmap.) */
constexpr size_t kOwnedRead = 64 * 1024;
/** Bytes one socket or pipe may read per libuv poll before it waits for the next one: one read,
 * as uvloop does one recv per readiness. */
constexpr size_t kReadBudget = 256 * 1024;

/** Bytes read in one libuv poll after which JS runs an iteration at once (LoopCore::DeliverNow),
 * before libuv reads the next sockets: half of L2 here. Handing JS a whole poll's reads at once
 * (1,000 busy sockets: ~50 MB) meant every echo wrote bytes long gone from the cache, and the
 * kernel's copy out of them took twice node:net's time per byte. */
constexpr size_t kDeliverBytes = 512 * 1024;

/** Spares C++ holds at most (JS supplies fewer: io.ts). */
constexpr size_t kMaxSpares = 4096;

/** Indexes into the I/O state Int32Array. */
enum IoStateIndex { kEvCount = 0, kEvMore = 1, kIoStateLength = 4 };

class IoTable;
struct AcceptPoll;

/** One libuv handle JS opened; owned by its table, freed in its close callback. */
struct IoHandle {
  union {
    uv_handle_t handle;
    uv_stream_t stream;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_udp_t udp;
    uv_process_t process;
    uv_poll_t poll;
  } uv;
  IoTable* table;
  int32_t id;
  HandleKind kind;
  bool listener;
  bool connected = false;
  bool js_reading = true;  // JS has not paused reading
  bool reading = false;    // uv_read_start (uv_udp_recv_start) is in effect
  bool starved = false;    // a read buffer could not be had (UDP: the arena was full)
  bool eof = false;
  bool shut = false;       // uv_shutdown requested (writeEof or close)
  bool shut_done = false;
  bool close_requested = false;
  bool closing = false;    // uv_close called
  bool accepting = false;  // a listener takes connections off its backlog (listen.cc)
  bool exited = false;     // a child process: its exit callback ran (process.cc)
  uint8_t family = 0;      // UDP: 4 or 6, that of the bound socket (sends parse addresses by it)
  int poll_fd = -1;        // poll handles: our duplicate of the watched fd (poll.cc), closed with the handle
  size_t queued = 0;       // bytes in writes (sends) libuv has not finished
  uint32_t read_iter = 0;  // the poll `read_bytes` counts in
  size_t read_bytes = 0;   // bytes read in poll `read_iter` (against kReadBudget)
  int64_t drain_at = -1;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  AcceptPoll* accept_poll = nullptr;  // a listener's readiness watch (listen.cc)

  uv_stream_t* stream() { return &uv.stream; }
};

class IoTable {
 public:
  IoTable(LoopCore* core, uv_loop_t* uv, int32_t* state, int32_t* events, size_t event_capacity, uint8_t* arena,
          size_t arena_size);
  ~IoTable();

  /** Writes the next chunk of event records into the shared array; returns how many. */
  int32_t WriteEvents();
  /** JS has consumed every event and copied the arena out: reuse it, restart starved reads. */
  void AfterIteration();
  /** libuv's poll phase is over: every socket's read budget renews (LoopCore::OnCheck). */
  void AfterPoll();
  bool HasEvents() const { return !events_.empty(); }
  /** The kind of live handle `id`, or -1 when no handle has that id (never had, or closed). */
  int KindOf(int32_t id);
  /** Closes every handle (the loop is closing). */
  void CloseAll();

  /**
   * The buffer of this chunk's READ_OWNED record `i` as an external Buffer JS now owns, or null
   * when there is none (out of range, or taken already).
   */
  napi_value TakeOwned(napi_env env, size_t i);
  /** Holds `buf` (a Uint8Array) as a spare read buffer named `token`; false if there are too many. */
  bool Supply(napi_value buf, int32_t token);

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

  // Listening sockets, TCP and Unix alike (listen.cc).
  /** Starts or stops taking connections off listener `id`'s backlog; 0 or a libuv error. */
  int32_t SetAccepting(int32_t id, bool on);

  // UDP (udp.cc). Addresses (Address above) are uv_udp_getsockname/getpeername's.
  /** Binds a new UDP socket (no SO_REUSEADDR, not IPv6-only); its id, or a libuv error. */
  int32_t UdpBind(const char* host, int family, int port);
  int32_t UdpConnect(int32_t id, const char* host, int port);
  int32_t UdpSetBroadcast(int32_t id, bool on);
  /** uv_udp_try_send, else a copy queued with uv_udp_send: 0 sent, 1 queued, or a libuv error. */
  int32_t UdpSend(int32_t id, const uint8_t* data, size_t len, const char* host, int port);
  /** Stops receiving; closes once the queued sends are out, or at once (abort). */
  void UdpClose(int32_t id, bool abort);

  // Child processes (process.cc).
  /**
   * Spawns `file` with `args` (argv, argv[0] included) and `env` (null: this process's); `stdio`
   * as SpawnStdio in src/loops/io/subprocess.ts. Returns 0 with `ids` = [process, stdin,
   * stdout, stderr] (-1 where not a pipe) and `*pid`, or a libuv error with nothing left open.
   */
  int32_t Spawn(const char* file, char** args, char** env, const char* cwd, const int32_t stdio[3], int32_t ids[4],
                int32_t* pid);
  /** The loop is closing under running child `h`: reap it when it ends, off the loop. */
  void OrphanChild(IoHandle* h);
  /** uv_process_kill; UV_ESRCH once the child has exited. */
  int32_t ProcessKill(int32_t id, int signum);
  // fd readiness (poll.cc).
  /** A stopped poll handle on `fd` (any fd JS names: libuv refuses bad ones); its id, or a libuv error. */
  int32_t PollOpen(int fd);
  /** Watches for `events` (UV_READABLE | UV_WRITABLE; 0 stops); 0 or a libuv error. */
  int32_t PollSet(int32_t id, int events);
  void PollClose(int32_t id);

  // Sockets of the low-level API handed to transports (socket.cc).
  /**
   * A handle of `kind` on socket `fd`, which the table now owns (closed with the handle): a
   * connected stream (reading), a listener (listening, not accepting until SetAccepting) or a
   * UDP socket (not receiving until setReading). Its id, or a libuv error (the fd closed).
   */
  int32_t OpenFd(HandleKind kind, int fd, bool listener, int backlog);

  LoopCore* core;

 private:
  friend class NativeIo;
  struct Record {
    int32_t id, kind, a, b;
  };

  IoHandle* Get(int32_t id);
  IoHandle* NewHandle(HandleKind kind, bool listener);
  void Emit(int32_t id, int32_t kind, int32_t a = 0, int32_t b = 0);
  /** Frees `h`'s slot and memory without a close callback (its uv handle was never initialised). */
  void Forget(IoHandle* h);
  static void OnPoll(uv_poll_t* poll, int status, int events);
  /** Closes a poll handle's duplicate fd (poll.cc). */
  static void ClosePollFd(IoHandle* h);
  void Fail(IoHandle* h, int err, int32_t syscall);
  void StartClose(IoHandle* h, bool reset = false);
  void UpdateReading(IoHandle* h);
  void MaybeFinish(IoHandle* h);
  /** Listens on the bound listener `h` (not accepting until SetAccepting); 0 or a libuv error. */
  int StartListening(IoHandle* h, int backlog);
  /** Watches the listener's socket while it accepts, not otherwise. */
  void UpdateAccepting(IoHandle* h);
  /** Takes the connections waiting on listener `s` (up to a bound), starts reading each, tells JS. */
  void AcceptPending(IoHandle* s);
  /** Wraps an accepted socket `fd` in a handle of listener `s`'s kind. */
  void Adopt(IoHandle* s, int fd);
  /** Closes listener `h`'s readiness watch (before the listener itself). */
  void CloseAcceptPoll(IoHandle* h);
  /** A free piece of the arena of at most `max` bytes, or an empty buffer when it is full. */
  uv_buf_t ArenaSlice(size_t max);
  bool InArena(const char* p) const {
    const uint8_t* b = reinterpret_cast<const uint8_t*>(p);
    return b >= arena_ && b < arena_ + arena_size_;
  }
  /** Frees the read buffers JS was not given (the loop closed, or JS skipped them). */
  void FreeOwned();
  /**
   * A spare to read up to `max` bytes into (`reading_` remembers it until OnRead), or an empty
   * buffer when none is left. Its memory is looked up afresh: JS may have detached it.
   */
  uv_buf_t TakeSpare(size_t max);
  /** Lets go of every spare (the loop is closing). */
  void DropSpares();

  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnConnect(uv_connect_t* req, int status);
  static void OnAcceptable(uv_poll_t* poll, int status, int events);
  static void OnAcceptPollClose(uv_handle_t* handle);
  static void OnClose(uv_handle_t* handle);
  static void OnUdpAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRecv(uv_udp_t* udp, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  static void OnSend(uv_udp_send_t* req, int status);
  static void OnExit(uv_process_t* process, int64_t exit_status, int term_signal);
  /** A new pipe handle over `fd` (this process's end of a socketpair), connected; its id or an error. */
  int32_t OpenPipe(int fd, bool readable);
  /** No read buffer could be had: stop reading until AfterIteration. */
  void Starve(IoHandle* h);
  /** Counts `n` bytes read for JS; past kDeliverBytes since JS last ran, JS runs now. */
  void Delivered(size_t n);

  uv_loop_t* uv_;
  int32_t* state_;
  int32_t* events_out_;
  size_t event_capacity_;
  uint8_t* arena_;
  size_t arena_size_;
  size_t arena_used_ = 0;
  std::vector<Record> events_;
  size_t events_pos_ = 0;
  /** Reads into buffers of their own, by READ_OWNED record; an entry is nulled once JS has it. */
  std::vector<uv_buf_t> owned_;
  /** The owned_ range of the chunk of records JS holds now (`owned()` hands it over). */
  size_t owned_begin_ = 0, owned_end_ = 0;
  /** Counts libuv polls, for the per-socket read budget (per poll, so DeliverNow's iterations
   * inside one do not renew it, and it renews even when no iteration follows the poll). */
  uint32_t iter_ = 1;
  /** Bytes read since JS last ran (Delivered). */
  size_t unsent_ = 0;
  std::vector<IoHandle*> slots_;
  std::vector<uint32_t> generations_;
  std::vector<int32_t> free_;
  /** Handles that stopped reading for want of a buffer. */
  std::vector<int32_t> starved_;

  napi_env env_ = nullptr;
  struct Spare {
    napi_ref ref;  // strong: JS cannot collect it while C++ may read into it
    int32_t token;
  };
  std::vector<Spare> spares_;
  /** The spare OnAlloc gave libuv for the read in progress (its memory at `reading_base_`). */
  Spare reading_{nullptr, 0};
  char* reading_base_ = nullptr;
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
  napi_value Owned(Call& c);
  napi_value Supply(Call& c);
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
  // listen.cc
  napi_value SetAccepting(Call& c);
  // udp.cc
  napi_value UdpBind(Call& c);
  napi_value UdpConnect(Call& c);
  napi_value UdpSetBroadcast(Call& c);
  napi_value UdpSend(Call& c);
  napi_value UdpClose(Call& c);
  // process.cc
  napi_value Spawn(Call& c);
  napi_value ProcessKill(Call& c);
  // poll.cc
  napi_value PollOpen(Call& c);
  napi_value PollSet(Call& c);
  napi_value PollClose(Call& c);
  // socket.cc
  napi_value OpenFd(Call& c);

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
constexpr unsigned kProcessOnly = 1u << kProcess;
constexpr unsigned kPollOnly = 1u << kPoll;

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
/** The numeric host of an IPv4 or IPv6 address into `name`; returns its port (tcp.cc). */
int InetName(const sockaddr_storage& ss, char (&name)[INET6_ADDRSTRLEN + 1]);

/** Takes socket `fd` from the low-level API's set (socket.cc); false if it is not one of them. */
bool TakeSocketFd(int fd);

/** Adds the socket syscall functions (socket.cc) to the addon's exports. */
void DefineSocketFunctions(napi_env env, napi_value exports);

}  // namespace aloop

#endif  // ALOOP_IO_H_
