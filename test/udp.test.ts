/**
 * Datagram endpoints (`createDatagramEndpoint`) on every loop: the pure loop's node:dgram
 * transport and the native loop's uv_udp_t one (native/udp.cc) must behave alike. Beyond the echo
 * in net.test.ts: connected endpoints, IPv6, many and large datagrams, OS errors as Node errors
 * through errorReceived, flow control, close vs abort, bad arguments, and a loop closed under an
 * open endpoint. Everything runs on 127.0.0.1 / ::1 with port 0.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import { expect, test } from 'vitest';
import * as aio from '../src/index.js';
import { getBinding } from '../src/loops/native/binding.js';
import { eachLoop } from './loops.js';
import { HAS_IPV6 } from './ipv6.js';

const HOST = '127.0.0.1';


/** A protocol that records every call in order; `lost` settles at connectionLost. */
class Recorder implements aio.DatagramProtocol {
  log: string[] = [];
  data: [Buffer, aio.Address][] = [];
  errors: NodeJS.ErrnoException[] = [];
  transport!: aio.DatagramTransport;
  lost = aio.getRunningLoop().createFuture<Error | null>();
  #waiters: [n: number, fut: aio.Future<void>][] = [];
  connectionMade(t: aio.DatagramTransport) {
    this.transport = t;
    this.log.push('made');
  }
  datagramReceived(d: Buffer, addr: aio.Address) {
    this.log.push('data');
    this.data.push([d, addr]);
    this.#wake();
  }
  errorReceived(e: Error) {
    this.log.push('error');
    this.errors.push(e as NodeJS.ErrnoException);
    this.#wake();
  }
  connectionLost(e: Error | null) {
    this.log.push('lost');
    this.lost.setResult(e);
  }
  /** Waits (at most `timeout` s) until `n` datagrams and errors in all have arrived. */
  async until(n: number, timeout = 5): Promise<void> {
    if (this.data.length + this.errors.length >= n) return;
    const fut = aio.getRunningLoop().createFuture<void>();
    this.#waiters.push([n, fut]);
    await aio.waitFor(fut, timeout);
  }
  #wake() {
    const have = this.data.length + this.errors.length;
    this.#waiters = this.#waiters.filter(([n, fut]) => {
      if (have < n) return true;
      if (!fut.done()) fut.setResult(undefined);
      return false;
    });
  }
}

/** An endpoint that sends every datagram back to where it came from. */
function echoFactory(): aio.DatagramProtocol {
  let t: aio.DatagramTransport;
  return {
    connectionMade: (tr) => void (t = tr),
    datagramReceived: (d, addr) => t.sendto(d, addr),
  };
}

async function bindEcho(host = HOST): Promise<[aio.DatagramTransport, [string, number]]> {
  const [t] = await aio.getRunningLoop().createDatagramEndpoint(echoFactory, { localAddr: [host, 0] });
  return [t, t.getExtraInfo('sockname') as [string, number]];
}

/** A port nothing listens on: bound by an endpoint, then closed. */
async function closedPort(): Promise<number> {
  const r = new Recorder();
  const [t] = await aio.getRunningLoop().createDatagramEndpoint(() => r, { localAddr: [HOST, 0] });
  const port = (t.getExtraInfo('sockname') as [string, number])[1];
  t.close();
  await r.lost;
  return port;
}

eachLoop((lc) => {
  test('echo both ways: connected and unconnected clients; calls in order, made → data → lost', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [st, saddr] = await bindEcho();
      expect(saddr[0]).toBe(HOST);
      expect(saddr[1]).toBeGreaterThan(0);
      expect(st.getExtraInfo('peername')).toBeUndefined();
      expect(st.getExtraInfo('peername', 'none')).toBe('none');
      expect(st.getExtraInfo('nonsense', 7)).toBe(7);
      const sock = st.getExtraInfo('socket') as { address(): { address: string; port: number; family: string } };
      expect(sock.address()).toEqual({ address: HOST, port: saddr[1], family: 'IPv4' });

      const c = new Recorder();
      const [ct, cp] = await loop.createDatagramEndpoint(() => c, { remoteAddr: saddr });
      expect(cp).toBe(c);
      expect(c.log).toEqual(['made']); // connectionMade ran before the endpoint was handed out
      expect(c.transport).toBe(ct);
      expect(ct.getExtraInfo('peername')).toEqual(saddr);
      const csock = ct.getExtraInfo('sockname') as [string, number];
      expect(csock[0]).toBe(HOST); // the source the kernel picked on connect
      expect(ct.getProtocol()).toBe(c);

      const u = new Recorder();
      const [ut] = await loop.createDatagramEndpoint(() => u, { localAddr: [HOST, 0] });
      const usock = ut.getExtraInfo('sockname') as [string, number];
      for (let i = 0; i < 5; i++) {
        ct.sendto(Buffer.from(`c${i}`));
        ut.sendto(Buffer.from(`u${i}`), saddr);
      }
      ct.sendto(new Uint8Array([1, 2, 3]), saddr); // a connected endpoint's own peer is allowed
      ut.sendto(Buffer.alloc(0), saddr); // an empty datagram is a datagram
      await c.until(6);
      await u.until(6);
      expect(c.data.map(([d]) => d.toString('latin1'))).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', '\x01\x02\x03']);
      expect(u.data.map(([d]) => d.toString())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', '']);
      for (const [, a] of [...c.data, ...u.data]) expect(a).toEqual(saddr);
      expect(Buffer.isBuffer(c.data[0]![0])).toBe(true);

      // The echo saw each client's own address.
      const seen = loop.createFuture<aio.Address>();
      const [probe] = await loop.createDatagramEndpoint(
        () => ({ datagramReceived: (_d: Buffer, a: aio.Address) => void (seen.done() || seen.setResult(a)) }),
        { localAddr: [HOST, 0] },
      );
      ut.sendto(Buffer.from('who'), probe.getExtraInfo('sockname') as aio.Address);
      expect(await aio.waitFor(seen, 5)).toEqual(usock);

      for (const [t, r] of [[ct, c], [ut, u]] as const) {
        t.close();
        expect(t.isClosing()).toBe(true);
        expect(await r.lost).toBeNull();
        expect(r.log[0]).toBe('made');
        expect(r.log.slice(1, -1).every((x) => x === 'data')).toBe(true);
        expect(r.log.filter((x) => x === 'lost')).toHaveLength(1);
        expect(r.log[r.log.length - 1]).toBe('lost');
      }
      probe.close();
      st.close();
    });
  });

  test('a connected endpoint sends only to its remoteAddr; sendto elsewhere raises', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [st, saddr] = await bindEcho();
      const c = new Recorder();
      const [ct] = await loop.createDatagramEndpoint(() => c, { remoteAddr: saddr });
      expect(() => ct.sendto(Buffer.from('x'), [HOST, saddr[1] === 65535 ? 1 : saddr[1] + 1])).toThrow(TypeError);
      expect(() => ct.sendto(Buffer.from('x'), ['127.0.0.2', saddr[1]])).toThrow(/on a connected endpoint/);
      expect(() => ct.sendto('text' as any)).toThrow(/data must be a Buffer/);
      ct.sendto(Buffer.from('ok'), null);
      await c.until(1);
      expect(c.data[0]![0].toString()).toBe('ok');
      expect(c.errors).toEqual([]);

      // Only the peer's datagrams arrive on a connected endpoint.
      const [other] = await loop.createDatagramEndpoint(() => ({}), { localAddr: [HOST, 0] });
      other.sendto(Buffer.from('stranger'), ct.getExtraInfo('sockname') as aio.Address);
      ct.sendto(Buffer.from('again'));
      await c.until(2);
      await aio.sleep(0.02);
      expect(c.data.map(([d]) => d.toString())).toEqual(['ok', 'again']);

      // Unconnected: an address is required, and its port must be a real one.
      const [ut] = await loop.createDatagramEndpoint(() => ({}), { localAddr: [HOST, 0] });
      expect(() => ut.sendto(Buffer.from('x'))).toThrow(/addr is required/);
      expect(() => ut.sendto(Buffer.from('x'), [HOST, 0])).toThrow(RangeError);
      expect(() => ut.sendto(Buffer.from('x'), [HOST, 0])).toThrow(/addr\[1\] \(port\)/);
      expect(() => ut.sendto(Buffer.from('x'), 'nope' as any)).toThrow(/addr must be a \[host, port\] array/);
      expect(() => ut.sendto(Buffer.from('x'), [5, 80] as any)).toThrow(/addr\[0\] \(host\) must be a string/);
      for (const t of [ct, other, ut, st]) t.close();
      await c.lost;
    });
  });

  test.skipIf(!HAS_IPV6)('IPv6: echo over ::1, addresses as text; an IPv4 target is EINVAL', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [st, saddr] = await bindEcho('::1');
      expect(saddr[0]).toBe('::1');
      expect((st.getExtraInfo('socket') as { address(): { family: string } }).address().family).toBe('IPv6');
      const c = new Recorder();
      const [ct] = await loop.createDatagramEndpoint(() => c, { localAddr: ['::1', 0] });
      const payload = randomBytes(1500);
      ct.sendto(payload, saddr);
      ct.sendto(payload.subarray(0, 10), ['::1', saddr[1]]);
      await c.until(2);
      expect(c.data[0]![0].equals(payload)).toBe(true);
      expect(c.data[1]![0].equals(payload.subarray(0, 10))).toBe(true);
      expect(c.data[0]![1]).toEqual(['::1', saddr[1]]);

      // Connected over IPv6, with the family given explicitly.
      const k = new Recorder();
      const [kt] = await loop.createDatagramEndpoint(() => k, { remoteAddr: ['::1', saddr[1]], family: 6 });
      expect(kt.getExtraInfo('peername')).toEqual(['::1', saddr[1]]);
      kt.sendto(Buffer.from('six'));
      await k.until(1);
      expect(k.data[0]![0].toString()).toBe('six');

      // An IPv4 literal cannot be sent to from an IPv6 socket (node:dgram says EINVAL, so do we).
      ct.sendto(Buffer.from('x'), [HOST, saddr[1]]);
      await c.until(3);
      expect(c.errors[0]).toMatchObject({ code: 'EINVAL', syscall: 'send' });
      // A family that does not match the address is refused.
      await expect(loop.createDatagramEndpoint(() => ({}), { localAddr: ['::1', 0], family: 4 })).rejects.toThrow(RangeError);
      for (const t of [ct, kt, st]) t.close();
      await c.lost;
      await k.lost;
    });
  });

  test('2000 datagrams of mixed sizes up to 60 KB, sent in bursts, arrive whole', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const r = new Recorder();
      const [rt] = await loop.createDatagramEndpoint(() => r, { localAddr: [HOST, 0] });
      const raddr = rt.getExtraInfo('sockname') as aio.Address;
      const [st] = await loop.createDatagramEndpoint(() => ({}), { remoteAddr: raddr });
      const pool = randomBytes(60_000);
      const sent = createHash('sha256');
      let sentBytes = 0;
      // A burst stays well under the receiver's kernel buffer (212 KB by default on Linux); then
      // wait for it: loopback does not drop at that pace.
      let burst = 0;
      let burstBytes = 0;
      for (let i = 0; i < 2000; i++) {
        const n = i % 10 === 0 ? 30_000 + ((i * 7919) % 30_001) : (i * 104_729) % 2_000;
        const d = pool.subarray(i % 997, (i % 997) + Math.min(n, 60_000 - (i % 997)));
        st.sendto(d);
        sent.update(d);
        sentBytes += d.length;
        burst++;
        burstBytes += d.length;
        if (burst === 32 || burstBytes > 64_000 || i === 1999) {
          await r.until(i + 1);
          burst = burstBytes = 0;
        }
      }
      expect(r.data).toHaveLength(2000);
      expect(r.errors).toEqual([]);
      const got = createHash('sha256');
      let gotBytes = 0;
      for (const [d] of r.data) {
        got.update(d);
        gotBytes += d.length;
      }
      expect(gotBytes).toBe(sentBytes);
      expect(got.digest('hex')).toBe(sent.digest('hex'));
      expect(Math.max(...r.data.map(([d]) => d.length))).toBeGreaterThan(55_000);
      st.close();
      rt.close();
      await r.lost;
    });
  }, 60_000);

  test('40 large datagrams for 20 endpoints at once: more than one iteration can take, none lost', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      // Each receive needs room for the largest datagram, so this is several arenas' worth on the
      // native loop: endpoints wait for the next iteration instead of dropping what the kernel has.
      const rs = Array.from({ length: 20 }, () => new Recorder());
      const ts = await aio.gather(rs.map((r) => () => loop.createDatagramEndpoint(() => r, { localAddr: [HOST, 0] })));
      const [st] = await loop.createDatagramEndpoint(() => ({}), { localAddr: [HOST, 0] });
      const payload = randomBytes(60_000);
      for (let k = 0; k < 2; k++) {
        for (const [t] of ts) st.sendto(payload.subarray(k), t.getExtraInfo('sockname') as aio.Address);
      }
      for (const r of rs) {
        await r.until(2);
        expect(r.data.map(([d]) => d.length)).toEqual([60_000, 59_999]);
        expect(r.data[1]![0].equals(payload.subarray(1))).toBe(true);
      }
      for (const [t] of ts) t.close();
      st.close();
      await aio.gather(rs.map((r) => () => r.lost));
    });
  });

  test('a datagram over 64 KiB: EMSGSIZE with code, errno and syscall via errorReceived; the endpoint stays open', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const [st, saddr] = await bindEcho();
      const u = new Recorder();
      const [ut] = await loop.createDatagramEndpoint(() => u, { localAddr: [HOST, 0] });
      ut.sendto(Buffer.alloc(70_000), saddr);
      await u.until(1);
      const e = u.errors[0]!;
      expect(e).toBeInstanceOf(Error);
      expect(e).toMatchObject({ code: 'EMSGSIZE', syscall: 'send', address: HOST, port: saddr[1] });
      expect(e.errno).toBeLessThan(0);
      expect(e.message).toBe(`send EMSGSIZE ${HOST}:${saddr[1]}`);
      expect(ut.isClosing()).toBe(false);
      // Connected: no address in the error, as node:dgram reports it.
      const c = new Recorder();
      const [ct] = await loop.createDatagramEndpoint(() => c, { remoteAddr: saddr });
      ct.sendto(Buffer.alloc(65_536));
      await c.until(1);
      expect(c.errors[0]).toMatchObject({ code: 'EMSGSIZE', syscall: 'send', message: 'send EMSGSIZE' });
      // The largest IPv4 datagram still goes through, both ways.
      ut.sendto(Buffer.alloc(65_507, 9), saddr);
      await u.until(2);
      expect(u.data[0]![0].length).toBe(65_507);
      expect(u.log).toEqual(['made', 'error', 'data']);
      for (const t of [ut, ct, st]) t.close();
      await u.lost;
    });
  });

  test('a closed port: ECONNREFUSED arrives via errorReceived on a connected endpoint, which stays open', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const port = await closedPort();
      const c = new Recorder();
      const [ct] = await loop.createDatagramEndpoint(() => c, { remoteAddr: [HOST, port] });
      // The ICMP error comes back asynchronously; it is reported by the next receive (or send).
      for (let i = 0; i < 100 && c.errors.length === 0; i++) {
        ct.sendto(Buffer.from('anyone?'));
        await aio.sleep(0.01);
      }
      const e = c.errors[0]!;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('ECONNREFUSED');
      expect(e.errno).toBeLessThan(0);
      expect(['recvmsg', 'send']).toContain(e.syscall);
      expect(ct.isClosing()).toBe(false);
      expect(c.log.includes('lost')).toBe(false);
      ct.close();
      expect(await c.lost).toBeNull();
    });
  });

  test('close() delivers what was sent, then connectionLost once; abort() ends at once; later sends are dropped', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const r = new Recorder();
      const [rt] = await loop.createDatagramEndpoint(() => r, { localAddr: [HOST, 0] });
      const raddr = rt.getExtraInfo('sockname') as aio.Address;

      const a = new Recorder();
      const [at] = await loop.createDatagramEndpoint(() => a, { remoteAddr: raddr });
      for (let i = 0; i < 20; i++) at.sendto(Buffer.from(`close ${i}`));
      at.close();
      at.close(); // a second close changes nothing
      at.sendto(Buffer.from('after close')); // dropped quietly
      expect(await a.lost).toBeNull();
      await r.until(20);
      expect(r.data.map(([d]) => d.toString())).toEqual(Array.from({ length: 20 }, (_, i) => `close ${i}`));
      expect(a.log).toEqual(['made', 'lost']);
      expect(at.getWriteBufferSize()).toBe(0);

      const b = new Recorder();
      const [bt] = await loop.createDatagramEndpoint(() => b, { remoteAddr: raddr });
      for (let i = 0; i < 20; i++) bt.sendto(Buffer.from(`abort ${i}`));
      bt.abort();
      expect(bt.isClosing()).toBe(true);
      bt.sendto(Buffer.from('after abort'));
      expect(await b.lost).toBeNull();
      expect(b.log).toEqual(['made', 'lost']);
      await aio.sleep(0.05);
      // Whatever had left before the abort arrives whole, in order; nothing sent after it does.
      const rest = r.data.slice(20).map(([d]) => d.toString());
      expect(rest).toEqual(Array.from({ length: rest.length }, (_, i) => `abort ${i}`));

      // A received datagram is not delivered once the endpoint is closing.
      const [ct] = await loop.createDatagramEndpoint(() => ({}), { remoteAddr: raddr });
      const before = r.data.length;
      ct.sendto(Buffer.from('late'));
      rt.close();
      expect(await r.lost).toBeNull();
      expect(r.data.length).toBe(before);
      ct.close();
    });
  });

  test('flow control: pauseWriting above the high-water mark, resumeWriting at the low one', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const r = new Recorder();
      const [rt] = await loop.createDatagramEndpoint(() => r, { localAddr: [HOST, 0] });
      const port = (rt.getExtraInfo('sockname') as [string, number])[1];
      const calls: string[] = [];
      const resumed = loop.createFuture<void>();
      const [ut] = await loop.createDatagramEndpoint(
        () => ({
          pauseWriting: () => void calls.push('pause'),
          resumeWriting: () => {
            calls.push('resume');
            resumed.setResult(undefined);
          },
        }),
        { localAddr: [HOST, 0] },
      );
      expect(ut.getWriteBufferLimits()).toEqual([16 * 1024, 64 * 1024]);
      expect(() => ut.setWriteBufferLimits(1, 2)).toThrow(RangeError);
      expect(() => ut.setWriteBufferLimits('1' as any)).toThrow(TypeError);
      ut.setWriteBufferLimits(1000);
      expect(ut.getWriteBufferLimits()).toEqual([250, 1000]);
      expect(ut.getWriteBufferSize()).toBe(0);
      // A host name is resolved before the datagram leaves: until then it is in the write buffer
      // (on every loop; node:dgram also counts sends in flight).
      for (let i = 0; i < 3; i++) ut.sendto(Buffer.alloc(600, i), ['localhost', port]);
      expect(ut.getWriteBufferSize()).toBeGreaterThan(1000);
      expect(calls).toEqual(['pause']);
      await aio.waitFor(resumed, 5);
      expect(calls).toEqual(['pause', 'resume']);
      expect(ut.getWriteBufferSize()).toBeLessThanOrEqual(250);
      await r.until(3);
      // Each name is looked up on its own (node:dgram's way): the three may leave in any order.
      expect(r.data.map(([d]) => d[0]).sort()).toEqual([0, 1, 2]);
      ut.close();
      rt.close();
      await r.lost;
    });
  });

  test('allowBroadcast sets SO_BROADCAST: a broadcast send is EACCES without it', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      // Linux routes 127.255.255.255 as the loopback broadcast address.
      const target: aio.Address = ['127.255.255.255', 9];
      const no = new Recorder();
      const [nt] = await loop.createDatagramEndpoint(() => no, { localAddr: [HOST, 0] });
      nt.sendto(Buffer.from('x'), target);
      await no.until(1);
      expect(no.errors[0]).toMatchObject({ code: 'EACCES', syscall: 'send' });
      const yes = new Recorder();
      const [yt] = await loop.createDatagramEndpoint(() => yes, { localAddr: [HOST, 0], allowBroadcast: true });
      yt.sendto(Buffer.from('x'), target);
      nt.sendto(Buffer.from('x'), target);
      await no.until(2);
      expect(yes.errors).toEqual([]);
      nt.close();
      yt.close();
      await yes.lost;
    });
  });

  test('an exception in datagramReceived goes to the exception handler and ends the endpoint', async () => {
    const errors: aio.ExceptionContext[] = [];
    await lc.run(
      async () => {
        const loop = aio.getRunningLoop();
        const lost = loop.createFuture<Error | null>();
        const [rt] = await loop.createDatagramEndpoint(
          () => ({
            datagramReceived: () => {
              throw new Error('boom');
            },
            connectionLost: (e: Error | null) => lost.setResult(e),
          }),
          { localAddr: [HOST, 0] },
        );
        const [st] = await loop.createDatagramEndpoint(() => ({}), { remoteAddr: rt.getExtraInfo('sockname') as aio.Address });
        st.sendto(Buffer.from('x'));
        expect(await aio.waitFor(lost, 5)).toBeNull();
        expect(rt.isClosing()).toBe(true);
        st.close();
      },
      { allowErrors: true, errors },
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/datagramReceived/);
    expect(String(errors[0]!.exception)).toMatch(/boom/);
  });

  test('bad arguments: TypeError/RangeError naming the argument; OS errors at bind as Node errors', async () => {
    await lc.run(async () => {
      const loop = aio.getRunningLoop();
      const f = () => ({});
      expect(() => loop.createDatagramEndpoint('x' as any, { localAddr: [HOST, 0] })).toThrow(/protocolFactory must be a function/);
      expect(() => loop.createDatagramEndpoint(f, 5 as any)).toThrow(/options must be an object/);
      expect(() => loop.createDatagramEndpoint(f, {})).toThrow(/localAddr or remoteAddr/);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: HOST as any })).toThrow(/localAddr must be a \[host, port\] array/);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: [1, 0] as any })).toThrow(/localAddr\[0\] \(host\) must be a string/);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: ['', 0] })).toThrow(RangeError);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: [HOST, 99999] })).toThrow(/localAddr\[1\] \(port\)/);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: [HOST, 1.5] })).toThrow(RangeError);
      expect(() => loop.createDatagramEndpoint(f, { remoteAddr: [HOST, 0] })).toThrow(/remoteAddr\[1\] \(port\)/);
      expect(() => loop.createDatagramEndpoint(f, { family: 5 as any })).toThrow(/family must be 0, 4 or 6/);
      expect(() => loop.createDatagramEndpoint(f, { localAddr: [HOST, 0], allowBroadcast: 'yes' as any })).toThrow(/allowBroadcast must be a boolean/);
      await expect(loop.createDatagramEndpoint(f, { localAddr: [HOST, 0], family: 6 })).rejects.toThrow(/not of family 6/);

      // A family alone binds the wildcard address.
      const [wt] = await loop.createDatagramEndpoint(f, { family: 4 });
      expect(wt.getExtraInfo('sockname')).toEqual(['0.0.0.0', expect.any(Number)]);
      const [t, taddr] = await bindEcho();
      const err = await loop.createDatagramEndpoint(f, { localAddr: taddr }).then(
        () => null,
        (e: NodeJS.ErrnoException) => e,
      );
      expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', address: HOST, port: taddr[1] });
      expect(err!.errno).toBeLessThan(0);
      expect(err!.message).toBe(`bind EADDRINUSE ${HOST}:${taddr[1]}`);
      await expect(loop.createDatagramEndpoint(f, { localAddr: ['192.0.2.222', 0] })).rejects.toMatchObject({ code: 'EADDRNOTAVAIL', syscall: 'bind' });
      await expect(loop.createDatagramEndpoint(f, { localAddr: ['no-such-host.invalid', 0] })).rejects.toMatchObject({
        code: expect.stringMatching(/ENOTFOUND|EAI_AGAIN/),
      });
      // A protocol factory that throws: the error reaches the caller, the socket is released.
      await expect(
        loop.createDatagramEndpoint(
          () => {
            throw new Error('no protocol');
          },
          { localAddr: [HOST, 0] },
        ),
      ).rejects.toThrow('no protocol');
      expect(() => t.setProtocol(null as any)).toThrow(TypeError);
      t.close();
      wt.close();
    });
  });

  test('a loop closed under open endpoints: nothing crashes, the sockets are released', async () => {
    const native = lc.name === 'native';
    const settle = async (n: number) => {
      const b = getBinding();
      for (let i = 0; i < 200 && b.openHandles() !== n; i++) await new Promise((r) => setTimeout(r, 5));
      return b.openHandles();
    };
    const before = native ? await settle(0) : 0;
    const loop = lc.newLoop();
    const got: string[] = [];
    const [t, ct, addr] = await loop.runUntilComplete(async () => {
      const [st] = await loop.createDatagramEndpoint(() => ({ datagramReceived: (d: Buffer) => void got.push(d.toString()) }), {
        localAddr: [HOST, 0],
      });
      const [ct] = await loop.createDatagramEndpoint(() => ({}), { remoteAddr: st.getExtraInfo('sockname') as aio.Address });
      ct.sendto(Buffer.from('before'));
      for (let i = 0; i < 100 && got.length === 0; i++) await aio.sleep(0.005);
      return [st, ct, st.getExtraInfo('sockname') as [string, number]] as const;
    });
    expect(got).toEqual(['before']);
    loop.close();
    // A datagram for the closed loop's endpoint, and calls on its transport: quietly nothing.
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.send('after', addr[1], addr[0], () => resolve()));
    s.close();
    await new Promise((r) => setTimeout(r, 20));
    t.sendto(Buffer.from('x'), addr);
    t.close();
    t.abort();
    ct.close();
    expect(t.getExtraInfo('sockname')).toEqual(addr);
    expect(got).toEqual(['before']);
    if (native) expect(await settle(before)).toBe(before);
  });
});
