/**
 * The benchmark's own parts a person relies on: the progress estimate (bench/progress.mjs) and
 * the chart (bench/chart.mjs, vega-lite rendered to SVG without a browser or canvas).
 */
import { describe, expect, test } from 'vitest';
// @ts-expect-error: plain .mjs modules of the benchmark, no types
import { clock, Progress } from '../bench/progress.mjs';
// @ts-expect-error: as above
import { renderChart } from '../bench/chart.mjs';

function recorder(isTTY = false) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 200, write: (s: string) => void out.push(s) } };
}

describe('bench progress', () => {
  test('clock formats seconds as m:ss and h:mm:ss', () => {
    expect(clock(0)).toBe('0:00');
    expect(clock(65.4)).toBe('1:05');
    expect(clock(3725)).toBe('1:02:05');
  });

  test('the estimate scales the last run by how this one compares, and averages rows never run', () => {
    let t = 0;
    const { out, stream } = recorder();
    const p = new Progress({ rows: [{ name: 'a', guess: 10 }, { name: 'b', guess: null }, { name: 'c', guess: 20 }], cells: 3, stream, now: () => t });
    p.startRow('a');
    p.cell('baseline 1/1');
    expect(p.remaining()).toBeNull(); // row b has no history and nothing has finished yet
    t = 20;
    p.endRow(); // twice as slow as last time: c is expected to take 40 s, b 20 s (the average)
    expect(p.remaining()).toBe(60);
    p.startRow('b');
    t = 26;
    p.endRow();
    expect(p.remaining()).toBe(40);
    p.startRow('c');
    p.cell('baseline 1/1');
    t = 70; // past its estimate: at least its measurements not started yet remain
    expect(p.remaining()).toBeCloseTo((2 / 3) * 40);
    p.endRow();
    p.done();
    expect(out.join('')).toBe(
      '[1/3] a: 20.0 s (0:20 elapsed, ~1:00 left)\n[2/3] b: 6.0 s (0:26 elapsed, ~0:40 left)\n' +
        '[3/3] c: 44.0 s (1:10 elapsed, ~0:00 left)\n3 rows in 1:10\n',
    );
  });

  test('on a terminal the status line is rewritten in place and says which cell runs', () => {
    let t = 0;
    const { out, stream } = recorder(true);
    const p = new Progress({ rows: [{ name: 'callsoon', guess: 9 }], cells: 3, stream, now: () => t });
    p.startRow('callsoon');
    t = 3;
    p.cell('native 1/1');
    p.log('a child wrote this');
    t = 9;
    p.endRow();
    p.done();
    const text = out.join('');
    expect(text).toContain('\r\x1b[2K[1/1] callsoon · native 1/1 · 0:03 elapsed, ~0:06 left');
    expect(text).toContain('\r\x1b[2Ka child wrote this\n');
    expect(text.endsWith('1 rows in 0:09\n')).toBe(true);
  });

  test('Progress rejects rows out of order', () => {
    const p = new Progress({ rows: [{ name: 'a', guess: null }], cells: 1, stream: recorder().stream });
    expect(() => p.startRow('b')).toThrow(/expected row a, got b/);
  });
});

describe('bench chart', () => {
  test('draws one bar per row and loop from 1.0 to its ratio, with the 1.0 rule, as SVG', async () => {
    const rec = (name: string, loop: string, ratio: number) => ({ name, loop, ratio, value: 1, unit: 'ns', baseline: 'b', baseline_value: ratio });
    const svg: string = await renderChart({
      node: 'v20.20.2', platform: 'linux-x64', cpus: 2, repeat: 3, date: '2026-12-03T00:00:00.000Z',
      results: [rec('callsoon', 'pure', 1.84), rec('callsoon', 'native', 1.85), rec('queue-pingpong', 'pure', 0.13), rec('queue-pingpong', 'native', 0.11)],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('callsoon');
    expect(svg).toContain('queue-pingpong');
    expect(svg).toContain('1.84');
    expect(svg).toContain('0.11');
    expect(svg.match(/aria-roledescription="bar"/g)?.length).toBe(4);
    expect(svg).toContain('class="mark-rule role-mark');
    expect(svg).toContain('Node v20.20.2');
  }, 30_000);
});
