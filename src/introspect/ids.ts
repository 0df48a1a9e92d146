/**
 * Stable small ids for tasks and futures, as asyncio's output uses `id()`: given the first time
 * an object is shown (a WeakMap, so nothing is spent on objects nobody looks at), then kept for
 * its life, so a task keeps its id from one monitor request to the next.
 */
const ids = new WeakMap<object, number>();
const byId = new Map<number, WeakRef<object>>();
let next = 1;

/** The id of `obj`, given now if it had none. */
export function idOf(obj: object): number {
  let id = ids.get(obj);
  if (id === undefined) {
    id = next++;
    ids.set(obj, id);
    byId.set(id, new WeakRef(obj));
    if (byId.size > 2 * liveMark) sweep();
  }
  return id;
}

/** The object that was given `id`, if it is still alive. */
export function objectOf(id: number): object | undefined {
  return byId.get(id)?.deref();
}

/** Size of the reverse table after its last sweep: it is swept when it doubles. */
let liveMark = 1024;

function sweep(): void {
  for (const [id, ref] of byId) if (ref.deref() === undefined) byId.delete(id);
  liveMark = Math.max(1024, byId.size);
}
