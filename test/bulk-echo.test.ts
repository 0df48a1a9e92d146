/**
 * Many connections moving bulk data at once, with the last bytes of each at the very end: every
 * byte must come back, and nothing may wait for more traffic to be delivered.
 *
 * On the native loop one libuv poll here reads far more than kDeliverBytes (native/io.h), so JS
 * runs iterations in the middle of the poll (LoopCore::DeliverNow). Sockets that reached their
 * per-iteration read budget then wait for the next iteration, and one must come even when the
 * mid-poll delivery already took the poll's last records: once, none came, and libuv spun on the
 * readable sockets with every echo's tail unread.
 */
import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const HOST = '127.0.0.1';
const CONNS = 40;
const SIZE = 768 * 1024;

/** Echoes every byte, and closes on EOF. */
function echo(): aio.Protocol {
  let t: aio.Transport;
  return {
    connectionMade(tr) {
      t = tr;
    },
    dataReceived(d) {
      t.write(d);
    },
  };
}

/** Sends `payload` in one write, then collects the echo until it is all back. */
class Sender implements aio.Protocol {
  readonly chunks: Buffer[] = [];
  received = 0;
  readonly done: aio.Future<void>;

  constructor(
    private readonly payload: Buffer,
    loop: aio.AbstractEventLoop,
  ) {
    this.done = loop.createFuture();
  }

  connectionMade(t: aio.BaseTransport): void {
    (t as aio.Transport).write(this.payload);
  }

  dataReceived(d: Buffer): void {
    this.chunks.push(d);
    this.received += d.length;
    if (this.received >= this.payload.length && !this.done.done()) this.done.setResult(undefined);
  }

  connectionLost(exc: Error | null): void {
    if (!this.done.done()) this.done.setException(exc ?? new Error(`closed after ${this.received} of ${this.payload.length} bytes`));
  }
}

eachLoop((lc) => {
  test(`${CONNS} connections × ${SIZE / 1024} KiB echoed at once: every byte back, in order`, async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(echo, HOST, 0);
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const payloads = Array.from({ length: CONNS }, () => randomBytes(SIZE));
      const conns = await Promise.all(payloads.map((p) => loop.createConnection(() => new Sender(p, loop), HOST, port)));
      try {
        await aio.waitFor(
          Promise.all(conns.map(([, s]) => s.done)),
          30,
        );
        for (let i = 0; i < CONNS; i++) {
          const got = Buffer.concat(conns[i]![1].chunks);
          expect(got.length).toBe(SIZE);
          expect(got.equals(payloads[i]!), `connection ${i}: echoed bytes differ`).toBe(true);
        }
      } finally {
        for (const [t] of conns) t.close();
        server.close();
        await server.waitClosed();
      }
    });
  }, 60_000);
});
