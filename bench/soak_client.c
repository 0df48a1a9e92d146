/*
 * The soak's load client, in C (bench/soak.mjs builds and runs it): many connections, each
 * sending a payload of a random size and checking every byte of its echo before the next.
 *
 *   build/bench/soak_client --port N [--conns 1000] [--duration 10] [--min 1] [--max 262144]
 *                           [--seed 1] [--stall-ms 1000]
 *
 * Why C: a Node client at 1,000+ connections moving GB/s spends as much CPU as the server under
 * test and is not fair itself (in one run, hundreds of its sockets held a whole echo unread in the
 * kernel for 5 s while the rest ran), so it measured its own stalls, not the server's. This one
 * is one thread, one level-triggered epoll set, one read per ready socket per round: every
 * connection gets its turn, and a connection that waits is the server's doing. A read takes at
 * most 32 MiB / connections (4–64 KiB), so that a round of the client over every connection stays
 * well under a second even at 10,000 connections.
 *
 * Payloads are slices of one random block at random offsets, so a check is a memcmp. "Progress"
 * is any echoed byte arriving; a connection's gap is the longest time between two (from the
 * moment all connections are up to the end). Prints one JSON line:
 *   {"bytes":..,"payloads":..,"errors":..,"mismatched":..,"stalled":..,"maxGapMs":..,"seconds":..}
 * Errors (a reset, the server closing) count and drop that connection; bad options exit 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  int dead;
  int want_out;      /* EPOLLOUT registered (only while a write is pending) */
  size_t off, size;  /* the payload: block[off, off + size) */
  size_t sent, got;
  uint64_t last;     /* the last progress (ns) */
  uint64_t gap;      /* the longest gap so far (ns) */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: the same seed gives the same block, sizes and offsets. */
static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static long opt_port = -1, opt_conns = 1000, opt_min = 1, opt_max = 256 * 1024, opt_seed = 1, opt_stall = 1000;
static double opt_duration = 10;

static unsigned char *block;
static size_t block_len;
static int ep;
static struct conn *conns;
static long bytes, payloads, errors, mismatched;

static void usage(const char *why) {
  fprintf(stderr, "soak_client: %s\n", why);
  exit(2);
}

static void set_out(struct conn *c, int on) {
  if (c->want_out == on) return;
  struct epoll_event e = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
  c->want_out = on;
}

static void drop(struct conn *c, int count) {
  if (c->dead) return;
  c->dead = 1;
  if (count) errors++;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
}

static void pump_out(struct conn *c) {
  while (c->sent < c->size) {
    ssize_t n = send(c->fd, block + c->off + c->sent, c->size - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += (size_t)n;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      set_out(c, 1);
      return;
    }
    if (n < 0 && errno == EINTR) continue;
    drop(c, 1);
    return;
  }
  set_out(c, 0);
}

static void next_payload(struct conn *c) {
  c->size = (size_t)opt_min + (size_t)(rnd() % (uint64_t)(opt_max - opt_min + 1));
  c->off = (size_t)(rnd() % (uint64_t)(block_len - c->size));
  c->sent = c->got = 0;
  pump_out(c);
}

static void on_in(struct conn *c, unsigned char *buf, size_t cap, int running) {
  ssize_t n = recv(c->fd, buf, cap, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    drop(c, running);
    return;
  }
  size_t k = (size_t)n;
  if (c->got + k > c->size || memcmp(buf, block + c->off + c->got, k) != 0) {
    /* Count the bytes that differ (and any past the payload), then give up on this stream. */
    size_t room = c->got < c->size ? c->size - c->got : 0;
    size_t same = k < room ? k : room;
    long bad = (long)(k - same);
    for (size_t i = 0; i < same; i++) bad += buf[i] != block[c->off + c->got + i];
    mismatched += bad;
    drop(c, 1);
    return;
  }
  c->got += k;
  bytes += (long)k;
  uint64_t t = now_ns();
  if (t - c->last > c->gap) c->gap = t - c->last;
  c->last = t;
  if (c->got == c->size) {
    payloads++;
    if (running) next_payload(c);
  }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i];
    if (i + 1 >= argc) usage("every option takes a value");
    const char *v = argv[++i];
    if (!strcmp(k, "--port")) opt_port = atol(v);
    else if (!strcmp(k, "--conns")) opt_conns = atol(v);
    else if (!strcmp(k, "--duration")) opt_duration = atof(v);
    else if (!strcmp(k, "--min")) opt_min = atol(v);
    else if (!strcmp(k, "--max")) opt_max = atol(v);
    else if (!strcmp(k, "--seed")) opt_seed = atol(v);
    else if (!strcmp(k, "--stall-ms")) opt_stall = atol(v);
    else usage("unknown option");
  }
  if (opt_port <= 0 || opt_port > 65535) usage("--port N is required (1-65535)");
  if (opt_conns < 1 || opt_min < 1 || opt_max < opt_min || opt_duration <= 0) usage("bad --conns/--min/--max/--duration");
  rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)opt_seed;
  block_len = 2 * (size_t)opt_max + (1u << 20);
  block = malloc(block_len);
  conns = calloc((size_t)opt_conns, sizeof *conns);
  unsigned char *buf = malloc(64 * 1024);
  if (!block || !conns || !buf) usage("out of memory");
  for (size_t i = 0; i < block_len; i++) block[i] = (unsigned char)(rnd() >> 56);
  ep = epoll_create1(0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);

  /* Connect in batches: a burst of 10k overflows any accept backlog (SYN retries take seconds). */
  const long batch = 256;
  for (long i = 0; i < opt_conns; i += batch) {
    long end = i + batch < opt_conns ? i + batch : opt_conns;
    for (long j = i; j < end; j++) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      if (fd < 0) {
        perror("soak_client: socket");
        return 1;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        perror("soak_client: connect");
        return 1;
      }
      conns[j].fd = fd;
      struct epoll_event e = {.events = EPOLLOUT, .data.ptr = &conns[j]};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
    }
    long pending = end - i;
    struct epoll_event evs[256];
    while (pending > 0) {
      int n = epoll_wait(ep, evs, 256, 5000);
      if (n <= 0) {
        fprintf(stderr, "soak_client: connecting timed out\n");
        return 1;
      }
      for (int k = 0; k < n; k++) {
        struct conn *c = evs[k].data.ptr;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          fprintf(stderr, "soak_client: connect: %s\n", strerror(err));
          return 1;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        pending--;
      }
    }
  }

  /* One byte there and back on every connection before the clock starts: the server has then
   * accepted each of them (a connect completes in the kernel before the server accepts). */
  {
    long waiting = 0;
    for (long j = 0; j < opt_conns; j++) {
      if (send(conns[j].fd, block, 1, MSG_NOSIGNAL) != 1) {
        perror("soak_client: hello");
        return 1;
      }
      waiting++;
    }
    struct epoll_event evs[1024];
    const uint64_t give_up = now_ns() + 60000000000ull;
    while (waiting > 0) {
      int n = epoll_wait(ep, evs, 1024, 1000);
      for (int k = 0; k < n; k++) {
        struct conn *c = evs[k].data.ptr;
        unsigned char b;
        ssize_t r = recv(c->fd, &b, 1, 0);
        if (r == 1) {
          waiting--;
        } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          fprintf(stderr, "soak_client: the server closed a connection before echoing one byte\n");
          return 1;
        }
      }
      if (now_ns() > give_up) {
        fprintf(stderr, "soak_client: %ld connections got no echo in 60 s\n", waiting);
        return 1;
      }
    }
  }

  size_t read_cap = (32u << 20) / (size_t)opt_conns;
  if (read_cap < 4096) read_cap = 4096;
  if (read_cap > 64 * 1024) read_cap = 64 * 1024;
  const uint64_t start = now_ns();
  const uint64_t stop = start + (uint64_t)(opt_duration * 1e9);
  for (long j = 0; j < opt_conns; j++) {
    conns[j].last = start;
    next_payload(&conns[j]);
  }
  struct epoll_event evs[1024];
  uint64_t t = start;
  while (t < stop) {
    int n = epoll_wait(ep, evs, 1024, 50);
    for (int k = 0; k < n; k++) {
      struct conn *c = evs[k].data.ptr;
      if (c->dead) continue;
      if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_in(c, buf, read_cap, 1);
      if (!c->dead && (evs[k].events & EPOLLOUT)) pump_out(c);
    }
    t = now_ns();
  }
  /* A connection that never progresses again has no read to close its gap: close it here. */
  long stalled = 0;
  uint64_t max_gap = 0;
  for (long j = 0; j < opt_conns; j++) {
    struct conn *c = &conns[j];
    if (!c->dead && t - c->last > c->gap) c->gap = t - c->last;
    if (c->gap > (uint64_t)opt_stall * 1000000u) stalled++;
    if (c->gap > max_gap) max_gap = c->gap;
    if (!c->dead) drop(c, 0);
  }
  printf("{\"bytes\":%ld,\"payloads\":%ld,\"errors\":%ld,\"mismatched\":%ld,\"stalled\":%ld,\"maxGapMs\":%.0f,\"seconds\":%.2f}\n",
         bytes, payloads, errors, mismatched, stalled, (double)max_gap / 1e6, (double)(t - start) / 1e9);
  return 0;
}
