/**
 * Host names to IP addresses for the native TCP layer (libuv connects and binds to addresses
 * only). IP literals pass through; names go to `dns.lookup`, as node:net resolves them.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { AbstractEventLoop } from '../../events.js';
import type { Future } from '../../futures.js';
import { settleSoon } from '../nodenet/util.js';
import { holdClock } from '../hold.js';

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
