// UDP ping-pong: two datagram endpoints on the loop under test, on 127.0.0.1 in one process, bounce
// one 100-byte datagram back and forth. The echo side is unconnected (sendto with the sender's
// address), the client connected (remoteAddr), so both send paths are timed. The baseline does the
// same with two node:dgram sockets. Figures are µs per round trip (two datagrams): lower is better.

const ROUND_TRIPS = 50_000;
const WARMUP = 2_000;
const SIZE = 100;

export default [
  {
    name: 'udp-pingpong-100b',
    unit: 'µs/round trip',
    baseline: 'node:dgram',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        const loop = aio.getRunningLoop();
        const [server] = yield* loop.createDatagramEndpoint(() => {
          let t;
          return { connectionMade: (tr) => void (t = tr), datagramReceived: (d, addr) => t.sendto(d, addr) };
        }, { localAddr: ['127.0.0.1', 0] });
        let left = 0;
        let done = null;
        let client = null;
        const [ct] = yield* loop.createDatagramEndpoint(() => ({
          datagramReceived(d) {
            if (--left === 0) done.setResult();
            else client.sendto(d);
          },
        }), { remoteAddr: server.getExtraInfo('sockname') });
        client = ct;
        const payload = Buffer.alloc(SIZE, 7);
        function* rounds(n) {
          left = n;
          done = loop.createFuture();
          client.sendto(payload);
          yield* done;
        }
        yield* rounds(WARMUP);
        const t0 = process.hrtime.bigint();
        yield* rounds(ROUND_TRIPS);
        const us = Number(process.hrtime.bigint() - t0) / 1000 / ROUND_TRIPS;
        client.close();
        server.close();
        return us;
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const dgram = await import('node:dgram');
      const server = dgram.createSocket('udp4');
      server.on('message', (d, r) => server.send(d, r.port, r.address));
      await new Promise((resolve) => server.bind(0, '127.0.0.1', resolve));
      const client = dgram.createSocket('udp4');
      await new Promise((resolve) => client.connect(server.address().port, '127.0.0.1', resolve));
      let left = 0;
      let done = null;
      client.on('message', (d) => {
        if (--left === 0) done();
        else client.send(d);
      });
      const payload = Buffer.alloc(SIZE, 7);
      const rounds = (n) => new Promise((resolve) => {
        left = n;
        done = resolve;
        client.send(payload);
      });
      await rounds(WARMUP);
      const t0 = process.hrtime.bigint();
      await rounds(ROUND_TRIPS);
      const us = Number(process.hrtime.bigint() - t0) / 1000 / ROUND_TRIPS;
      client.close();
      server.close();
      return us;
    },
  },
];
