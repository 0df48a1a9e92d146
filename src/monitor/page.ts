/**
 * The monitor's one HTML page: loop statistics, a chart of the loop's lag, the task tree (each
 * task under the tasks that wait on it) and a button to cancel a task. It polls `stats` and
 * `tasks` (relative URLs, so it works under the token's path too) once a second, and builds its
 * DOM with textContent only: task names come from the program and may hold anything.
 */

/** The page, with `nonce` allowing its inline script and style (the CSP forbids anything else). */
export function monitorPage(nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>aloop monitor</title>
<link rel="icon" href="data:,">
<style nonce="${nonce}">
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1d2329; }
  header { display: flex; gap: 1.5em; align-items: baseline; flex-wrap: wrap; border-bottom: 1px solid #ccd; }
  h1 { font-size: 1.3em; margin: .6em 0; }
  h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
  #status.error { color: #b00020; }
  .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(11em, 1fr)); gap: .3em 1em; margin: .8em 0; }
  .stats div { background: #f3f5f8; padding: .3em .6em; border-radius: 4px; }
  .stats b { display: block; font-size: 1.2em; }
  .stats div.wide { grid-column: 1 / -1; }
  .stats div.wide b { font-size: 1em; font-weight: normal; }
  svg { width: 100%; max-width: 720px; height: 130px; background: #fafbfc; border: 1px solid #dde; }
  .legend span { margin-right: 1em; }
  .timer { color: #1565c0; } .soon { color: #e65100; }
  ul.tree, ul.tree ul { list-style: none; padding-left: 1.3em; margin: 0; border-left: 1px dotted #aab; }
  ul.tree { border-left: none; padding-left: 0; }
  li.task > .row { display: flex; gap: .7em; align-items: baseline; padding: .1em 0; flex-wrap: wrap; }
  .name { font-weight: 600; cursor: pointer; text-decoration: underline dotted; }
  .state { font-size: .8em; padding: 0 .4em; border-radius: 3px; background: #e3e7ee; }
  .state-running { background: #c8e6c9; } .state-ready { background: #fff3c4; }
  .state-waiting { background: #dfe7fd; } .state-suspended { background: #eee; }
  .coro, .age, .awaits { color: #555; font-size: .9em; }
  .again { color: #888; font-style: italic; font-size: .85em; }
  button.cancel { font-size: .8em; }
  pre { background: #f6f8fa; padding: .8em; overflow: auto; }
</style>
</head>
<body>
<header>
  <h1>aloop monitor</h1>
  <span id="loop"></span>
  <label><input type="checkbox" id="pause"> pause</label>
  <span id="status">loading…</span>
</header>
<div class="stats" id="stats"></div>
<svg id="lag" viewBox="0 0 720 130" preserveAspectRatio="none" aria-label="loop lag"></svg>
<div class="legend"><span class="timer">— timer lag</span><span class="soon">— callback lag</span><span id="lagmax"></span></div>
<h2>Tasks <span id="count"></span></h2>
<ul class="tree" id="tree"></ul>
<section id="slow" hidden><h2>Slow callbacks (debug mode), newest first</h2><ul id="slowlist"></ul></section>
<section id="detail" hidden><h2>Call graph of <span id="dname"></span></h2><pre id="graph"></pre></section>
<script nonce="${nonce}">
'use strict';
const base = location.pathname.endsWith('/') ? location.pathname : location.pathname + '/';
const $ = (id) => document.getElementById(id);
let refreshes = 0;

function el(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
  return e;
}

async function get(path, as) {
  const r = await fetch(base + path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': ' + r.status + ' ' + (await r.text()));
  return as === 'text' ? r.text() : r.json();
}

function age(s) {
  if (s < 60) return s.toFixed(1) + ' s';
  if (s < 3600) return (s / 60).toFixed(1) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

function ms(v) {
  return v === null || v === undefined ? '–' : v.toFixed(v < 10 ? 2 : 0) + ' ms';
}

function renderStats(s) {
  $('loop').textContent = s.type + (s.running ? ', running' : ', stopped') + (s.debug ? ', debug mode' : '');
  const handles = Object.entries(s.handles.node).map(([k, v]) => k + ' ' + v).join(', ');
  const cells = [
    ['iterations / s', s.iterationsPerSecond === null ? '–' : Math.round(s.iterationsPerSecond).toLocaleString()],
    ['callback lag', ms(s.lag && s.lag.callSoonMs)],
    ['timer lag', ms(s.lag && s.lag.timerMs)],
    ['ready', s.ready],
    ['timers', s.timers],
    ['tasks', s.tasks],
    ['iterations', s.iterations.toLocaleString()],
    ['native handles', s.handles.native === null ? '–' : s.handles.native],
    ['slow callbacks', s.slowCallbacks.count],
  ];
  $('stats').replaceChildren(...cells.map(([k, v]) => el('div', { 'data-stat': k }, k, el('b', {}, v))));
  $('stats').append(el('div', { class: 'wide', 'data-stat': 'node resources' }, 'Node resources (the process)', el('b', {}, handles || '–')));
  drawLag(s.lag ? s.lag.history : []);
  const slow = s.slowCallbacks.recent;
  $('slow').hidden = slow.length === 0;
  // Newest first.
  $('slowlist').replaceChildren(...slow.slice().reverse().map((c) =>
    el('li', {}, new Date(c.at).toLocaleTimeString() + ' — ' + c.seconds.toFixed(3) + ' s: ' + c.what)));
}

function drawLag(history) {
  const svg = $('lag');
  const W = 720, H = 130;
  const max = Math.max(1, ...history.map((h) => Math.max(h.timerMs, h.callSoonMs || 0)));
  $('lagmax').textContent = 'scale 0–' + max.toFixed(1) + ' ms';
  const line = (key, color) => {
    const pts = history.map((h, i) => {
      const x = history.length > 1 ? (i * W) / (history.length - 1) : 0;
      const y = H - 4 - ((h[key] || 0) * (H - 8)) / max;
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    const p = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
    p.setAttribute('points', pts.join(' '));
    p.setAttribute('fill', 'none');
    p.setAttribute('stroke', color);
    p.setAttribute('stroke-width', '1.5');
    p.setAttribute('data-series', key);
    return p;
  };
  svg.replaceChildren(line('timerMs', '#1565c0'), line('callSoonMs', '#e65100'));
}

function renderTasks(tasks) {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const children = new Map();
  const roots = [];
  for (const t of tasks) {
    const parents = t.awaitedBy.filter((p) => byId.has(p));
    if (parents.length === 0) roots.push(t);
    for (const p of parents) {
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(t);
    }
  }
  // Tasks only reachable through a cycle of waits (a deadlock) have no root: show them at the top.
  const reached = new Set();
  const node = (t, path) => {
    const seen = reached.has(t.id);
    reached.add(t.id);
    const awaits = t.awaits.map((a) => a.detail).join(', ');
    const row = el('div', { class: 'row' },
      el('span', { class: 'name', title: 'show its call graph', onclick: () => showGraph(t) }, t.name),
      el('span', { class: 'state state-' + t.state }, t.state + (t.cancelling ? ' (cancelling)' : '')),
      el('span', { class: 'coro' }, (t.form === 'async' ? 'async ' : 'generator ') + t.coro + '()'),
      el('span', { class: 'age' }, age(t.age)),
      awaits ? el('span', { class: 'awaits' }, 'waits on ' + awaits) : null,
      el('button', { class: 'cancel', type: 'button', 'data-task-id': String(t.id), onclick: () => cancel(t) }, 'cancel'),
      seen ? el('span', { class: 'again' }, '(also shown above)') : null);
    const li = el('li', { class: 'task', 'data-task-id': String(t.id), 'data-task-name': t.name, 'data-state': t.state }, row);
    const kids = (children.get(t.id) || []).filter((k) => !path.has(k.id));
    if (kids.length > 0 && !seen) {
      const next = new Set(path).add(t.id);
      li.append(el('ul', {}, ...kids.map((k) => node(k, next))));
    }
    return li;
  };
  const items = roots.map((t) => node(t, new Set()));
  for (const t of tasks) if (!reached.has(t.id)) items.push(node(t, new Set()));
  $('tree').replaceChildren(...items);
  $('count').textContent = '(' + tasks.length + ')';
}

async function showGraph(t) {
  $('detail').hidden = false;
  $('dname').textContent = t.name;
  try {
    $('graph').textContent = await get('tasks/' + t.id + '/graph', 'text');
  } catch (e) {
    $('graph').textContent = String(e.message || e);
  }
}

async function cancel(t) {
  const r = await fetch(base + 'tasks/' + t.id + '/cancel', { method: 'POST', headers: { 'X-Aloop-Monitor': 'cancel' } });
  $('status').textContent = r.ok ? 'cancelled ' + t.name : 'cancel failed: ' + r.status;
  await refresh(true);
}

async function refresh(once) {
  try {
    const [stats, tasks] = await Promise.all([get('stats'), get('tasks')]);
    renderStats(stats);
    renderTasks(tasks);
    refreshes++;
    document.body.dataset.refreshes = String(refreshes);
    $('status').className = '';
    $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    $('status').className = 'error';
    $('status').textContent = 'cannot reach the monitor: ' + (e.message || e);
  }
  if (!once && !$('pause').checked) {
    clearTimeout(timer);
    timer = setTimeout(() => refresh(false), 1000);
  }
}
let timer = null;
$('pause').addEventListener('change', () => {
  clearTimeout(timer);
  if (!$('pause').checked) refresh(false);
});
refresh(false);
</script>
</body>
</html>
`;
}
