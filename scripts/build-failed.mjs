// Runs when `node-gyp rebuild` failed during `npm install`: installing still succeeds (the
// pure-TypeScript loop works without the addon), and this says why and how to fix it. The marker
// file lets `aloop/native` repeat the reason when it is used.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const marker = path.join(root, 'build', 'aloop-build-failed.txt');
const why =
  `node-gyp could not build the native loop (node ${process.version}, ${process.platform}-${process.arch}, ` +
  `${new Date().toISOString()}). It needs Python 3, make and a C++17 compiler, and Node's headers ` +
  `(npm's nodedir, or a download by node-gyp).`;
try {
  mkdirSync(path.dirname(marker), { recursive: true });
  writeFileSync(marker, why + '\n');
} catch {
  // The message below is what matters.
}
console.warn(
  `\naloop: ${why}\n` +
    `aloop: the pure-TypeScript loop works without it; 'aloop/native' will throw until it is built.\n` +
    `aloop: to retry, install the tools above and run \`npm rebuild aloop\` (or \`npx node-gyp rebuild\` in the package).\n`,
);
