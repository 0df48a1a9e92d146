/**
 * What `aloop ps` and `aloop pstree` print, from a snapshot (pure functions, tested on their own):
 * `python -m asyncio ps` / `pstree`'s table and tree, with aloop's extra columns (state, age, what
 * each task waits on) and one line per loop.
 */
import type { ProcessSnapshot, TaskInfo } from '../introspect/snapshot.js';
import type { FrameCallGraphEntry } from '../introspect/frames.js';

/** The await graph has a cycle (tasks waiting on each other): no tree can show it. */
export class CycleError extends Error {
  override name = 'CycleError';
  constructor(readonly cycles: string[][]) {
    super(`the await graph has cycles:\n${cycles.map((c) => `cycle: ${c.join(' → ')}`).join('\n')}`);
  }
}

const hex = (id: number) => `0x${id.toString(16)}`;

function frameLabel(f: FrameCallGraphEntry): string {
  return f.fileName !== null ? `${f.name} ${f.fileName}:${f.lineNumber}` : f.name;
}

function age(s: number): string {
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** The header: the process, then one line per loop. */
export function describeProcess(snap: ProcessSnapshot): string {
  const lines: string[] = [];
  if (snap.pid >= 0) lines.push(`pid ${snap.pid} (node ${snap.node}): ${snap.loops.length} loop(s), ${snap.tasks.length} task(s)`);
  else lines.push(`monitor ${snap.monitors[0]}: ${snap.tasks.length} task(s)`);
  for (const l of snap.loops) {
    const flags = [l.running ? 'running' : l.closed ? 'closed' : 'stopped', ...(l.debug ? ['debug'] : [])].join(', ');
    const parts = [`iterations ${l.iterations}`];
    if (l.iterationsPerSecond !== null) parts.push(`${Math.round(l.iterationsPerSecond)}/s`);
    parts.push(`ready ${l.ready}`, `timers ${l.timers}`, `tasks ${l.tasks}`);
    if (l.lag !== null && l.lag.timerMs !== null) parts.push(`lag ${l.lag.timerMs.toFixed(2)} ms`);
    if (l.slowCallbacks.count > 0) parts.push(`slow callbacks ${l.slowCallbacks.count}`);
    lines.push(`loop ${hex(l.id)} ${l.type} (${flags}): ${parts.join(', ')}`);
  }
  for (const m of snap.pid >= 0 ? snap.monitors : []) lines.push(`monitor ${m}`);
  return lines.join('\n');
}

/** `ps`: a table of the tasks, one row per task and task waiting on it. */
export function psTable(snap: ProcessSnapshot): string {
  const byId = new Map(snap.tasks.map((t) => [t.id, t]));
  const loops = new Set(snap.tasks.map((t) => t.loop));
  const header = ['task id', 'task name', 'state', 'age', 'coroutine stack', 'waits on', 'awaiter chain', 'awaiter name', 'awaiter id'];
  if (loops.size > 1) header.unshift('loop');
  const rows: string[][] = [];
  for (const t of snap.tasks) {
    const stack = clip(t.callStack.map((f) => f.name).join(' -> '), 50);
    const waits = clip(t.awaits.map((a) => a.detail).join(', '), 50);
    const base = [hex(t.id), t.name, t.state + (t.cancelling > 0 ? '*' : ''), age(t.age), stack, waits];
    const awaiters = t.awaitedBy.length > 0 ? t.awaitedBy : [null];
    for (const a of awaiters) {
      const p = a === null ? undefined : byId.get(a);
      const chain = p === undefined ? '' : clip(p.callStack.map((f) => f.name).join(' -> '), 50);
      const row = [...base, chain, p?.name ?? (a === null ? '' : 'Future'), a === null ? '0x0' : hex(a)];
      if (loops.size > 1) row.unshift(hex(t.loop));
      rows.push(row);
    }
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), '-'.repeat(widths.reduce((a, b) => a + b + 2, -2)), ...rows.map(line)].join('\n');
}

type NodeKey = string;

/** `pstree`: the tasks as trees, each awaiting task above what it awaits, its frames between. */
export function psTree(snap: ProcessSnapshot): string {
  const byId = new Map(snap.tasks.map((t) => [t.id, t]));
  // Edges parent → child, with the parent's frames (outermost first) between them.
  const edges: { parent: TaskInfo; child: TaskInfo }[] = [];
  for (const child of snap.tasks) {
    for (const p of child.awaitedBy) {
      const parent = byId.get(p);
      if (parent !== undefined) edges.push({ parent, child });
    }
  }
  const cycles = findCycles(snap.tasks, edges);
  if (cycles.length > 0) throw new CycleError(cycles.map((c) => c.map((id) => byId.get(id)?.name ?? hex(id))));

  const labels = new Map<NodeKey, string>();
  const children = new Map<NodeKey, NodeKey[]>();
  const frameNodes = new Map<NodeKey, Map<string, NodeKey>>();
  let nextFrame = 1;
  const taskKey = (t: TaskInfo) => `t${t.id}`;
  for (const t of snap.tasks) labels.set(taskKey(t), `(T) ${t.name}`);
  const addChild = (parent: NodeKey, child: NodeKey) => {
    const list = children.get(parent) ?? [];
    if (!list.includes(child)) list.push(child);
    children.set(parent, list);
  };
  const frameUnder = (parent: NodeKey, label: string): NodeKey => {
    let m = frameNodes.get(parent);
    if (m === undefined) frameNodes.set(parent, (m = new Map()));
    let key = m.get(label);
    if (key === undefined) {
      key = `c${nextFrame++}`;
      m.set(label, key);
      labels.set(key, ` ${label}`);
      addChild(parent, key);
    }
    return key;
  };
  const framesOutermostFirst = (t: TaskInfo) => [...t.callStack].reverse().map(frameLabel);
  for (const { parent, child } of edges) {
    let cur = taskKey(parent);
    for (const f of framesOutermostFirst(parent)) cur = frameUnder(cur, f);
    addChild(cur, taskKey(child));
  }
  // Tasks that wait on no task show their own frames.
  const awaiting = new Set(edges.map((e) => e.parent.id));
  for (const t of snap.tasks) {
    if (awaiting.has(t.id)) continue;
    let cur = taskKey(t);
    for (const f of framesOutermostFirst(t)) cur = frameUnder(cur, f);
  }
  const all = new Set([...children.values()].flat());
  const roots = snap.tasks.map(taskKey).filter((k) => !all.has(k));
  const out: string[] = [];
  const render = (node: NodeKey, prefix: string, last: boolean) => {
    out.push(`${prefix}${last ? '└── ' : '├── '}${labels.get(node)}`);
    const kids = children.get(node) ?? [];
    kids.forEach((k, i) => render(k, prefix + (last ? '    ' : '│   '), i === kids.length - 1));
  };
  for (const r of roots) render(r, '', true);
  return out.join('\n');
}

/** Cycles of the task-awaits-task graph, as lists of task ids (the first repeated at the end). */
function findCycles(tasks: readonly TaskInfo[], edges: { parent: TaskInfo; child: TaskInfo }[]): number[][] {
  const next = new Map<number, number[]>();
  for (const { parent, child } of edges) next.set(parent.id, [...(next.get(parent.id) ?? []), child.id]);
  const color = new Map<number, number>(); // 1 on the path, 2 done
  const path: number[] = [];
  const cycles: number[][] = [];
  const visit = (v: number) => {
    color.set(v, 1);
    path.push(v);
    for (const w of next.get(v) ?? []) {
      const c = color.get(w) ?? 0;
      if (c === 0) visit(w);
      else if (c === 1) cycles.push([...path.slice(path.indexOf(w)), w]);
    }
    color.set(v, 2);
    path.pop();
  };
  for (const t of tasks) if ((color.get(t.id) ?? 0) === 0) visit(t.id);
  return cycles;
}
