// Where the CPU goes in one echo run: the server's and the load client's CPU time, from
// /proc/<pid>/stat (utime + stime) sampled inside the measured window, plus the whole machine's
// busy and steal time from /proc/stat. Answers "is the client the bottleneck?": on a 2-core
// machine client and server share the cores, so every client cycle is one the server lacks.
//
//   node bench/echo-cpu.mjs [--client c|node] [--loop node|pure|native|py-asyncio]
//                           [--mode protocol|buffered|streams] [--conns 10] [--size 1024]
//                           [--duration 3] [--warmup 0.5] [--json]
//
// Linux only. CPU % is of one core (100 % = one core busy the whole window).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { binary, buildEchoClient } from './echo-client-c.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);
const opts = { client: 'c', loop: 'native', mode: 'protocol', conns: 10, size: 1024, duration: 3, warmup: 0.5 };
let json = false;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const k = argv[i].replace(/^--/, '');
  if (k === 'json') json = true;
  else if (k in opts) opts[k] = typeof opts[k] === 'number' ? Number(argv[++i]) : argv[++i];
  else {
    console.error(`echo-cpu: unknown option ${argv[i]}`);
    process.exit(2);
  }
}

const TICK = 100; // USER_HZ: /proc reports CPU time in 1/100 s on every Linux ABI we run on
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

/** CPU time of a process (all its threads), in seconds: `{ user, sys }`. Fields are counted after
 * the `(comm)`, which may hold spaces. */
function procCpu(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { user: Number(f[11]) / TICK, sys: Number(f[12]) / TICK }; // fields 14, 15 of proc_pid_stat(5)
}

/** Whole-machine CPU seconds: busy (everything but idle and iowait) and steal. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = f;
  return { busy: (user + nice + system + irq + softirq) / TICK, steal: (steal ?? 0) / TICK, idle: (idle + iowait) / TICK };
}

function startServer() {
  let cmd = process.execPath;
  let args = [path.join(here, 'echo-server.mjs'), '--loop', opts.loop, '--mode', opts.mode];
  if (opts.loop === 'py-asyncio') {
    cmd = 'python3';
    args = [path.join(here, 'echo_server.py'), '--mode', opts.mode];
  }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (m) resolve({ port: Number(m[1]), child });
    });
  });
}

if (opts.client === 'c') {
  const b = buildEchoClient();
  if (!b.ok) {
    console.error(`echo-cpu: ${b.why}`);
    process.exit(1);
  }
}
const { port, child: server } = await startServer();
const cargs = ['--port', String(port), '--conns', String(opts.conns), '--size', String(opts.size),
  '--duration', String(opts.duration), '--warmup', String(opts.warmup), '--json'];
const client = opts.client === 'c'
  ? spawn(binary, cargs, { stdio: ['ignore', 'pipe', 'inherit'] })
  : spawn(process.execPath, [path.join(here, 'echo-client.mjs'), ...cargs], { stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
client.stdout.on('data', (d) => (out += d));
const clientDone = new Promise((resolve) => client.on('close', resolve));

// Sample strictly inside the client's measured window: skip its warm-up plus start-up slack (the
// Node client needs ~50 ms to start), and stop short of its end.
const slack = 0.2;
await sleep(opts.warmup + slack);
const s0 = procCpu(server.pid), c0 = procCpu(client.pid), m0 = machineCpu(), t0 = performance.now();
await sleep(opts.duration - 2 * slack);
const s1 = procCpu(server.pid), c1 = procCpu(client.pid), m1 = machineCpu(), t1 = performance.now();
const code = await clientDone;
server.kill('SIGKILL');
if (code !== 0) {
  console.error(`echo-cpu: client exited with ${code}`);
  process.exit(1);
}
const r = JSON.parse(out.trim().split('\n').pop());
const secs = (t1 - t0) / 1000;
const reqs = r.rps * secs; // requests in the sampling window, at the client's measured rate
const sUser = s1.user - s0.user, sSys = s1.sys - s0.sys, cUser = c1.user - c0.user, cSys = c1.sys - c0.sys;
const res = {
  client: opts.client, loop: opts.loop, mode: opts.mode, conns: opts.conns, size: opts.size,
  rps: Math.round(r.rps), p50: r.p50, p99: r.p99,
  server_cpu_pct: Math.round((100 * (sUser + sSys)) / secs),
  server_sys_pct: Math.round((100 * sSys) / secs), // kernel share: syscalls and loopback TCP
  client_cpu_pct: Math.round((100 * (cUser + cSys)) / secs),
  client_sys_pct: Math.round((100 * cSys) / secs),
  server_us_per_req: +((1e6 * (sUser + sSys)) / reqs).toFixed(2),
  client_us_per_req: +((1e6 * (cUser + cSys)) / reqs).toFixed(2),
  machine_busy_pct: Math.round((100 * (m1.busy - m0.busy)) / secs), // of all cores: 200 = 2 cores busy
  machine_cores: os.cpus().length,
  machine_steal_pct: Math.round((100 * (m1.steal - m0.steal)) / secs),
};
// Busy time that is neither process: other work on the machine, which skews the run.
res.other_cpu_pct = res.machine_busy_pct - res.server_cpu_pct - res.client_cpu_pct;
if (json) console.log(JSON.stringify(res));
else {
  console.log(`${res.client} client -> ${res.loop}/${res.mode} server, c${res.conns}, ${res.size} B: ` +
    `${res.rps} req/s (p50 ${res.p50?.toFixed(3)} ms, p99 ${res.p99?.toFixed(3)} ms)`);
  console.log(`  server ${res.server_cpu_pct}% CPU (${res.server_sys_pct}% kernel; ${res.server_us_per_req} us/req), ` +
    `client ${res.client_cpu_pct}% CPU (${res.client_sys_pct}% kernel; ${res.client_us_per_req} us/req), ` +
    `machine busy ${res.machine_busy_pct}% of ${100 * res.machine_cores}% ` +
    `(other processes ${res.other_cpu_pct}%), steal ${res.machine_steal_pct}%`);
}
