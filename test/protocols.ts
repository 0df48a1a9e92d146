/** Protocols the network tests share. */
import { createHash, randomBytes } from 'node:crypto';
import * as aio from '../src/index.js';

/**
 * A protocol that records what arrives and the callbacks in order; `done` resolves at
 * connectionLost. Made inside a running loop.
 */
export class Collector implements aio.Protocol {
  chunks: Buffer[] = [];
  log: string[] = [];
  transport!: aio.Transport;
  done = aio.getRunningLoop().createFuture<Error | null>();
  keepOpen = false;
  connectionMade(t: aio.Transport) {
    this.transport = t;
    this.log.push('made');
  }
  dataReceived(d: Buffer) {
    if (this.log[this.log.length - 1] !== 'data') this.log.push('data');
    this.chunks.push(d);
  }
  eofReceived() {
    this.log.push('eof');
    return this.keepOpen;
  }
  connectionLost(exc: Error | null) {
    this.log.push('lost');
    this.done.setResult(exc);
  }
  get data() {
    return Buffer.concat(this.chunks);
  }
}

/** A Collector that follows flow control: `resumed` is pending while the transport paused it. */
export class FlowCollector extends Collector {
  pauses = 0;
  resumed: aio.Future<void> | null = null;
  pauseWriting() {
    this.pauses++;
    this.resumed = aio.getRunningLoop().createFuture<void>();
  }
  resumeWriting() {
    this.resumed!.setResult(undefined);
    this.resumed = null;
  }
}

/**
 * A server protocol that hashes what arrives (sha256), pausing its reading for 2 ms after every
 * `pauseEvery` bytes so the writer feels the backpressure; at EOF it answers `<bytes> <digest>`,
 * closes, and settles `digest`. `stats.pausesRead` counts the pauses.
 */
export function hashingReceiver(pauseEvery: number, digest: aio.Future<string>, stats: { pausesRead: number }): aio.Protocol {
  const loop = aio.getRunningLoop();
  const h = createHash('sha256');
  let t: aio.Transport;
  let n = 0;
  let since = 0;
  return {
    connectionMade(tr: aio.Transport) {
      t = tr;
    },
    dataReceived(d: Buffer) {
      h.update(d);
      n += d.length;
      since += d.length;
      if (since >= pauseEvery) {
        since = 0;
        stats.pausesRead++;
        t.pauseReading();
        if (t.isReading()) throw new Error('isReading() is true after pauseReading()');
        loop.callLater(0.002, () => t.resumeReading());
      }
    },
    eofReceived() {
      const hex = h.digest('hex');
      t.write(Buffer.from(`${n} ${hex}`));
      digest.setResult(hex);
      return false;
    },
  };
}

/**
 * Writes `total` bytes in `chunk`-sized pieces of random data (each numbered), waiting whenever
 * the transport pauses the protocol, then writeEof(); returns the sha256 of what was written.
 */
export async function writeNumbered(tr: aio.Transport, client: FlowCollector, total: number, chunk: number): Promise<string> {
  const h = createHash('sha256');
  const seed = randomBytes(chunk);
  const [low, high] = tr.getWriteBufferLimits();
  for (let i = 0; i < total / chunk; i++) {
    const piece = Buffer.from(seed);
    piece.writeUInt32BE(i, 0);
    h.update(piece);
    tr.write(piece);
    if (client.resumed) {
      if (tr.getWriteBufferSize() <= high) throw new Error('paused below the high-water mark');
      await client.resumed;
      if (tr.getWriteBufferSize() > low) throw new Error('resumed above the low-water mark');
    }
  }
  tr.writeEof();
  return h.digest('hex');
}
