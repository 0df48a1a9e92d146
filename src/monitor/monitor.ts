/**
 * `monitor()`: a small HTTP server on the loop it watches, written on aloop's own streams.
 *
 *     GET  {url}                   the page: task tree, loop lag, cancel buttons
 *     GET  {url}tasks              JSON: the live tasks (TaskInfo[])
 *     GET  {url}stats              JSON: the loop's statistics (LoopStats)
 *     GET  {url}tasks/{id}/graph   text: the task's call graph (formatCallGraph)
 *     POST {url}tasks/{id}/cancel  cancels the task (needs the header `X-Aloop-Monitor`)
 *
 * Safety: it listens on 127.0.0.1 by default and then answers only requests whose Host is a
 * loopback name (a web page cannot rebind a DNS name onto it). Bound elsewhere, every URL sits
 * under a secret token path (`http://host:port/<token>/`), given or made up. Cancelling takes a
 * POST with a custom header, which no other origin can send without a CORS preflight, and the
 * monitor answers none. The monitor's own tasks (connections, its probe) are never listed.
 *
 * It runs on the loop it watches: when that loop is blocked, the monitor is too (the page says it
 * cannot reach it); lag figures show how late the loop runs, as seen from the loop itself.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Future } from '../futures.js';
import { type AbstractEventLoop, getRunningLoop, describe } from '../events.js';
import { startServer, type StreamReader, type StreamWriter } from '../streams.js';
import { Task, currentTask } from '../task.js';
import type { Server } from '../transports.js';
import { formatCallGraph } from '../graph.js';
import { LoopProbe, loopStats } from '../introspect/stats.js';
import { hideTask, isHidden, registerMonitor, taskInfos, unregisterMonitor } from '../introspect/snapshot.js';
import { objectOf } from '../introspect/ids.js';
import { HttpError, type HttpRequest, type HttpResponse, json, readRequest, text, writeResponse } from './http.js';
import { monitorPage } from './page.js';

export interface MonitorOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to listen on. Anything but a loopback address requires a token. @default '127.0.0.1' */
  host?: string;
  /**
   * The secret path segment every URL starts with (8 or more of `A-Z a-z 0-9 . _ ~ -`). Off
   * loopback, one is made up when not given; on loopback, none unless given.
   */
  token?: string | null;
  /** Seconds between the probe's lag and rate samples. @default 0.5 */
  interval?: number;
}

/** A running monitor. */
export interface Monitor {
  /** The base URL, ending in `/` (with the token path when there is one). */
  readonly url: string;
  /** Stops listening and closes the connections; the Future is done once they are closed. */
  close(): Future<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Idle kept-alive connections are closed after this many seconds. */
const IDLE_SECONDS = 10;
const TOKEN = /^[A-Za-z0-9._~-]{8,}$/;

/**
 * Starts the monitor of the running loop; resolves once it listens.
 *
 * @example
 * const m = await monitor();          // http://127.0.0.1:PORT/
 * console.log(`tasks at ${m.url}`);
 * // ...
 * await m.close();
 */
export function monitor(options: MonitorOptions = {}): Future<Monitor> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`options must be an object, not ${describe(options)}`);
  const port = options.port ?? 0;
  if (typeof port !== 'number') throw new TypeError(`port must be a number, not ${describe(port)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer from 0 to 65535, not ${port}`);
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new TypeError(`host must be a non-empty string, not ${describe(host)}`);
  const interval = options.interval ?? 0.5;
  if (typeof interval !== 'number') throw new TypeError(`interval must be a number (seconds), not ${describe(interval)}`);
  if (!(interval > 0) || !Number.isFinite(interval)) throw new RangeError(`interval must be a finite number of seconds > 0, not ${interval}`);
  let token = options.token ?? null;
  if (token !== null) {
    if (typeof token !== 'string') throw new TypeError(`token must be a string or null, not ${describe(token)}`);
    if (!TOKEN.test(token)) throw new RangeError('token must be 8 or more characters from A-Z a-z 0-9 . _ ~ -');
  }
  const loopback = isLoopback(host);
  if (!loopback && token === null) token = randomBytes(18).toString('base64url');

  const loop = getRunningLoop();
  const task = loop.createTask(
    async () => {
      const m = new MonitorServer(loop, host, loopback, token, interval);
      await m.start(port);
      return m as Monitor;
    },
    { name: 'aloop.monitor start' },
  );
  hideTask(task);
  return task;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '::ffff:127.0.0.1';
}

class MonitorServer implements Monitor {
  readonly #loop: AbstractEventLoop;
  readonly #host: string;
  readonly #loopback: boolean;
  readonly #token: string | null;
  readonly #probe: LoopProbe;
  #server: Server | null = null;
  #url = '';
  #allowedHosts = new Set<string>();
  #closing: Future<void> | null = null;

  constructor(loop: AbstractEventLoop, host: string, loopback: boolean, token: string | null, interval: number) {
    this.#loop = loop;
    this.#host = host;
    this.#loopback = loopback;
    this.#token = token;
    this.#probe = new LoopProbe(loop, interval);
  }

  get url(): string {
    return this.#url;
  }

  async start(port: number): Promise<void> {
    try {
      this.#server = await startServer((r, w) => this.#serve(r, w), this.#host, port);
    } catch (e) {
      this.#probe.stop();
      throw e;
    }
    const bound = this.#server.sockets[0]!.getsockname() as [string, number];
    const name = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    this.#url = `http://${name}:${bound[1]}/${this.#token !== null ? `${this.#token}/` : ''}`;
    for (const h of ['127.0.0.1', 'localhost', '[::1]', name]) this.#allowedHosts.add(`${h}:${bound[1]}`);
    registerMonitor(this.#url, this.#loop, this.#probe);
  }

  close(): Future<void> {
    if (this.#closing !== null) return this.#closing;
    this.#probe.stop();
    unregisterMonitor(this.#url);
    const server = this.#server!;
    server.close();
    // Kept-alive connections (a browser's, fetch's pool) would hold waitClosed() open.
    server.closeClients();
    if (this.#loop.isClosed()) {
      // Closed with its loop: nothing can wait any more; the server closed what it could.
      const f = this.#loop.createFuture<void>();
      f.setResult();
      return (this.#closing = f);
    }
    const t = this.#loop.createTask(
      async () => {
        await server.waitClosed();
      },
      { name: 'aloop.monitor close' },
    );
    hideTask(t);
    return (this.#closing = t);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  toString(): string {
    return `<Monitor ${this.#url}>`;
  }

  /** One connection: requests in order, kept alive until idle, closed, or the monitor closes. */
  async #serve(reader: StreamReader, writer: StreamWriter): Promise<void> {
    const self = currentTask();
    if (self !== null) {
      hideTask(self);
      // Named, for debug mode's slow-callback warnings.
      self.setName('aloop.monitor connection');
    }
    let idle = this.#loop.callLater(IDLE_SECONDS, () => writer.close());
    try {
      for (;;) {
        let req: HttpRequest | null;
        try {
          req = await readRequest(reader);
        } catch (e) {
          if (e instanceof HttpError) await writeResponse(writer, text(e.message, e.status), false);
          break;
        }
        if (req === null) break;
        idle.cancel();
        let res: HttpResponse;
        try {
          res = this.#route(req);
        } catch (e) {
          res = e instanceof HttpError ? text(e.message, e.status) : text(`internal error: ${String(e)}`, 500);
        }
        const keepAlive = !req.close && this.#closing === null;
        await writeResponse(writer, res, keepAlive, req.method === 'HEAD');
        if (!keepAlive) break;
        idle = this.#loop.callLater(IDLE_SECONDS, () => writer.close());
      }
    } catch {
      // The client went away mid-request or mid-response: nothing to tell anyone.
    } finally {
      idle.cancel();
      writer.close();
    }
  }

  #route(req: HttpRequest): HttpResponse {
    if (this.#loopback && !this.#allowedHosts.has((req.headers.get('host') ?? '').toLowerCase())) {
      throw new HttpError(403, 'this monitor answers only to a loopback Host');
    }
    const prefix = this.#token !== null ? `/${this.#token}/` : '/';
    if (!sameSecret(req.path.slice(0, prefix.length), prefix)) throw new HttpError(404, 'not found');
    const rest = req.path.slice(prefix.length);
    const get = req.method === 'GET' || req.method === 'HEAD';
    if (rest === '' || rest === 'tasks' || rest === 'stats' || /^tasks\/\d+\/graph$/.test(rest)) {
      if (!get) return methodNotAllowed('GET, HEAD');
      if (rest === '') return this.#page();
      if (rest === 'tasks') return json(taskInfos([this.#loop]));
      if (rest === 'stats') return json(loopStats(this.#loop, this.#probe));
      return text(formatCallGraph(this.#task(rest)));
    }
    if (/^tasks\/\d+\/cancel$/.test(rest)) {
      if (req.method !== 'POST') return methodNotAllowed('POST');
      // A custom header: other origins cannot send it without a preflight, which gets no CORS answer.
      if (!req.headers.has('x-aloop-monitor')) throw new HttpError(403, 'cancelling needs the X-Aloop-Monitor header');
      const t = this.#task(rest);
      return json({ id: Number(rest.split('/')[1]), cancelled: t.cancel('cancelled from the aloop monitor') });
    }
    throw new HttpError(404, 'not found');
  }

  /** The live task with the id in `tasks/{id}/...`, of this loop and not the monitor's own. */
  #task(rest: string): Task<unknown> {
    const t = objectOf(Number(rest.split('/')[1]));
    if (!(t instanceof Task) || t._loop !== this.#loop || t.done() || isHidden(t)) throw new HttpError(404, 'no such live task');
    return t;
  }

  #page(): HttpResponse {
    const nonce = randomBytes(16).toString('base64');
    return {
      status: 200,
      type: 'text/html; charset=utf-8',
      body: monitorPage(nonce),
      headers: {
        'Content-Security-Policy':
          `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; ` +
          "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        // The token is in the path: never send it to anyone else.
        'Referrer-Policy': 'no-referrer',
      },
    };
  }
}

function methodNotAllowed(allow: string): HttpResponse {
  return { ...text('method not allowed', 405), headers: { Allow: allow } };
}

/** Compares a path prefix with the secret one in constant time (it may hold the token). */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
