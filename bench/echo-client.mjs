// A ping-pong load client for echo servers: C connections, each sends one message of S bytes
// and waits for all S bytes to come back before sending the next. One Node process (node:net).
//
//   node bench/echo-client.mjs --port N [--host 127.0.0.1] [--conns 10] [--size 1024]
//                              [--duration 1] [--warmup 0.2] [--json]
//
// Prints requests per second and the p50/p99 round-trip latency, counted after the warm-up.
// `runEchoClient(options)` does the same from another script and resolves to
// `{ rps, p50, p99, requests }` (latencies in milliseconds).
import net from 'node:net';

export async function runEchoClient({ port, host = '127.0.0.1', conns = 10, size = 1024, duration = 1, warmup = 0.2 }) {
  const msg = Buffer.alloc(size, 0x61);
  const lat = [];
  let measuring = false;
  let stop = false;
  let requests = 0;
  const sockets = [];
  const finished = [];
  for (let i = 0; i < conns; i++) {
    const socket = net.connect({ port, host, noDelay: true });
    sockets.push(socket);
    finished.push(new Promise((resolve, reject) => {
      let got = 0;
      let t0 = 0n;
      const send = () => {
        got = 0;
        t0 = process.hrtime.bigint();
        socket.write(msg);
      };
      socket.on('connect', send);
      socket.on('data', (d) => {
        got += d.length;
        if (got < size) return;
        if (got > size) return reject(new Error(`echo returned ${got} bytes for a ${size}-byte message`));
        if (measuring) {
          lat.push(Number(process.hrtime.bigint() - t0) / 1e6);
          requests++;
        }
        if (stop) {
          socket.end();
          resolve();
        } else send();
      });
      socket.on('error', reject);
    }));
  }
  await new Promise((r) => setTimeout(r, warmup * 1000));
  measuring = true;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, duration * 1000));
  measuring = false;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  stop = true;
  await Promise.race([Promise.all(finished), new Promise((r) => setTimeout(r, 2000))]);
  for (const s of sockets) s.destroy();
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : NaN);
  return { rps: requests / secs, p50: pct(0.5), p99: pct(0.99), requests };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const opts = { port: 0, host: '127.0.0.1', conns: 10, size: 1024, duration: 1, warmup: 0.2 };
  let json = false;
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'json') json = true;
    else if (k in opts) opts[k] = k === 'host' ? argv[++i] : Number(argv[++i]);
    else {
      console.error(`echo-client: unknown option ${argv[i]}`);
      process.exit(2);
    }
  }
  if (!opts.port) {
    console.error('echo-client: --port is required');
    process.exit(2);
  }
  const r = await runEchoClient(opts);
  if (json) console.log(JSON.stringify(r));
  else console.log(`${Math.round(r.rps)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  (${opts.conns} conns, ${opts.size} B)`);
}
