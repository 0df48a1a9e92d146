/**
 * A binary min-heap over an array, ordered by a caller-given `less` (libuv `heap-inl.h` and
 * Python's `heapq` are the models). The loop uses it for timers keyed by (when, sequence), so
 * ties keep scheduling order, which a plain heap on `when` would not.
 *
 *          0
 *        1   2          children of i are 2i+1 and 2i+2; parent is (i-1)>>1
 *       3 4 5 6
 */
export class Heap<T> {
  readonly items: T[] = [];
  readonly #less: (a: T, b: T) => boolean;

  constructor(less: (a: T, b: T) => boolean) {
    this.#less = less;
  }

  get length(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(value: T): void {
    const a = this.items;
    let i = a.length;
    a.push(value);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(value, a[p]!)) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = value;
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) this.#siftDown(0, last);
    return top;
  }

  /** Keeps only the items for which `keep` returns true, then restores the heap order: O(n). */
  filter(keep: (v: T) => boolean): void {
    const a = this.items;
    let j = 0;
    for (let i = 0; i < a.length; i++) if (keep(a[i]!)) a[j++] = a[i]!;
    a.length = j;
    for (let i = (j >> 1) - 1; i >= 0; i--) this.#siftDown(i, a[i]!);
  }

  #siftDown(i: number, value: T): void {
    const a = this.items;
    const n = a.length;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.#less(a[c + 1]!, a[c]!)) c++;
      if (!this.#less(a[c]!, value)) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = value;
  }
}
