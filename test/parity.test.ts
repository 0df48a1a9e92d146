/**
 * The same callbacks and errors on both loops where they used to differ, each as asyncio has it:
 * NUL in host strings, a bad or named `localAddr`, the 'socket' extra's `setKeepAlive` check,
 * no `resumeWriting` before `connectionLost` after a peer reset, a stream server whose
 * clientConnected lets a peer reset's error escape (reported as asyncio 3.12+ reports it), and
 * `setEventLoop` of something that is not a loop, whichever policy is set.
 */
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import * as native from '../src/native.js';
import { eachLoop } from './loops.js';

const HOST = '127.0.0.1';

function portOf(server: aio.Server): number {
  return (server.sockets[0]!.getsockname() as [string, number])[1];
}

/** Resets `t`'s connection (TCP RST), through the 'socket' extra both loops give. */
function reset(t: aio.Transport): void {
  (t.getExtraInfo('socket') as { resetAndDestroy(): void }).resetAndDestroy();
}

eachLoop((lc) => {
  test('host strings with NUL are refused (TypeError) by connect, listen, sendto and the resolver', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const bad = '127.0.0.1\0.example';
      const server = await loop.createServer(() => ({}), HOST, 0);
      expect(() => loop.createConnection(() => ({}), bad, portOf(server))).toThrow(TypeError);
      expect(() => loop.createConnection(() => ({}), bad, portOf(server))).toThrow(/host must not contain NUL/);
      expect(() => loop.createConnection(() => ({}), HOST, portOf(server), { localAddr: [bad, 0] })).toThrow(/localAddr\[0\] \(host\) must not contain NUL/);
      expect(() => aio.openConnection(bad, portOf(server))).toThrow(TypeError);
      expect(() => loop.createServer(() => ({}), bad, 0)).toThrow(/host must not contain NUL/);
      expect(() => loop.createServer(() => ({}), [HOST, bad], 0)).toThrow(TypeError);
      expect(() => loop.createDatagramEndpoint(() => ({}), { localAddr: [bad, 0] })).toThrow(TypeError);
      expect(() => loop.createDatagramEndpoint(() => ({}), { remoteAddr: [bad, 9] })).toThrow(TypeError);
      const [udp] = await loop.createDatagramEndpoint(() => ({}), { localAddr: [HOST, 0] });
      expect(() => udp.sendto(Buffer.from('x'), [bad, 9])).toThrow(/addr\[0\] \(host\) must not contain NUL/);
      udp.close();
      expect(() => loop.getaddrinfo('localhost\0x', 80)).toThrow(TypeError);
      expect(() => loop.getnameinfo([bad, 80])).toThrow(TypeError);
      // Unix socket paths: the same error.
      expect(() => loop.createUnixConnection(() => ({}), '/tmp/a\0b')).toThrow(TypeError);
      server.close();
      await server.waitClosed();
    });
  });

  test('localAddr: resolved and paired by family; a bad one rejects the same way on both loops', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => ({}), HOST, 0);
      const p = portOf(server);
      // A name is resolved (asyncio resolves local_addr too) to an address of the remote's family.
      const [t] = await loop.createConnection(() => ({}), HOST, p, { localAddr: ['localhost', 0] });
      expect((t.getExtraInfo('sockname') as [string, number])[0]).toBe(HOST);
      t.close();
      // Not a name anyone knows: the resolver's error, as a rejection (not a sync TypeError).
      const unknown = loop.createConnection(() => ({}), HOST, p, { localAddr: ['no-such-host.invalid', 0] });
      await expect(unknown).rejects.toMatchObject({ code: 'ENOTFOUND', syscall: 'getaddrinfo' });
      // An address of the other family: asyncio's "no matching local address".
      const other = loop.createConnection(() => ({}), HOST, p, { localAddr: ['::1', 0] });
      await expect(other).rejects.toThrow(/no matching local address with family=IPv4/);
      // A port in use: the OS error (EADDRINUSE), as a rejection.
      const inUse = loop.createConnection(() => ({}), HOST, p, { localAddr: [HOST, p] });
      await expect(inUse).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // Wrong types stay synchronous TypeErrors.
      expect(() => loop.createConnection(() => ({}), HOST, p, { localAddr: [1 as never, 0] })).toThrow(TypeError);
      server.close();
      await server.waitClosed();
    });
  });

  test("the 'socket' extra's setKeepAlive checks initialDelay alike (RangeError naming it)", async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const server = await loop.createServer(() => ({}), HOST, 0);
      const [t] = await loop.createConnection(() => ({}), HOST, portOf(server));
      const sock = t.getExtraInfo('socket') as { setKeepAlive(enable?: boolean, initialDelay?: number): unknown };
      expect(() => sock.setKeepAlive(true, -5)).toThrow(RangeError);
      expect(() => sock.setKeepAlive(true, -5)).toThrow(/initialDelay/);
      expect(() => sock.setKeepAlive(true, NaN)).toThrow(RangeError);
      expect(() => sock.setKeepAlive(true, Infinity)).toThrow(RangeError);
      expect(() => sock.setKeepAlive(true, '1000' as never)).toThrow(TypeError);
      expect(sock.setKeepAlive(true, 1500)).toBe(sock);
      expect(sock.setKeepAlive(false)).toBe(sock);
      expect(sock.setKeepAlive(true)).toBe(sock);
      t.close();
      server.close();
      await server.waitClosed();
    });
  });

  test('a peer reset while the protocol is paused: connectionLost(ECONNRESET) without resumeWriting', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const log: string[] = [];
      const lost = loop.createFuture<unknown>();
      const paused = loop.createFuture<void>();
      const server = await loop.createServer(
        () => ({
          connectionMade(t: aio.Transport) {
            const chunk = Buffer.alloc(1 << 20);
            for (let i = 0; i < 16; i++) t.write(chunk);
          },
          pauseWriting() {
            log.push('pause');
            if (!paused.done()) paused.setResult(undefined);
          },
          resumeWriting() {
            log.push('resume');
          },
          connectionLost(exc: Error | null) {
            log.push('lost');
            lost.setResult(exc);
          },
        }),
        HOST,
        0,
      );
      // The client never reads: the server's buffer stays above the high-water mark.
      const [t] = await loop.createConnection(() => ({ connectionMade: (tr: aio.Transport) => tr.pauseReading() }), HOST, portOf(server));
      await aio.waitFor(paused, 10);
      await aio.sleep(0.05);
      reset(t);
      const exc = await aio.waitFor(lost, 10);
      expect(log).toEqual(['pause', 'lost']);
      expect(exc).toMatchObject({ code: expect.stringMatching(/^(ECONNRESET|EPIPE)$/) });
      server.close();
      await server.waitClosed();
    });
  });

  test("a peer reset escaping clientConnected is reported once, as asyncio reports it; a caught one is not", async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(
      async () => {
        const exits: string[] = [];
        const echo = (catchIt: boolean): aio.ClientConnected => async (reader, writer) => {
          try {
            for (;;) {
              const d = await reader.read(1024);
              if (d.length === 0) break;
              writer.write(d);
              await writer.drain();
            }
          } catch (e) {
            exits.push(`${catchIt ? 'caught' : 'escaped'} ${(e as NodeJS.ErrnoException).code}`);
            if (!catchIt) throw e;
          }
        };
        for (const catchIt of [false, true]) {
          const server = await aio.startServer(echo(catchIt), HOST, 0);
          const [reader, writer] = await aio.openConnection(HOST, portOf(server));
          writer.write(Buffer.from('ping'));
          expect((await aio.waitFor(reader.readExactly(4), 10)).toString()).toBe('ping');
          reset(writer.transport);
          for (let i = 0; i < 400 && exits.length < (catchIt ? 2 : 1); i++) await aio.sleep(0.005);
          await aio.sleep(0.02);
          server.close();
          await server.waitClosed();
        }
        expect(exits).toEqual(['escaped ECONNRESET', 'caught ECONNRESET']);
      },
      { allowErrors: true, errors },
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toBe('Unhandled exception in clientConnected');
    expect(errors[0]!.exception).toMatchObject({ code: 'ECONNRESET', syscall: 'read' });
  });
});

test('setEventLoop(123) is a TypeError under both policies; a loop or null is accepted', () => {
  const before = aio.getEventLoopPolicy();
  try {
    for (const policy of [new aio.DefaultEventLoopPolicy(), new native.NativeEventLoopPolicy()]) {
      aio.setEventLoopPolicy(policy);
      expect(() => aio.setEventLoop(123 as never)).toThrow(TypeError);
      expect(() => aio.setEventLoop(123 as never)).toThrow(/loop must be an event loop or null/);
      expect(() => policy.setEventLoop({} as never)).toThrow(TypeError);
      const loop = new aio.PureEventLoop();
      aio.setEventLoop(loop);
      expect(aio.getEventLoop()).toBe(loop);
      aio.setEventLoop(null);
      loop.close();
    }
  } finally {
    aio.setEventLoopPolicy(before);
  }
});
