/**
 * The monitor's page in a real headless Chromium (Debian's `chromium` package, driven with
 * playwright-core): it draws a known task tree and the loop's lag, shows a task's call graph, and
 * cancels a task, on every loop. Without Chromium these tests fail, saying what to install.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chromium, type BrowserContext } from 'playwright-core';
import * as aio from '../src/index.js';
import { eachLoop } from './loops.js';

const CHROMIUM = process.env.ALOOP_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let context: BrowserContext | null = null;
let profile: string | null = null;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the monitor page tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` ` +
        '(Debian), or set ALOOP_CHROMIUM to a Chromium binary',
    );
  }
  // A fresh profile directory each run (launchPersistentContext passes it as --user-data-dir).
  profile = mkdtempSync(path.join(os.tmpdir(), 'aloop-chromium-'));
  // Not the sanitizer's LD_PRELOAD (npm run test:sanitize): it is for Node and our addon, and
  // Chromium does not start with libasan forced into it.
  const { LD_PRELOAD: _preload, ...env } = process.env;
  context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: FLAGS, env });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profile !== null) rmSync(profile, { recursive: true, force: true });
});

eachLoop((lc) => {
  describe('monitor page in Chromium', () => {
    test('shows the task tree and the loop lag, a call graph on click, and cancels a task', async () => {
      await lc.run(async function main() {
        const m = await aio.monitor({ interval: 0.1 });
        const page = await context!.newPage();
        page.setDefaultTimeout(15_000);
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('console', (msg) => {
          if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
        });
        const leaf = aio.createTask(
          async function leafFn() {
            await aio.sleep(3600);
          },
          { name: 'leaf-1' },
        );
        const branch1 = aio.createTask(
          async function branchFn() {
            await leaf;
          },
          { name: 'branch-1' },
        );
        const branch2 = aio.createTask(
          function* genBranch(): aio.Coro<void> {
            yield* aio.sleep(3600);
          },
          { name: 'branch-2' },
        );
        const root = aio.createTask(
          async function rootFn() {
            await aio.gather(branch1, branch2);
          },
          { name: 'root' },
        );
        const victim = aio.createTask(
          async function victimFn() {
            await aio.sleep(3600);
          },
          { name: 'victim <b>not bold</b>' },
        );
        try {
          await page.goto(m.url);
          // The tree: root above both branches, leaf-1 under branch-1.
          await page.locator('li[data-task-name="root"] li[data-task-name="branch-1"] li[data-task-name="leaf-1"]').waitFor();
          expect(await page.locator('li[data-task-name="root"] > ul > li[data-task-name="branch-2"]').count()).toBe(1);
          expect(await page.locator('#tree > li[data-task-name="leaf-1"]').count()).toBe(0);
          const leafRow = page.locator('li[data-task-name="leaf-1"] > .row');
          expect(await leafRow.locator('.state').textContent()).toBe('waiting');
          expect(await leafRow.locator('.coro').textContent()).toBe('async leafFn()');
          expect(await leafRow.locator('.awaits').textContent()).toMatch(/^waits on sleep, due in \d+\.\d{3} s$/);
          expect(await page.locator('li[data-task-name="branch-2"] > .row .coro').textContent()).toBe('generator genBranch()');
          expect(await page.locator('li[data-task-name="root"] > .row .awaits').textContent()).toBe('waits on gather of 2 (0 done)');
          // Names are text, never markup.
          expect(await page.locator('li.task .name b').count()).toBe(0);
          expect(await page.locator('li[data-task-name="victim <b>not bold</b>"] > .row .name').textContent()).toBe('victim <b>not bold</b>');
          // Statistics, and the lag chart once the probe has a few samples.
          expect(await page.locator('#loop').textContent()).toContain(lc.name === 'pure' ? 'PureEventLoop' : 'NativeEventLoop');
          await page.waitForFunction(() => (document.querySelector('polyline[data-series="timerMs"]')?.getAttribute('points') ?? '').split(' ').length > 3);
          await page.waitForFunction(() => document.querySelector('[data-stat="tasks"] b')?.textContent === '6');
          expect(Number((await page.locator('[data-stat="iterations / s"] b').textContent())!.replace(/,/g, ''))).toBeGreaterThan(0);
          expect(await page.locator('[data-stat="callback lag"] b').textContent()).toMatch(/ ms$/);

          // A task's call graph, on a click on its name.
          await page.locator('li[data-task-name="leaf-1"] > .row .name').click();
          await page.locator('#graph', { hasText: "* Task(name='leaf-1'" }).waitFor();
          expect(await page.locator('#graph').textContent()).toContain("* Task(name='branch-1'");

          // Cancel from the page: the task is cancelled here, and the tree loses it.
          await page.locator('li[data-task-name="victim <b>not bold</b>"] > .row button.cancel').click();
          const [outcome] = await aio.gather([victim], { returnExceptions: true });
          expect(outcome).toBeInstanceOf(aio.CancelledError);
          expect((outcome as Error).message).toBe('cancelled from the aloop monitor');
          await page.locator('li[data-task-name="victim <b>not bold</b>"]').waitFor({ state: 'detached' });
          expect(await page.locator('#status').textContent()).toMatch(/cancelled victim|updated/);
          expect(problems).toEqual([]);

          // The monitor closes: the page says it cannot reach it.
          await m.close();
          await page.locator('#status.error', { hasText: 'cannot reach the monitor' }).waitFor();
        } finally {
          await page.close();
          for (const t of [root, branch1, branch2, leaf, victim]) t.cancel();
          await aio.gather([root, branch1, branch2, leaf, victim], { returnExceptions: true });
          await m.close();
        }
      });
    }, 90_000);
  });
});
