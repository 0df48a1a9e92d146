// The asyncio docs' subprocess example: run shell commands, capture their stdout and stderr with
// communicate(), report the exit status. `ls -l` of a directory (the first argument, default
// '.'), and `ls` of a path that does not exist (its error lands on stderr, the status is not 0);
// both run at once.
//   npm run build && node examples/subprocess-ls.mjs [dir]
import * as aio from 'aloop';

async function run(cmd) {
  const proc = await aio.createSubprocessShell(cmd, { stdout: aio.PIPE, stderr: aio.PIPE });
  const [stdout, stderr] = await proc.communicate();
  console.log(`[${cmd}] exited with ${proc.returncode}`);
  if (stdout.length > 0) console.log(`[stdout]\n${stdout.toString().trimEnd()}`);
  if (stderr.length > 0) console.log(`[stderr]\n${stderr.toString().trimEnd()}`);
}

const dir = process.argv[2] ?? '.';
await aio.run(() => aio.gather(run(`ls -l '${dir.replaceAll("'", "'\\''")}'`), run('ls /zzz-no-such-dir')));
