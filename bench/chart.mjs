// The benchmark chart: for each row and loop, how many times faster aloop is than the row's
// plain-Node baseline (the table's `ratio`), as a bar from 1.0 to the ratio on a log scale, so
// "2× faster" and "2× slower" are bars of the same length on either side of the 1.0 rule.
// Drawn with vega-lite, rendered to SVG headless by vega (no browser, no canvas).
//
//   node bench/chart.mjs bench/results/full.json [out.svg]     re-draws a saved run
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import * as vega from 'vega';
import { compile } from 'vega-lite';

/** The vega-lite spec for a results file's contents (see bench/run.mjs for its shape). */
export function chartSpec(run) {
  const rows = [...new Set(run.results.map((r) => r.name))];
  const values = run.results.map((r) => ({
    row: r.name,
    loop: r.loop,
    ratio: r.ratio,
    label: r.ratio >= 10 ? r.ratio.toFixed(0) : r.ratio.toFixed(2),
    detail: `${r.name} (${r.loop}): ${r.ratio.toFixed(2)}× — aloop ${r.value} ${r.unit}, ${r.baseline} ${r.baseline_value}`,
  }));
  const ratios = values.map((v) => v.ratio);
  // Whole powers of ten either side of every ratio and of 1, so the rule is always inside.
  const lo = 10 ** Math.floor(Math.log10(Math.min(1, ...ratios)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(1, ...ratios)));
  const ticks = [];
  for (let p = lo; p < hi * 1.01; p *= 10) for (const m of [1, 2, 5]) if (p * m <= hi * 1.001) ticks.push(+(p * m).toPrecision(2));
  const when = run.date ? run.date.slice(0, 10) : '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'aloop against plain Node: how many times faster (> 1) or slower (< 1)',
      subtitle: `Node ${run.node}, ${run.platform}, ${run.cpus} cores; ${run.repeat} runs per cell, medians; ${when}`,
      anchor: 'start',
    },
    width: 560,
    height: { step: 9, for: 'offset' },
    data: { values },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.9 } },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: rows, title: null, axis: { labelLimit: 0 } },
          yOffset: { field: 'loop', type: 'nominal', sort: ['pure', 'native'] },
          x: {
            field: 'ratio',
            type: 'quantitative',
            scale: { type: 'log', domain: [lo, hi] },
            axis: { values: ticks, format: '~g', grid: true },
            title: 'ratio to the baseline (log scale; the rule is 1.0: as fast as plain Node)',
          },
          x2: { datum: 1 },
          color: { field: 'loop', type: 'nominal', sort: ['pure', 'native'], scale: { range: ['#4c78a8', '#f58518'] }, title: 'loop' },
          tooltip: { field: 'detail', type: 'nominal' },
        },
      },
      // Labels at the bar's far end: right of bars going right (faster), left of bars going left.
      ...[['faster', 'left', 3], ['slower', 'right', -3]].map(([side, align, dx]) => ({
        transform: [{ filter: side === 'faster' ? 'datum.ratio >= 1' : 'datum.ratio < 1' }],
        mark: { type: 'text', fontSize: 8, dx, align, baseline: 'middle' },
        encoding: {
          y: { field: 'row', type: 'nominal', sort: rows },
          yOffset: { field: 'loop', type: 'nominal', sort: ['pure', 'native'] },
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log', domain: [lo, hi] } },
          text: { field: 'label' },
        },
      })),
      {
        mark: { type: 'rule', color: 'black', strokeWidth: 1.5 },
        encoding: { x: { datum: 1 } },
      },
    ],
    config: { axis: { labelFontSize: 11 }, legend: { orient: 'top' } },
  };
}

/** The chart as an SVG document. */
export async function renderChart(run) {
  const view = new vega.View(vega.parse(compile(chartSpec(run)).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [input, output] = process.argv.slice(2);
  if (!input) {
    console.error('usage: node bench/chart.mjs <results.json> [out.svg]');
    process.exit(2);
  }
  const run = JSON.parse(readFileSync(input, 'utf8'));
  const out = output ?? input.replace(/\.json$/, '.svg');
  writeFileSync(out, await renderChart(run));
  console.log(`wrote ${out}`);
}
