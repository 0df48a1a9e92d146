// Runs one measurement in a fresh process, so rows do not share JIT state, heap or the task
// context (which, once on, slows every promise in the process). Prints one JSON line.
//   node bench/one.mjs <workload-file> <row-name> <pure|native|baseline>
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [file, name, target] = process.argv.slice(2);
const here = path.dirname(new URL(import.meta.url).pathname);
const rows = (await import(pathToFileURL(path.resolve(here, 'workloads', file)).href)).default;
const row = rows.find((r) => r.name === name);
if (!row) throw new Error(`no row ${name} in ${file}`);

let out;
if (target === 'baseline') {
  // aloop is imported below, only for the loop targets: a baseline process never loads dist/
  // (await-tax relies on this; workload files must not import it either).
  out = await row.runBaseline();
} else {
  const aio = await import(pathToFileURL(path.resolve(here, '../dist/index.js')).href);
  let newLoop;
  if (target === 'native') {
    const native = await import(pathToFileURL(path.resolve(here, '../dist/native.js')).href);
    newLoop = () => new native.NativeEventLoop();
  } else {
    newLoop = () => new aio.PureEventLoop();
  }
  out = await row.run({ aio, newLoop, loopName: target });
}
const res = typeof out === 'number' ? { value: out } : out;
process.stdout.write(JSON.stringify(res) + '\n');
