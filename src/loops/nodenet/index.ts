/**
 * The network layer over node:net, node:dgram and node:dns, written once and shared by every
 * loop (BaseEventLoop delegates here; a loop with its own transports overrides those methods).
 */
export { createConnection, createUnixConnection } from './tcp.js';
export { createServer, createUnixServer, NodeServer } from './server.js';
export { createDatagramEndpoint, DatagramSocketTransport } from './udp.js';
export { getaddrinfo, getnameinfo } from './dns.js';
export { SocketTransport } from './socket.js';
export { releaseAll } from './resources.js';
