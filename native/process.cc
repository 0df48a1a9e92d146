// Child processes on uv_process_t: spawn, exit, kill. No node:child_process underneath: the
// child is libuv's own (uv_spawn on Node's loop, which shares libuv's SIGCHLD watch with Node's
// children). The plan is in io.h.
//
// Each stdio pipe is a socketpair made here: this process's end is opened as an ordinary pipe
// handle of the table (kPipe), so reading, writing, shutdown and close are the stream code's
// (stream.cc) and JS uses its stream transport; the child's end is handed over as UV_INHERIT_FD
// and closed here once the child has it. Making the pairs ourselves (instead of UV_CREATE_PIPE)
// lets stderr share stdout's pipe (asyncio's stderr=STDOUT): libuv cannot give two stdio slots
// one pipe it creates.
//
// Lifetime: the exit callback emits kEvExit and closes the process handle (kEvClosed follows).
// Closing the loop closes a running child's handle without killing it (the transport kills on
// close(); the loop does not kill silently). libuv no longer reaps a child whose handle is
// closed, so a thread of its own waits for it (asyncio's ThreadedChildWatcher): no zombie is left.
#ifndef _WIN32
#include <unistd.h>
#endif

#include <sys/wait.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "io.h"
#include "loop.h"

namespace aloop {

namespace {

/** stdio codes of src/loops/io/subprocess.ts (`SpawnStdio`). */
constexpr int32_t kStdioPipe = -1;
constexpr int32_t kStdioStdout = -2;  // stderr only: stdout's pipe
constexpr int32_t kStdioDevnull = -3;

void CloseFd(int fd) {
#ifndef _WIN32
  if (fd >= 0) ::close(fd);
#else
  (void)fd;
#endif
}

}  // namespace

int32_t IoTable::OpenPipe(int fd, bool readable) {
  IoHandle* h = NewHandle(kPipe, false);
  const int err = uv_pipe_open(&h->uv.pipe, fd);
  if (err < 0) {
    StartClose(h);
    return err;
  }
  h->connected = true;
  // stdin is only written: nothing is read from it (a read would start on a write-only pipe).
  h->js_reading = readable;
  UpdateReading(h);
  return h->id;
}

int32_t IoTable::Spawn(const char* file, char** args, char** env, const char* cwd, const int32_t stdio[3], int32_t ids[4],
                       int32_t* pid) {
  ids[0] = ids[1] = ids[2] = ids[3] = -1;
  int child_fds[3] = {-1, -1, -1};
  uv_stdio_container_t containers[3];
  int err = 0;
  for (int i = 0; i < 3 && err == 0; ++i) {
    const int32_t s = stdio[i];
    if (s == kStdioPipe) {
      uv_os_sock_t fds[2];
      // Both ends close-on-exec: the child gets its end by dup2, no other child inherits either.
      err = uv_socketpair(SOCK_STREAM, 0, fds, 0, 0);
      if (err < 0) break;
      child_fds[i] = fds[1];
      const int32_t id = OpenPipe(fds[0], i != 0);
      if (id < 0) {
        CloseFd(fds[0]);
        err = id;
        break;
      }
      ids[i + 1] = id;
      containers[i].flags = UV_INHERIT_FD;
      containers[i].data.fd = fds[1];
    } else if (s == kStdioStdout) {
      containers[i].flags = UV_INHERIT_FD;
      containers[i].data.fd = child_fds[1];
    } else if (s == kStdioDevnull) {
      containers[i].flags = UV_IGNORE;  // libuv opens /dev/null for fds 0-2
    } else {
      containers[i].flags = UV_INHERIT_FD;
      containers[i].data.fd = s;
    }
  }
  IoHandle* p = nullptr;
  if (err == 0) {
    uv_process_options_t options{};
    options.exit_cb = OnExit;
    options.file = file;
    options.args = args;
    options.env = env;
    options.cwd = cwd;
    options.stdio_count = 3;
    options.stdio = containers;
    p = NewHandle(kProcess, false);
    err = uv_spawn(uv_, &p->uv.process, &options);
    // uv_spawn initialized the handle either way (and may have reset its fields): point it back
    // at its IoHandle so its close callback finds it.
    p->uv.handle.data = p;
  }
  // The child has its ends now (or there is no child).
  for (int fd : child_fds) CloseFd(fd);
  if (err < 0) {
    if (p != nullptr) StartClose(p);
    for (int i = 1; i < 4; ++i) {
      IoHandle* h = Get(ids[i]);
      if (h != nullptr) StartClose(h);
      ids[i] = -1;
    }
    return err;
  }
  ids[0] = p->id;
  *pid = p->uv.process.pid;
  return 0;
}

void IoTable::OnExit(uv_process_t* process, int64_t exit_status, int term_signal) {
  IoHandle* h = static_cast<IoHandle*>(process->data);
  IoTable* self = h->table;
  h->exited = true;
  self->Emit(h->id, kEvExit, static_cast<int32_t>(exit_status), term_signal);
  // Reaped: the handle has nothing left to watch.
  self->StartClose(h);
}

void IoTable::OrphanChild(IoHandle* h) {
#ifndef _WIN32
  const int pid = h->uv.process.pid;
  if (h->exited || pid <= 0) return;
  // A detached thread blocked in waitpid for this one pid: it touches nothing of the table, so
  // the loop and its memory may go at once; at process exit the thread simply ends.
  std::thread([pid] {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }).detach();
#else
  (void)h;
#endif
}

int32_t IoTable::ProcessKill(int32_t id, int signum) {
  IoHandle* h = Get(id);
  if (h == nullptr || h->exited || h->closing) return UV_ESRCH;
  return uv_process_kill(&h->uv.process, signum);
}

// --- the JS methods ------------------------------------------------------------------------------

namespace {

/** Entries of an array argument of strings at most (fork/exec's own limits are far below). */
constexpr uint32_t kMaxStrings = 1u << 20;

/**
 * Argument `i`: an array of strings without NUL (`allow_null`: or null, `*present` false). The
 * strings are copied: nothing points into JS memory after the call.
 */
bool StringArray(Call& c, size_t i, const char* what, bool allow_null, std::vector<std::string>* out, bool* present) {
  napi_env env = c.env();
  napi_value v = c.arg(i);
  napi_valuetype type = napi_undefined;
  if (v != nullptr && napi_typeof(env, v, &type) != napi_ok) return false;
  *present = true;
  if (allow_null && type == napi_null) {
    *present = false;
    return true;
  }
  bool is_array = false;
  if (v == nullptr || napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
    return c.TypeError(std::string(what) + " (argument " + std::to_string(i + 1) + ") must be an array of strings" +
                       (allow_null ? " or null" : ""));
  }
  uint32_t n = 0;
  if (napi_get_array_length(env, v, &n) != napi_ok) return false;
  if (n > kMaxStrings) return c.RangeError(std::string(what) + " must have at most " + std::to_string(kMaxStrings) + " entries");
  out->reserve(n);
  for (uint32_t k = 0; k < n; ++k) {
    napi_value e;
    if (napi_get_element(env, v, k, &e) != napi_ok) return false;
    size_t len = 0;
    if (napi_get_value_string_utf8(env, e, nullptr, 0, &len) != napi_ok) {
      return c.TypeError(std::string(what) + "[" + std::to_string(k) + "] must be a string");
    }
    std::string s(len, '\0');
    if (napi_get_value_string_utf8(env, e, &s[0], len + 1, &len) != napi_ok) return false;
    s.resize(len);
    if (s.find('\0') != std::string::npos) return c.TypeError(std::string(what) + "[" + std::to_string(k) + "] must not contain NUL characters");
    out->push_back(std::move(s));
  }
  return true;
}

/** execve's form: pointers into `strings`, then NULL. */
std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(&s[0]);
  out.push_back(nullptr);
  return out;
}

}  // namespace

// spawn(file, args, env | null, cwd | null, stdin, stdout, stderr)
//   → [pid, processId, stdinId, stdoutId, stderrId] (-1 where not a pipe), or a libuv error
napi_value NativeIo::Spawn(Call& c) {
  std::string file;
  std::string cwd;
  bool has_cwd = false;
  bool has_args = false;
  bool has_env = false;
  std::vector<std::string> args;
  std::vector<std::string> env;
  int32_t stdio[3];
  if (!c.String(0, "file", &file) || !StringArray(c, 1, "args", false, &args, &has_args) ||
      !StringArray(c, 2, "env", true, &env, &has_env) || !c.StringOrNull(3, "cwd", &cwd, &has_cwd) ||
      !c.Int(4, "stdin", kStdioDevnull, INT32_MAX, &stdio[0]) || !c.Int(5, "stdout", kStdioDevnull, INT32_MAX, &stdio[1]) ||
      !c.Int(6, "stderr", kStdioDevnull, INT32_MAX, &stdio[2])) {
    return nullptr;
  }
  if (file.empty()) {
    c.RangeError("file must not be empty");
    return nullptr;
  }
  if (args.empty()) {
    c.RangeError("args must hold at least argv[0]");
    return nullptr;
  }
  if (stdio[0] == kStdioStdout || stdio[1] == kStdioStdout) {
    c.RangeError("only stderr can be STDOUT (-2)");
    return nullptr;
  }
  if (stdio[2] == kStdioStdout && stdio[1] != kStdioPipe) {
    c.RangeError("stderr can be STDOUT (-2) only when stdout is a pipe (-1)");
    return nullptr;
  }
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_EBADF);
  std::vector<char*> argv = Pointers(args);
  std::vector<char*> envp = Pointers(env);
  int32_t ids[4];
  int32_t pid = 0;
  const int32_t err = t->Spawn(file.c_str(), argv.data(), has_env ? envp.data() : nullptr, has_cwd ? cwd.c_str() : nullptr,
                               stdio, ids, &pid);
  if (err < 0) return c.Number(err);
  napi_value out;
  if (napi_create_array_with_length(c.env(), 5, &out) != napi_ok) return nullptr;
  const int32_t values[5] = {pid, ids[0], ids[1], ids[2], ids[3]};
  for (uint32_t i = 0; i < 5; ++i) {
    napi_value v;
    if (napi_create_int32(c.env(), values[i], &v) != napi_ok || napi_set_element(c.env(), out, i, v) != napi_ok) return nullptr;
  }
  return out;
}

// processKill(id, signum) → 0 or a libuv error (UV_ESRCH once the child has exited)
napi_value NativeIo::ProcessKill(Call& c) {
  int32_t id;
  int32_t signum;
  // 0 checks that the process exists; 64 is SIGRTMAX on Linux, above every other platform's.
  if (!IdArg(c, 0, &id) || !c.Int(1, "signum", 0, 64, &signum)) return nullptr;
  IoTable* t = Table();
  if (t == nullptr) return c.Number(UV_ESRCH);
  if (!CheckKind(c, t, id, kProcessOnly, "a process")) return nullptr;
  return c.Number(t->ProcessKill(id, signum));
}

}  // namespace aloop
