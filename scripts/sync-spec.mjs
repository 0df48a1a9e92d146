// Part of `npm run docs`: docs/SPEC.md is the public contract as the project keeps it in
// shared/SPEC.md beside this repository (where the steering side edits it); this copies it in,
// word for word, when that file is there and differs. Without it (a plain clone), nothing happens.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.resolve(root, '..', 'shared', 'SPEC.md');
const target = path.join(root, 'docs', 'SPEC.md');
if (existsSync(source)) {
  const text = readFileSync(source, 'utf8');
  if (!existsSync(target) || readFileSync(target, 'utf8') !== text) {
    writeFileSync(target, text);
    console.log(`docs/SPEC.md updated from ${source}`);
  }
}
