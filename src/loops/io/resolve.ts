/**
 * Host names to IP addresses, for the native TCP layer (libuv connects and binds to addresses
 * only) and for the local address of a connection on both loops. IP literals pass through; names
 * go to `dns.lookup`, as node:net resolves them.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import { holdClock } from './hold.js';
import { settleSoon } from './args.js';

export type ResolvedAddr = [address: string, family: 4 | 6];

/** Every address of `host` (in resolver order), restricted to `family` unless it is 0. */
export function lookupHost(loop: AbstractEventLoop, host: string, family: 0 | 4 | 6): Future<ResolvedAddr[]> {
  const fut = loop.createFuture<ResolvedAddr[]>();
  const ip = net.isIP(host);
  if (ip !== 0) {
    if (family !== 0 && family !== ip) {
      fut.setException(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host }));
    } else {
      fut.setResult([[host, ip as 4 | 6]]);
    }
    return fut;
  }
  const release = holdClock(loop);
  dns.lookup(host, { all: true, family }, (err, addrs) => {
    release();
    if (err) settleSoon(loop, fut, err);
    else settleSoon(loop, fut, null, addrs.map((a): ResolvedAddr => [a.address, a.family === 6 ? 6 : 4]));
  });
  return fut;
}

/**
 * The first of `locals` (a resolved `localAddr`) in the family of the remote address, as asyncio
 * pairs them; null when there is none.
 */
export function localFor(locals: ResolvedAddr[], family: 4 | 6): string | null {
  for (const [address, f] of locals) if (f === family) return address;
  return null;
}

/** asyncio's error when `localAddr` has no address in the remote address's family. */
export function noMatchingLocal(host: string, family: 4 | 6): Error {
  return new Error(`no matching local address with family=IPv${family} found for localAddr ${JSON.stringify(host)}`);
}
