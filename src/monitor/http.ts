/**
 * Just enough HTTP/1.1 for the monitor, on aloop's own streams: requests with a head and an
 * optional Content-Length body, kept-alive connections, responses with a Content-Length. No
 * chunked bodies, no pipelining beyond answering requests in order, no upgrades: a browser tab
 * and `curl` are the clients.
 */
import { IncompleteReadError, LimitOverrunError } from '../errors.js';
import type { StreamReader, StreamWriter } from '../streams.js';

/** A request head (and body) as read. */
export interface HttpRequest {
  readonly method: string;
  /** The path, percent-decoded segment by segment is left to the router: as sent, without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names in lower case. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
  /** The client asked to close after this request (or spoke HTTP/1.0 without keep-alive). */
  readonly close: boolean;
}

/** A request that cannot be served: answered with `status` and the connection closed. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const HEAD_END = Buffer.from('\r\n\r\n');
/** Larger bodies are refused (the monitor's requests have none worth the name). */
const MAX_BODY = 64 * 1024;

/** Reads one request; null when the client closed the connection between requests. */
export async function readRequest(reader: StreamReader): Promise<HttpRequest | null> {
  let head: Buffer;
  try {
    head = await reader.readUntil(HEAD_END);
  } catch (e) {
    if (e instanceof IncompleteReadError && e.partial.length === 0) return null;
    if (e instanceof IncompleteReadError) throw new HttpError(400, 'incomplete request head');
    if (e instanceof LimitOverrunError) throw new HttpError(431, 'request head too large');
    throw e;
  }
  const lines = head.toString('latin1').split('\r\n');
  const [method, target, version] = lines[0]!.split(' ');
  if (!method || !target || !version || !/^HTTP\/1\.[01]$/.test(version)) throw new HttpError(400, 'bad request line');
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HttpError(400, 'bad header line');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  if (headers.has('transfer-encoding')) throw new HttpError(501, 'chunked request bodies are not supported');
  const length = headers.has('content-length') ? Number(headers.get('content-length')) : 0;
  if (!Number.isInteger(length) || length < 0) throw new HttpError(400, 'bad Content-Length');
  if (length > MAX_BODY) throw new HttpError(413, 'request body too large');
  let body: Buffer = Buffer.alloc(0);
  if (length > 0) {
    try {
      body = await reader.readExactly(length);
    } catch (e) {
      if (e instanceof IncompleteReadError) throw new HttpError(400, 'incomplete request body');
      throw e;
    }
  }
  const q = target.indexOf('?');
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const close = connection.includes('close') || (version === 'HTTP/1.0' && !connection.includes('keep-alive'));
  return {
    method,
    path: q < 0 ? target : target.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers,
    body,
    close,
  };
}

const REASONS: Record<number, string> = {
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
};

/** A response to write. */
export interface HttpResponse {
  readonly status: number;
  readonly type: string;
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Writes `res`, saying whether the connection stays open; waits until it is flushed enough. */
export async function writeResponse(writer: StreamWriter, res: HttpResponse, keepAlive: boolean, headOnly = false): Promise<void> {
  const body = typeof res.body === 'string' ? Buffer.from(res.body, 'utf8') : res.body;
  const lines = [
    `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? 'Unknown'}`,
    `Content-Type: ${res.type}`,
    `Content-Length: ${body.length}`,
    'Cache-Control: no-store',
    'X-Content-Type-Options: nosniff',
    `Connection: ${keepAlive ? 'keep-alive' : 'close'}`,
  ];
  for (const [k, v] of Object.entries(res.headers ?? {})) lines.push(`${k}: ${v}`);
  writer.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  if (!headOnly && body.length > 0) writer.write(body);
  await writer.drain();
}

/** A JSON response. */
export function json(value: unknown, status = 200): HttpResponse {
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

/** A plain-text response. */
export function text(body: string, status = 200): HttpResponse {
  return { status, type: 'text/plain; charset=utf-8', body };
}
