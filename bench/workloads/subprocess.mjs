// Child processes. `spawn-wait`: spawn `true` and wait for it, one after another (createSubprocessExec
// + wait(), no pipes) against child_process.spawn + 'exit': µs per process. `subprocess-pipe-10mb`:
// a child (`dd if=/dev/zero bs=1M count=10`: bulk writes, as `cat` of a big file makes) writes
// 10 MB to its stdout, read to EOF through the Process's StreamReader (`stdout.read()`: the whole
// output as one Buffer) against a child_process stdout 'data' listener whose chunks are joined at
// 'end' (the same Buffer): ms per 10 MB. Lower is better for both.

const SPAWNS = 300;
const SPAWN_WARMUP = 20;
const PIPE_BYTES = 10 * 1024 * 1024;
const PIPE_RUNS = 8;
const PIPE_WARMUP = 2;
const HEAD = ['dd', 'if=/dev/zero', 'bs=1048576', `count=${PIPE_BYTES / 1048576}`, 'status=none'];

export default [
  {
    name: 'spawn-wait',
    unit: 'µs/process',
    baseline: 'child_process.spawn + exit',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        function* one() {
          const proc = yield* aio.createSubprocessExec('true');
          yield* proc.wait();
        }
        for (let i = 0; i < SPAWN_WARMUP; i++) yield* one();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < SPAWNS; i++) yield* one();
        return Number(process.hrtime.bigint() - t0) / 1000 / SPAWNS;
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const { spawn } = await import('node:child_process');
      const one = () => new Promise((resolve, reject) => {
        const child = spawn('true', [], { stdio: 'inherit' });
        child.once('error', reject);
        child.once('exit', resolve);
      });
      for (let i = 0; i < SPAWN_WARMUP; i++) await one();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < SPAWNS; i++) await one();
      return Number(process.hrtime.bigint() - t0) / 1000 / SPAWNS;
    },
  },
  {
    name: 'subprocess-pipe-10mb',
    unit: 'ms/10 MB',
    baseline: 'child_process stdout',
    async run({ aio, newLoop }) {
      return aio.run(function* () {
        function* one() {
          const proc = yield* aio.createSubprocessExec(...HEAD, { stdout: aio.PIPE });
          const n = (yield* proc.stdout.read()).length;
          yield* proc.wait();
          if (n !== PIPE_BYTES) throw new Error(`read ${n} bytes, not ${PIPE_BYTES}`);
        }
        for (let i = 0; i < PIPE_WARMUP; i++) yield* one();
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < PIPE_RUNS; i++) yield* one();
        return Number(process.hrtime.bigint() - t0) / 1e6 / PIPE_RUNS;
      }, { loopFactory: newLoop });
    },
    async runBaseline() {
      const { spawn } = await import('node:child_process');
      const one = () => new Promise((resolve, reject) => {
        const child = spawn(HEAD[0], HEAD.slice(1), { stdio: ['inherit', 'pipe', 'inherit'] });
        const chunks = [];
        let n = 0;
        let exited = false;
        let ended = false;
        const done = () => {
          if (!exited || !ended) return;
          if (n !== PIPE_BYTES) reject(new Error(`read ${n} bytes, not ${PIPE_BYTES}`));
          else resolve();
        };
        child.once('error', reject);
        child.stdout.on('data', (d) => chunks.push(d));
        child.stdout.once('end', () => {
          n = Buffer.concat(chunks).length;
          ended = true;
          done();
        });
        child.once('exit', () => {
          exited = true;
          done();
        });
      });
      for (let i = 0; i < PIPE_WARMUP; i++) await one();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < PIPE_RUNS; i++) await one();
      return Number(process.hrtime.bigint() - t0) / 1e6 / PIPE_RUNS;
    },
  },
];
