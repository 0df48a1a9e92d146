// TCP streams on uv_tcp_t for the native loop (src/loops/native/tcp.ts is the JS half).
//
// One TcpTable per loop. Handles are named by ids `slot | generation << 20`: a stale id (its
// handle closed, the slot reused) matches nothing, so a late call from JS is a no-op.
//
// Events go the batched way (DESIGN.md "The boundary"): libuv callbacks append records to
// `events_`; before each JS iteration the loop copies them into the shared `events` Int32Array
// (4 ints a record: id, kind, a, b) and JS consumes them all while it collects ready work. Read
// bytes land in the shared `arena` (a Uint8Array JS copies out of at the same time); a READ
// record says where (a = offset, b = length). The arena is reused after every iteration; a socket
// that finds it full stops reading until then (backpressure, never a drop).
//
// Writes: uv_try_write at once; only the remainder is copied and queued with uv_write.
#ifndef ALOOP_TCP_H_
#define ALOOP_TCP_H_

#include <uv.h>

#include <cstdint>
#include <vector>

#include "napi.h"

namespace aloop {

class LoopCore;

/** Event kinds (mirrored in src/loops/native/tcp.ts). */
enum TcpEvent : int32_t {
  kEvRead = 1,     // a = arena offset, b = length
  kEvEof = 2,      // the peer sent FIN
  kEvError = 3,    // a = libuv error (negative), b = syscall (TcpSyscall)
  kEvClosed = 4,   // the handle is closed and gone; the id is dead
  kEvConnect = 5,  // a = status (0 or a libuv error)
  kEvAccept = 6,   // id = the listener, a = the new connection's id
  kEvDrained = 7,  // the write queue fell to the watched low-water mark; a = bytes queued
};

enum TcpSyscall : int32_t { kSysRead = 1, kSysWrite = 2, kSysConnect = 3, kSysAccept = 4, kSysShutdown = 5 };

/** Indexes into the tcp state Int32Array. */
enum TcpStateIndex { kEvCount = 0, kEvMore = 1, kTcpStateLength = 4 };

struct TcpHandle;

class TcpTable {
 public:
  TcpTable(LoopCore* core, uv_loop_t* uv, int32_t* state, int32_t* events, size_t event_capacity, uint8_t* arena,
           size_t arena_size);

  /** Writes the next chunk of event records into the shared array; returns how many. */
  int32_t WriteEvents();
  /** JS has consumed every event and copied the arena out: reuse it, restart starved reads. */
  void AfterIteration();
  bool HasEvents() const { return !events_.empty(); }
  /** Closes every handle (the loop is closing). */
  void CloseAll();

  // Calls from JS (validated there). Each returns >= 0 or a libuv error code.
  int32_t Connect(const char* host, int family, int port, const char* local_host, int local_port, bool nodelay);
  int32_t Listen(const char* host, int family, int port, int backlog, bool ipv6only);
  int32_t Write(int32_t id, const uint8_t* data, size_t len);
  int32_t Queued(int32_t id);
  void WatchDrain(int32_t id, int32_t low);
  int32_t Shutdown(int32_t id);
  /** mode 0: flush, FIN, then close; 1: close now (abort); 2: close with RST. */
  void Close(int32_t id, int mode);
  void SetReading(int32_t id, bool on);
  int32_t SetNoDelay(int32_t id, bool on);
  int32_t SetKeepAlive(int32_t id, bool on, int delay);
  /** [host, port] of the socket (or peer), or a libuv error code. */
  Napi::Value Address(Napi::Env env, int32_t id, bool peer);

  LoopCore* core;

 private:
  friend struct TcpHandle;
  struct Record {
    int32_t id, kind, a, b;
  };

  TcpHandle* Get(int32_t id);
  TcpHandle* NewHandle(bool listener);
  void Emit(int32_t id, int32_t kind, int32_t a = 0, int32_t b = 0);
  void Fail(TcpHandle* h, int err, int32_t syscall);
  void StartClose(TcpHandle* h, bool reset = false);
  void UpdateReading(TcpHandle* h);
  void MaybeFinish(TcpHandle* h);

  static void OnAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void OnRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void OnWrite(uv_write_t* req, int status);
  static void OnShutdown(uv_shutdown_t* req, int status);
  static void OnConnect(uv_connect_t* req, int status);
  static void OnConnection(uv_stream_t* server, int status);
  static void OnClose(uv_handle_t* handle);

  uv_loop_t* uv_;
  int32_t* state_;
  int32_t* events_out_;
  size_t event_capacity_;
  uint8_t* arena_;
  size_t arena_size_;
  size_t arena_used_ = 0;
  std::vector<Record> events_;
  size_t events_pos_ = 0;
  std::vector<TcpHandle*> slots_;
  std::vector<uint32_t> generations_;
  std::vector<int32_t> free_;
  /** Sockets that stopped reading because the arena was full. */
  std::vector<int32_t> starved_;
};

/** `binding.Tcp`: the JS object that reaches a loop's TcpTable. */
class NativeTcp : public Napi::ObjectWrap<NativeTcp> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NativeTcp(const Napi::CallbackInfo& info);

 private:
  TcpTable* Table();
  Napi::Value Connect(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Queued(const Napi::CallbackInfo& info);
  Napi::Value WatchDrain(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetReading(const Napi::CallbackInfo& info);
  Napi::Value SetNoDelay(const Napi::CallbackInfo& info);
  Napi::Value SetKeepAlive(const Napi::CallbackInfo& info);
  Napi::Value Address(const Napi::CallbackInfo& info);
  Napi::Value More(const Napi::CallbackInfo& info);

  Napi::ObjectReference loop_;
};

/** [code, message] of a libuv error (uv_err_name, uv_strerror). */
Napi::Value ErrName(const Napi::CallbackInfo& info);

}  // namespace aloop

#endif  // ALOOP_TCP_H_
