/**
 * Protocols: the callbacks a transport calls (asyncio's `protocols.py`). Protocols are plain
 * objects or classes recognised by their methods; every method is optional except a
 * BufferedProtocol's `getBuffer`/`bufferUpdated`. An object with `getBuffer` is a BufferedProtocol.
 *
 * Callback order for a stream connection: `connectionMade` → `dataReceived`* → `eofReceived`? →
 * `connectionLost`, each called from the loop (through `callSoon`), never from inside a Node event.
 */
import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport } from './transports.js';
import type { Address } from './transports.js';

/** What every protocol may implement. */
export interface BaseProtocol {
  /** The connection is up; `transport` is the protocol's end of it. */
  connectionMade?(transport: BaseTransport): void;
  /**
   * The connection is gone: `exc` is the error that ended it, or `null` on a regular close
   * (EOF, `close()`, `abort()`). Called exactly once, last.
   */
  connectionLost?(exc: Error | null): void;
  /** The transport's write buffer rose above its high-water mark. */
  pauseWriting?(): void;
  /** The transport's write buffer fell to its low-water mark. */
  resumeWriting?(): void;
}

/** A stream protocol: receives data as Buffers. */
export interface Protocol extends BaseProtocol {
  connectionMade?(transport: Transport): void;
  /** Some bytes arrived. The Buffer belongs to the protocol. */
  dataReceived?(data: Buffer): void;
  /**
   * The peer sent EOF (half-close). Return true to keep the transport open for writing;
   * otherwise the transport closes itself.
   */
  eofReceived?(): boolean | void;
}

/** A stream protocol that provides the buffers the transport reads into. */
export interface BufferedProtocol extends BaseProtocol {
  connectionMade?(transport: Transport): void;
  /**
   * Returns a buffer to copy received bytes into; `sizeHint` is how many bytes are waiting
   * (a hint: any non-empty buffer will do).
   */
  getBuffer(sizeHint: number): Uint8Array;
  /** `n` bytes were written at the start of the buffer returned by the last `getBuffer`. */
  bufferUpdated(n: number): void;
  eofReceived?(): boolean | void;
}

/** Either kind of stream protocol. */
export type StreamProtocol = Protocol | BufferedProtocol;

/** A datagram (UDP) protocol. */
export interface DatagramProtocol extends BaseProtocol {
  connectionMade?(transport: DatagramTransport): void;
  /** A datagram arrived from `addr`. */
  datagramReceived?(data: Buffer, addr: Address): void;
  /** A send or receive failed (ICMP errors and the like); the endpoint stays open. */
  errorReceived?(exc: Error): void;
}

/**
 * What a child process's transport calls (asyncio's `SubprocessProtocol`). Order: `connectionMade`
 * (the pipes are connected) → `pipeDataReceived`* and `pipeConnectionLost` once per pipe, and
 * `processExited` once the child exits (in whatever order those happen) → `connectionLost(null)`
 * once the child has exited and every pipe is closed.
 */
export interface SubprocessProtocol extends BaseProtocol {
  connectionMade?(transport: SubprocessTransport): void;
  /** The child wrote `data` to its stdout (`fd` 1) or stderr (`fd` 2). */
  pipeDataReceived?(fd: number, data: Buffer): void;
  /** The pipe of the child's `fd` (0, 1 or 2) closed; `exc` is its error, or null. */
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  /** The child exited (`transport.getReturncode()` tells how). */
  processExited?(): void;
}

/** True when `p` is a BufferedProtocol (it has `getBuffer`). */
export function isBufferedProtocol(p: unknown): p is BufferedProtocol {
  return typeof p === 'object' && p !== null && typeof (p as BufferedProtocol).getBuffer === 'function';
}
