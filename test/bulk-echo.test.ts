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
import { ioSizes, ownBufferReads } from '../src/loops/native/io.js';
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

/** Runs `conns` echoes of `size` bytes each at once and checks every byte came back in order. */
async function echoAll(conns: number, size: number): Promise<void> {
  const loop = aio.getRunningLoop();
  const server = await loop.createServer(echo, HOST, 0);
  const port = (server.sockets[0]!.getsockname() as [string, number])[1];
  const payloads = Array.from({ length: conns }, () => randomBytes(size));
  const senders = await Promise.all(payloads.map((p) => loop.createConnection(() => new Sender(p, loop), HOST, port)));
  try {
    await aio.waitFor(
      Promise.all(senders.map(([, s]) => s.done)),
      30,
    );
    for (let i = 0; i < conns; i++) {
      const got = Buffer.concat(senders[i]![1].chunks);
      expect(got.length).toBe(size);
      expect(got.equals(payloads[i]!), `connection ${i}: echoed bytes differ`).toBe(true);
    }
  } finally {
    for (const [t] of senders) t.close();
    server.close();
    await server.waitClosed();
  }
}

eachLoop((lc) => {
  // The native loop reads into its arena; a read that does not fit there arrives in a Buffer of
  // its own (a spare JS supplied, else malloc'd memory). With the real 1 MiB arena that is rare,
  // so a small one makes every poll overflow it. (The pure loop has no arena: the same echo.)
  test('reads that do not fit the read arena arrive whole and in order', async () => {
    const before = ownBufferReads.count;
    const saved = ioSizes.arena;
    ioSizes.arena = 128 * 1024;
    try {
      await lc.run(() => echoAll(8, 1024 * 1024));
    } finally {
      ioSizes.arena = saved;
    }
    if (lc.name === 'native') expect(ownBufferReads.count - before).toBeGreaterThan(0);
  }, 60_000);

  test(`${CONNS} connections × ${SIZE / 1024} KiB echoed at once: every byte back, in order`, async () => {
    await lc.run(() => echoAll(CONNS, SIZE));
  }, 60_000);
});
