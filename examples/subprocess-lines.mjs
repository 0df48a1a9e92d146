// Reading a child's output line by line as it prints it: the child (Node itself) prints a line
// every 0.1 s; each line is shown with the time it arrived, so they come 0.1 s apart, not all
// at once when the child exits. `for await` over a StreamReader yields lines, as asyncio's does.
//   npm run build && node examples/subprocess-lines.mjs [lines]
import * as aio from 'aloop';

const LINES = Number(process.argv[2] ?? 5);
const TICKER = `let i = 0; const t = setInterval(() => { console.log('tick ' + i); if (++i === ${LINES}) clearInterval(t); }, 100);`;

async function main() {
  const loop = aio.getRunningLoop();
  const start = loop.time();
  const proc = await aio.createSubprocessExec(process.execPath, '-e', TICKER, { stdout: aio.PIPE });
  for await (const line of proc.stdout) {
    console.log(`${(loop.time() - start).toFixed(2)} s: ${line.toString().trimEnd()}`);
  }
  const code = await proc.wait();
  console.log(`child exited with ${code} after ${(loop.time() - start).toFixed(2)} s`);
}

await aio.run(main);
