/**
 * Name resolution over node:dns: `getaddrinfo` (asyncio's 5-tuples, family as 4 or 6) and
 * `getnameinfo`. Node's resolver runs on libuv's thread pool, as asyncio's runs in an executor.
 */
import * as dns from 'node:dns';
import type { AbstractEventLoop } from '../../events.js';
import { describe } from '../../events.js';
import type { Future } from '../../futures.js';
import type { AddrInfo, GetaddrinfoOptions } from '../../transports.js';
import { IPPROTO_TCP, IPPROTO_UDP, NI_NUMERICHOST, NI_NUMERICSERV, SOCK_DGRAM, SOCK_STREAM } from '../../transports.js';
import { checkFamily, checkHost, checkOptions, checkPort, settleSoon } from './args.js';
import { holdClock } from './hold.js';

function checkInt(v: unknown, name: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number') throw new TypeError(`${name} must be a number, not ${describe(v)}`);
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, not ${v}`);
  return v;
}

export function getaddrinfo(
  loop: AbstractEventLoop,
  host: string | null,
  port: number | string | null,
  options?: GetaddrinfoOptions,
): Future<AddrInfo[]> {
  if (host !== null && host !== undefined) checkHost(host, 'host');
  let p = 0;
  if (typeof port === 'string' && /^\d+$/.test(port)) p = checkPort(Number(port), 'port', true);
  else if (typeof port === 'string') throw new TypeError(`port must be a number or a numeric string (service names are not supported), not ${describe(port)}`);
  else if (port !== null && port !== undefined) p = checkPort(port, 'port', true);
  const opts = checkOptions<GetaddrinfoOptions>(options);
  const family = checkFamily(opts.family);
  const type = checkInt(opts.type, 'type');
  const proto = checkInt(opts.proto, 'proto');
  const flags = checkInt(opts.flags, 'flags');
  if (type !== 0 && type !== SOCK_STREAM && type !== SOCK_DGRAM) throw new RangeError(`type must be 0, SOCK_STREAM or SOCK_DGRAM, not ${type}`);
  const kinds: [number, number][] = type === SOCK_STREAM ? [[SOCK_STREAM, proto || IPPROTO_TCP]]
    : type === SOCK_DGRAM ? [[SOCK_DGRAM, proto || IPPROTO_UDP]]
    : [[SOCK_STREAM, IPPROTO_TCP], [SOCK_DGRAM, IPPROTO_UDP]];
  const fut = loop.createFuture<AddrInfo[]>();
  const build = (addrs: dns.LookupAddress[]): AddrInfo[] => {
    const out: AddrInfo[] = [];
    for (const a of addrs) {
      for (const [t, pr] of kinds) out.push([a.family as 4 | 6, t, pr, '', [a.address, p]]);
    }
    return out;
  };
  if (host === null || host === undefined) {
    // No host: the loopback addresses, as the C library answers without AI_PASSIVE.
    const addrs: dns.LookupAddress[] = [];
    if (family !== 4) addrs.push({ address: '::1', family: 6 });
    if (family !== 6) addrs.push({ address: '127.0.0.1', family: 4 });
    fut.setResult(build(addrs));
    return fut;
  }
  const release = holdClock(loop);
  dns.lookup(host, { all: true, family, hints: flags }, (err, addrs) => {
    release();
    settleSoon(loop, fut, err, err ? undefined : build(addrs));
  });
  return fut;
}

export function getnameinfo(loop: AbstractEventLoop, sockaddr: [string, number], flags = 0): Future<[host: string, service: string]> {
  if (!Array.isArray(sockaddr) || sockaddr.length < 2) throw new TypeError(`sockaddr must be a [host, port] array, not ${describe(sockaddr)}`);
  const host = checkHost(sockaddr[0], 'sockaddr[0] (host)');
  const port = checkPort(sockaddr[1], 'sockaddr[1] (port)', true);
  flags = checkInt(flags, 'flags');
  const fut = loop.createFuture<[string, string]>();
  const numericHost = (flags & NI_NUMERICHOST) !== 0;
  const numericServ = (flags & NI_NUMERICSERV) !== 0;
  if (numericHost && numericServ) {
    fut.setResult([host, String(port)]);
    return fut;
  }
  const release = holdClock(loop);
  try {
    dns.lookupService(host, port, (err, hostname, service) => {
      release();
      settleSoon(loop, fut, err, err ? undefined : [numericHost ? host : hostname, numericServ ? String(port) : service]);
    });
  } catch (e) {
    release();
    // Node throws synchronously for a host that is not a numeric address.
    if ((e as { code?: string }).code === 'ERR_INVALID_ARG_VALUE') throw new TypeError(`sockaddr[0] (host) must be a numeric IP address, not ${describe(host)}`);
    throw e;
  }
  return fut;
}
