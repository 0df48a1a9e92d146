/** The monitor's own tasks (its connections, its start and close): never listed nor counted. */
const hidden = new WeakSet<object>();

/** Leaves `task` out of every listing and count. */
export function hideTask(task: object): void {
  hidden.add(task);
}

/** Whether `task` is one of the monitor's own. */
export function isHidden(task: object): boolean {
  return hidden.has(task);
}
