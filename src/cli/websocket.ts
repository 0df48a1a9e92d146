/**
 * A minimal WebSocket client (RFC 6455) on aloop's streams, for the Chrome DevTools Protocol that
 * the Node inspector speaks: text messages only, client frames masked, fragments joined, pings
 * answered, no extensions. Node 20 has no WebSocket without a flag, and this is all `aloop ps`
 * needs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { openConnection, type StreamReader, type StreamWriter } from '../streams.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

const enum Op {
  Continuation = 0,
  Text = 1,
  Binary = 2,
  Close = 8,
  Ping = 9,
  Pong = 10,
}

/** Messages larger than this are refused (a snapshot of a huge program is a few MB). */
const MAX_MESSAGE = 256 * 1024 * 1024;

export class WebSocketClient {
  readonly #reader: StreamReader;
  readonly #writer: StreamWriter;

  private constructor(reader: StreamReader, writer: StreamWriter) {
    this.#reader = reader;
    this.#writer = writer;
  }

  /** Connects to `url` (`ws://host:port/path`) and completes the opening handshake. */
  static async connect(url: string): Promise<WebSocketClient> {
    const u = new URL(url);
    if (u.protocol !== 'ws:') throw new Error(`only ws:// URLs are supported, not ${url}`);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const [reader, writer] = await openConnection(host, Number(u.port || 80), { limit: 1024 * 1024 });
    const key = randomBytes(16).toString('base64');
    writer.write(
      Buffer.from(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        'latin1',
      ),
    );
    const head = (await reader.readUntil(Buffer.from('\r\n\r\n'))).toString('latin1');
    const status = head.slice(0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      writer.close();
      throw new Error(`WebSocket handshake refused: ${status}`);
    }
    const accept = /\r\nsec-websocket-accept:\s*(\S+)/i.exec(head)?.[1];
    const want = createHash('sha1').update(key + GUID).digest('base64');
    if (accept !== want) {
      writer.close();
      throw new Error('WebSocket handshake: bad Sec-WebSocket-Accept');
    }
    return new WebSocketClient(reader, writer);
  }

  /** Sends one text message. */
  send(message: string): void {
    this.#frame(Op.Text, Buffer.from(message, 'utf8'));
  }

  /** The next text message (pings are answered meanwhile); null once the server closed. */
  async receive(): Promise<string | null> {
    const parts: Buffer[] = [];
    let size = 0;
    for (;;) {
      const h = await this.#reader.readExactly(2);
      const fin = (h[0]! & 0x80) !== 0;
      const op = h[0]! & 0x0f;
      let len = h[1]! & 0x7f;
      if (len === 126) len = (await this.#reader.readExactly(2)).readUInt16BE(0);
      else if (len === 127) len = Number((await this.#reader.readExactly(8)).readBigUInt64BE(0));
      if (size + len > MAX_MESSAGE) throw new Error(`WebSocket message over ${MAX_MESSAGE} bytes`);
      const mask = (h[1]! & 0x80) !== 0 ? await this.#reader.readExactly(4) : null;
      const payload = len > 0 ? await this.#reader.readExactly(len) : Buffer.alloc(0);
      if (mask !== null) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
      if (op === Op.Close) {
        this.close();
        return null;
      }
      if (op === Op.Ping) {
        this.#frame(Op.Pong, payload);
        continue;
      }
      if (op === Op.Pong) continue;
      if (op !== Op.Text && op !== Op.Binary && op !== Op.Continuation) throw new Error(`WebSocket: unknown opcode ${op}`);
      parts.push(payload);
      size += len;
      if (fin) return Buffer.concat(parts, size).toString('utf8');
    }
  }

  /** Sends a close frame and closes the connection. */
  close(): void {
    if (this.#writer.isClosing()) return;
    try {
      this.#frame(Op.Close, Buffer.alloc(0));
    } finally {
      this.#writer.close();
    }
  }

  #frame(op: number, payload: Buffer): void {
    const len = payload.length;
    const head = Buffer.alloc(len < 126 ? 2 : len < 65536 ? 4 : 10);
    head[0] = 0x80 | op;
    if (len < 126) head[1] = 0x80 | len;
    else if (len < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(len, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(len), 2);
    }
    const mask = randomBytes(4);
    const body = Buffer.allocUnsafe(len);
    for (let i = 0; i < len; i++) body[i] = payload[i]! ^ mask[i & 3]!;
    this.#writer.write(Buffer.concat([head, mask, body]));
  }
}
