/*
 * A ping-pong load client for echo servers, in C: the same job as bench/echo-client.mjs, but
 * cheap enough per request that the server under test, not the client, sets the pace. (The Node
 * client spends about as much CPU per request as the servers do, so on a 2-core machine every
 * server measured ~100k req/s.)
 *
 *   build/bench/echo_client --port N [--host 127.0.0.1] [--conns 10] [--size 1024]
 *                           [--duration 1] [--warmup 0.2] [--json]
 *
 * C connections, each sends one message of S bytes and waits for all S bytes to come back before
 * sending the next. One thread, one epoll set, non-blocking sockets with TCP_NODELAY. Prints
 * requests per second and p50/p99 round-trip latency over the measured window, or with --json
 * one line `{"rps":..,"p50":..,"p99":..,"requests":..}` (latencies in ms), the shape
 * runEchoClient() in echo-client.mjs resolves to.
 *
 * Errors (connection refused or reset, the server closing early, an echo longer than the message)
 * print a message on stderr and exit 1; bad options exit 2.
 *
 * Build: cc -O2 -o build/bench/echo_client bench/echo_client.c (bench/echo-client-c.mjs does it
 * on demand).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h> /* NAN and isnan only, both macros: no -lm needed */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { CONNECTING, RUNNING, DONE };

struct conn {
  int fd;
  enum state state;
  size_t sent;       /* bytes of the current message written so far */
  size_t got;        /* bytes of its echo read so far */
  uint64_t t0;       /* when the current message was first written (ns, CLOCK_MONOTONIC) */
  int want_out;      /* EPOLLOUT registered: only while a write is pending, to avoid busy wakeups */
};

static const char *opt_host = "127.0.0.1";
static const char *opt_port = NULL;
static long opt_conns = 10;
static long opt_size = 1024;
static double opt_duration = 1.0;
static double opt_warmup = 0.2;
static int opt_json = 0;

static int ep;
static struct conn *conns;
static char *msg;   /* the message: opt_size bytes of 'a', shared by every connection */
static char *rbuf;  /* scratch for reads; contents are not checked, only the byte count */

/* Latencies of the measured requests, in ns: preallocated for 2M requests (over 10 s at 150k
 * req/s), doubled beyond that. uint32 holds 4.29 s, far beyond any round trip here. */
static uint32_t *lat;
static size_t nlat, caplat;

static uint64_t win_start, win_end; /* measured window [win_start, win_end), ns */
static long requests;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("echo_client: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "echo_client: %s\n", why);
  fprintf(stderr, "usage: echo_client --port N [--host H] [--conns C] [--size S] [--duration SECS] "
                  "[--warmup SECS] [--json]\n");
  exit(2);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no syscall, ~20 ns */
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void set_events(struct conn *c, int want_out) {
  if (c->want_out == want_out) return;
  struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns) };
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  c->want_out = want_out;
}

static void conn_error(struct conn *c, const char *what, int err) {
  die("connection %ld to %s port %s: %s: %s", (long)(c - conns), opt_host, opt_port, what, strerror(err));
}

/* Writes as much of the current message as the socket takes; waits for EPOLLOUT for the rest. */
static void flush(struct conn *c) {
  while (c->sent < (size_t)opt_size) {
    /* MSG_NOSIGNAL: a reset connection must give EPIPE here, not kill the process with SIGPIPE. */
    ssize_t n = send(c->fd, msg + c->sent, (size_t)opt_size - c->sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      conn_error(c, "write", errno);
    }
    c->sent += (size_t)n;
  }
  set_events(c, c->sent < (size_t)opt_size);
}

static void start_request(struct conn *c, uint64_t t) {
  c->sent = 0;
  c->got = 0;
  c->t0 = t;
  flush(c);
}

static void record(uint64_t ns) {
  if (nlat == caplat) {
    caplat *= 2;
    lat = realloc(lat, caplat * sizeof *lat);
    if (!lat) die("out of memory for %zu latencies", caplat);
  }
  lat[nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

/* One read per readiness event: epoll is level-triggered, so anything left is reported again on
 * the next epoll_wait, and a second read that would only return EAGAIN is saved. Reads at most
 * one byte more than the echo still owed, so an over-long echo is seen on the read that brings it. */
static void on_readable(struct conn *c) {
  ssize_t n;
  do n = read(c->fd, rbuf, (size_t)opt_size - c->got + 1);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    conn_error(c, "read", errno);
  }
  if (n == 0) die("connection %ld: the server closed the connection mid-run", (long)(c - conns));
  if (c->state == DONE) die("connection %ld: %zd unexpected bytes after the last echo", (long)(c - conns), n);
  c->got += (size_t)n;
  if (c->got > (size_t)opt_size || c->got > c->sent)
    die("connection %ld: echo returned at least %zu bytes for a %ld-byte message (%zu sent so far)",
        (long)(c - conns), c->got, opt_size, c->sent);
  if (c->got < (size_t)opt_size) return;

  /* The whole echo is back: one clock read both ends this request and starts the next. */
  uint64_t t = now_ns();
  if (t >= win_start && t < win_end) {
    record(t - c->t0);
    requests++;
  }
  if (t >= win_end) {
    /* Past the window: this connection sends no more. It is closed once all are done, with
     * nothing unread, so the server sees an ordinary close (FIN) rather than a reset. */
    c->state = DONE;
    set_events(c, 0);
  } else {
    start_request(c, t);
  }
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Same rule as echo-client.mjs: the element at floor(p * n), in ms; NaN when nothing was measured. */
static double pct(double p) {
  if (nlat == 0) return NAN;
  size_t i = (size_t)(p * (double)nlat); /* truncation is floor here: the product is >= 0 */
  if (i > nlat - 1) i = nlat - 1;
  return lat[i] / 1e6;
}

/* Prints a number as JSON: the shortest of %.15g..%.17g that reads back exactly (as JS prints
 * numbers), and null for NaN, as JSON.stringify does. */
static void print_num(double v) {
  if (isnan(v)) { fputs("null", stdout); return; }
  char s[32];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, v);
    if (strtod(s, NULL) == v) break;
  }
  fputs(s, stdout);
}

static double parse_num(const char *name, const char *s) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end) {
    char why[256];
    snprintf(why, sizeof why, "--%s: not a number: %s", name, s);
    usage(why);
  }
  return v;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) { opt_json = 1; continue; }
    if (strncmp(a, "--", 2) != 0 || i + 1 >= argc) {
      char why[256];
      snprintf(why, sizeof why, "unknown option or missing value: %s", a);
      usage(why);
    }
    const char *k = a + 2, *v = argv[++i];
    if (strcmp(k, "port") == 0) opt_port = v;
    else if (strcmp(k, "host") == 0) opt_host = v;
    else if (strcmp(k, "conns") == 0) opt_conns = (long)parse_num(k, v);
    else if (strcmp(k, "size") == 0) opt_size = (long)parse_num(k, v);
    else if (strcmp(k, "duration") == 0) opt_duration = parse_num(k, v);
    else if (strcmp(k, "warmup") == 0) opt_warmup = parse_num(k, v);
    else {
      char why[256];
      snprintf(why, sizeof why, "unknown option %s", a);
      usage(why);
    }
  }
  if (!opt_port || atol(opt_port) <= 0) usage("--port is required");
  if (opt_conns < 1 || opt_conns > 100000) usage("--conns must be between 1 and 100000");
  if (opt_size < 1 || opt_size > (1L << 30)) usage("--size must be between 1 and 1 GiB");
  if (!(opt_duration > 0)) usage("--duration must be > 0");
  if (!(opt_warmup >= 0)) usage("--warmup must be >= 0");

  /* Numeric only (IPv4 or IPv6 literal): a benchmark should not depend on, or time, a resolver. */
  struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                            .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
  struct addrinfo *ai;
  int gai = getaddrinfo(opt_host, opt_port, &hints, &ai);
  if (gai) die("bad address %s port %s (a numeric IPv4 or IPv6 address is needed): %s",
               opt_host, opt_port, gai_strerror(gai));

  msg = malloc((size_t)opt_size);
  rbuf = malloc((size_t)opt_size + 1);
  conns = calloc((size_t)opt_conns, sizeof *conns);
  /* Pre-touched, so page faults stay out of the measured window. */
  caplat = 1u << 21;
  lat = malloc(caplat * sizeof *lat);
  if (!msg || !rbuf || !conns || !lat) die("out of memory");
  memset(msg, 'a', (size_t)opt_size);
  memset(lat, 0, caplat * sizeof *lat);

  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1: %s", strerror(errno));

  /* Non-blocking connects, all in flight at once; each completes as EPOLLOUT. */
  for (long i = 0; i < opt_conns; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket: %s", strerror(errno));
    int one = 1;
    /* Without TCP_NODELAY a message that needs two segments can wait on a delayed ACK (Nagle). */
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
      die("setsockopt TCP_NODELAY: %s", strerror(errno));
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
      conn_error(c, "connect", errno);
    c->state = CONNECTING;
    c->want_out = 1;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
  }
  freeaddrinfo(ai);

  /* As in echo-client.mjs the warm-up starts with the connects. The window is defined by
   * timestamps, not by when the loop happens to wake, so requests/window is exact. */
  uint64_t t_begin = now_ns();
  win_start = t_begin + (uint64_t)(opt_warmup * 1e9);
  win_end = win_start + (uint64_t)(opt_duration * 1e9);
  /* After the window, in-flight requests get this long to come back before we give up on them
   * (a stalled server must not hang the benchmark). */
  uint64_t give_up = win_end + 2000000000u;

  long done = 0;
  struct epoll_event evs[256];
  while (done < opt_conns) {
    uint64_t t = now_ns();
    if (t >= give_up) {
      fprintf(stderr, "echo_client: %ld of %ld connections still waiting for an echo 2 s after the run; "
                      "closing them\n", opt_conns - done, opt_conns);
      break;
    }
    /* Wake at the window's end even if every connection is stalled, and at the give-up time. */
    uint64_t next = t < win_end ? win_end : give_up;
    int timeout = (int)((next - t + 999999) / 1000000);
    int n = epoll_wait(ep, evs, 256, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait: %s", strerror(errno));
    }
    for (int k = 0; k < n; k++) {
      struct conn *c = &conns[evs[k].data.u32];
      uint32_t e = evs[k].events;
      if (c->state == CONNECTING) {
        if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) continue;
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
        if (err) conn_error(c, "connect", err);
        c->state = RUNNING;
        c->want_out = 1; /* registered with EPOLLOUT; flush() drops it once the write is done */
        uint64_t t1 = now_ns();
        if (t1 >= win_end) { c->state = DONE; set_events(c, 0); done++; continue; }
        start_request(c, t1);
        continue;
      }
      /* Read first: on a reset the read names the error (ECONNRESET) better than EPOLLERR does. */
      if (e & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        enum state before = c->state;
        on_readable(c);
        if (before != DONE && c->state == DONE) { done++; continue; }
      }
      if ((e & EPOLLERR) && c->state != DONE) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) conn_error(c, "socket error", err);
      }
      if ((e & EPOLLOUT) && c->state == RUNNING) flush(c);
    }
  }
  for (long i = 0; i < opt_conns; i++) close(conns[i].fd);

  qsort(lat, nlat, sizeof *lat, cmp_u32);
  double secs = (double)(win_end - win_start) / 1e9;
  double rps = (double)requests / secs, p50 = pct(0.5), p99 = pct(0.99);
  if (opt_json) {
    fputs("{\"rps\":", stdout); print_num(rps);
    fputs(",\"p50\":", stdout); print_num(p50);
    fputs(",\"p99\":", stdout); print_num(p99);
    printf(",\"requests\":%ld}\n", requests);
  } else {
    printf("%ld req/s  p50 %.3f ms  p99 %.3f ms  (%ld conns, %ld B)\n",
           (long)(rps + 0.5), p50, p99, opt_conns, opt_size);
  }
  return 0;
}
