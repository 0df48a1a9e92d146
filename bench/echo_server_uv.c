/*
 * The physical-limit echo server: plain C on libuv, what any loop over libuv can at best approach.
 *
 *   build/bench/echo_server_uv [--port 0] [--host 127.0.0.1]
 *
 * Prints `listening <port>` once ready (the shape bench/echo-server.mjs prints) and echoes until
 * killed. Each read goes to a 256 KiB buffer; the echo is tried at once (uv_try_write) and only
 * the rest is copied and queued, which is what the native loop does, minus JS.
 *
 * Build: cc -O2 -o build/bench/echo_server_uv bench/echo_server_uv.c -luv (needs libuv's headers
 * and library: Debian's libuv1-dev; bench/echo-client-c.mjs builds it on demand). This program is
 * the only thing here linked against a system libuv; the addon uses Node's own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t *loop;
static char rbuf[256 * 1024];

struct wreq {
  uv_write_t req;
  uv_buf_t buf;
};

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_write(uv_write_t *req, int status) {
  struct wreq *w = (struct wreq *)req;
  free(w->buf.base);
  free(w);
  if (status < 0 && !uv_is_closing((uv_handle_t *)req->handle)) uv_close((uv_handle_t *)req->handle, on_close);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  if (nread < 0) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_close);
    return;
  }
  if (nread == 0) return;
  uv_buf_t b = uv_buf_init(buf->base, (unsigned)nread);
  int n = uv_stream_get_write_queue_size(s) == 0 ? uv_try_write(s, &b, 1) : UV_EAGAIN;
  if (n == nread) return;
  if (n < 0 && n != UV_EAGAIN) {
    if (!uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_close);
    return;
  }
  size_t off = n > 0 ? (size_t)n : 0;
  size_t rest = (size_t)nread - off;
  struct wreq *w = malloc(sizeof *w);
  w->buf = uv_buf_init(malloc(rest), (unsigned)rest);
  memcpy(w->buf.base, buf->base + off, rest);
  uv_write(&w->req, s, &w->buf, 1, on_write);
}

static void on_connection(uv_stream_t *server, int status) {
  if (status < 0) return;
  uv_tcp_t *c = malloc(sizeof *c);
  uv_tcp_init(loop, c);
  if (uv_accept(server, (uv_stream_t *)c) != 0) {
    uv_close((uv_handle_t *)c, on_close);
    return;
  }
  uv_tcp_nodelay(c, 1);
  uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else {
      fprintf(stderr, "echo_server_uv: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  loop = uv_default_loop();
  uv_tcp_t server;
  struct sockaddr_in addr;
  uv_tcp_init(loop, &server);
  if (uv_ip4_addr(host, port, &addr) != 0 || uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0) != 0 ||
      uv_listen((uv_stream_t *)&server, 1024, on_connection) != 0) {
    fprintf(stderr, "echo_server_uv: cannot listen on %s:%d\n", host, port);
    return 1;
  }
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&server, (struct sockaddr *)&bound, &len);
  printf("listening %d\n", ntohs(bound.sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
