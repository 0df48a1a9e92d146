/**
 * The stream transport over a `net.Socket` (TCP or Unix socket) for the pure loop. What it does
 * with the protocol is shared with the native loop's transport (loops/io/stream-transport.ts); this
 * file feeds it the socket's events and does its I/O.
 *
 * Writes go straight to the socket (Node queues what the kernel does not take); the buffered size
 * is `socket.writableLength`. One shared write callback notices when the buffer is back down to
 * the low-water mark.
 */
import type * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Address } from '../../transports.js';
import { StreamTransport, type TransportOwner } from '../io/stream-transport.js';
import { checkKeepAliveDelay } from '../io/args.js';

/**
 * The 'socket' extra is the net.Socket itself; its `setKeepAlive` gets the argument check the
 * native loop's has (node:net truncates a negative or non-numeric delay to 0 silently).
 */
function checkedKeepAlive(socket: net.Socket): void {
  const setKeepAlive = socket.setKeepAlive;
  socket.setKeepAlive = function (this: net.Socket, enable?: boolean, initialDelay?: number) {
    return setKeepAlive.call(this, enable, checkKeepAliveDelay(initialDelay));
  };
}

/**
 * Bytes a socket may hand over before the protocol has had them. node:net reads a ready socket
 * up to 32 × 64 KiB before any loop callback runs, so at 1,000 busy connections one poll phase
 * took seconds and every connection waited that long for its next echo (the soak saw 2 s gaps).
 * Past this much, the socket pauses until the pump has delivered its data (the native loop reads
 * at most 64 KiB per socket per iteration for the same reason).
 */
const READ_BUDGET = 64 * 1024;

export class SocketTransport extends StreamTransport {
  readonly #socket: net.Socket;
  readonly #unix: boolean;
  /** Unix socket names, known to the server or connect call (node:net does not expose them). */
  #unixSockname: string | undefined;
  #unixPeername: string | undefined;
  /** Bytes received since the protocol last had its data (see READ_BUDGET). */
  #unread = 0;
  #overBudget = false;
  /** The protocol paused reading. */
  #paused = false;

  constructor(loop: AbstractEventLoop, socket: net.Socket, owner: TransportOwner | null, unix: boolean) {
    super(loop, owner);
    this.#socket = socket;
    this.#unix = unix;
    if (!unix) {
      socket.setNoDelay(true);
      checkedKeepAlive(socket);
    }
    socket.on('data', (chunk: Buffer) => {
      if (this.isClosing()) return;
      this._onData(chunk);
      this.#unread += chunk.length;
      if (this.#unread >= READ_BUDGET && !this.#overBudget) {
        this.#overBudget = true;
        socket.pause();
      }
    });
    socket.on('end', () => this._onEof());
    socket.on('error', (err: Error) => this._onError(err));
    socket.on('close', () => this._onClosed());
  }

  /** Reading starts with the protocol: a connection held before `startServing()` stays unread. */
  protected override _ioStart(): void {
    this.#socket.resume();
  }

  // Called by Node when a write has reached the kernel: maybe it is time to resume the writer.
  // A write that failed (the peer reset, the socket was destroyed) resumes nobody: the protocol
  // gets connectionLost without resumeWriting, as in asyncio.
  readonly #onWritten = (err?: Error | null): void => {
    if (!err) this._onDrained(this.#socket.writableLength);
  };

  protected _ioWrite(bytes: Uint8Array): number {
    this.#socket.write(bytes, this.#onWritten);
    return this.#socket.writableLength;
  }

  protected _ioWatchDrain(): void {
    // The buffer may have drained already (the write callback ran before we paused); if not,
    // the write callbacks keep watching.
    this.#onWritten();
  }

  protected _ioShutdown(): void {
    this.#socket.end();
  }

  protected _ioReading(on: boolean): void {
    this.#paused = !on;
    if (on && !this.#overBudget) this.#socket.resume();
    else if (!on) this.#socket.pause();
  }

  protected override _ioDelivered(): void {
    this.#unread = 0;
    if (!this.#overBudget) return;
    this.#overBudget = false;
    if (!this.#paused) this.#socket.resume();
  }

  protected _ioClose(): boolean {
    const s = this.#socket;
    if (s.destroyed) return false;
    // Flush what is buffered and send FIN, then release the socket without waiting for the
    // peer's FIN (asyncio closes the socket once its buffer is empty).
    if (s.writableFinished) s.destroy();
    else {
      s.once('finish', () => s.destroy());
      if (!s.writableEnded) s.end();
    }
    return true;
  }

  protected _ioDestroy(reset: boolean): void {
    if (reset && !this.#unix) this.#socket.resetAndDestroy();
    else this.#socket.destroy();
  }

  protected override _ioLoopClosed(): void {
    this.#socket.destroy();
  }

  getWriteBufferSize(): number {
    return this.#socket.writableLength;
  }

  protected _ioAddress(peer: boolean): Address | undefined {
    if (this.#unix) return peer ? this.#unixPeername : this.#unixSockname;
    const s = this.#socket;
    const host = peer ? s.remoteAddress : s.localAddress;
    const port = peer ? s.remotePort : s.localPort;
    return host === undefined || port === undefined ? undefined : [host, port];
  }

  protected _ioSocket(): net.Socket {
    return this.#socket;
  }

  /** @internal Sets the Unix socket names (known to the caller, not to node:net). */
  _setUnixNames(sockname: string, peername: string): void {
    this.#unixSockname = sockname;
    this.#unixPeername = peername;
  }
}
