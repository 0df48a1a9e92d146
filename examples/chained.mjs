// The asyncio tutorial's chained.py, with async functions: each chain awaits part1 then part2
// (part2 needs part1's result); the chains run concurrently, so the program takes about as long
// as the longest chain, not the sum.
//   npm run build && node examples/chained.mjs [n ...]
// Set SCALE=0.1 to run ten times faster.
import * as aio from 'aloop';
import { seededRandInt } from './random.mjs';

const randint = seededRandInt(444);
const scale = Number(process.env.SCALE ?? 1);

async function part1(n) {
  const i = randint(0, 10);
  console.log(`part1(${n}) sleeping for ${i} seconds.`);
  await aio.sleep(i * scale);
  const result = `result${n}-1`;
  console.log(`Returning part1(${n}) == ${result}.`);
  return result;
}

async function part2(n, arg) {
  const i = randint(0, 10);
  console.log(`part2(${n}, '${arg}') sleeping for ${i} seconds.`);
  await aio.sleep(i * scale);
  const result = `result${n}-2 derived from ${arg}`;
  console.log(`Returning part2(${n}, '${arg}') == ${result}.`);
  return result;
}

async function chain(n) {
  const start = performance.now();
  const p1 = await part1(n);
  const p2 = await part2(n, p1);
  const end = (performance.now() - start) / 1000;
  console.log(`-->Chained result${n} => ${p2} (took ${end.toFixed(2)} seconds).`);
}

async function main(...args) {
  await aio.gather(args.map((n) => () => chain(n)));
}

const args = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [1, 2, 3];
const start = performance.now();
await aio.run(() => main(...args));
console.log(`Program finished in ${((performance.now() - start) / 1000).toFixed(2)} seconds.`);
