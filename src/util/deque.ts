/**
 * A growable ring buffer used as a FIFO/LIFO deque.
 *
 *     head                tail
 *      v                   v
 *   [ . . a b c d e . . . ]      capacity is a power of two, so `& mask` wraps an index
 *
 * `Array.prototype.shift` is O(n) once V8 leaves its fast path; the loop's ready queue and every
 * waiter queue push and pop millions of entries, so they use this instead (as asyncio uses
 * `collections.deque` and undici its fixed-queue).
 */
export class Deque<T> {
  #buf: (T | undefined)[];
  #mask: number;
  #head = 0;
  #tail = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity) cap *= 2;
    this.#buf = new Array(cap);
    this.#mask = cap - 1;
  }

  get length(): number {
    return (this.#tail - this.#head) & this.#mask;
  }

  push(value: T): void {
    this.#buf[this.#tail] = value;
    this.#tail = (this.#tail + 1) & this.#mask;
    if (this.#tail === this.#head) this.#grow();
  }

  unshift(value: T): void {
    this.#head = (this.#head - 1) & this.#mask;
    this.#buf[this.#head] = value;
    if (this.#tail === this.#head) this.#grow();
  }

  /** Removes and returns the first entry (undefined when empty). */
  shift(): T | undefined {
    if (this.#head === this.#tail) return undefined;
    const v = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & this.#mask;
    return v;
  }

  /** Removes and returns the last entry (undefined when empty). */
  pop(): T | undefined {
    if (this.#head === this.#tail) return undefined;
    this.#tail = (this.#tail - 1) & this.#mask;
    const v = this.#buf[this.#tail];
    this.#buf[this.#tail] = undefined;
    return v;
  }

  peekFirst(): T | undefined {
    return this.#head === this.#tail ? undefined : this.#buf[this.#head];
  }

  peekLast(): T | undefined {
    return this.#head === this.#tail ? undefined : this.#buf[(this.#tail - 1) & this.#mask];
  }

  /** Entry `i` from the front (0-based); undefined when out of range. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.length) return undefined;
    return this.#buf[(this.#head + i) & this.#mask];
  }

  /** Removes the first entry equal to `value`; O(n). Returns whether one was removed. */
  remove(value: T): boolean {
    const n = this.length;
    for (let i = 0; i < n; i++) {
      if (this.#buf[(this.#head + i) & this.#mask] === value) {
        for (let j = i; j < n - 1; j++) {
          this.#buf[(this.#head + j) & this.#mask] = this.#buf[(this.#head + j + 1) & this.#mask];
        }
        this.#tail = (this.#tail - 1) & this.#mask;
        this.#buf[this.#tail] = undefined;
        return true;
      }
    }
    return false;
  }

  clear(): void {
    this.#buf.fill(undefined);
    this.#head = this.#tail = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const n = this.length;
    for (let i = 0; i < n; i++) yield this.#buf[(this.#head + i) & this.#mask] as T;
  }

  #grow(): void {
    // Called when full (tail caught up with head): unroll into a buffer twice the size.
    const old = this.#buf;
    const cap = old.length;
    const buf = new Array<T | undefined>(cap * 2);
    for (let i = 0; i < cap; i++) buf[i] = old[(this.#head + i) & this.#mask];
    this.#buf = buf;
    this.#head = 0;
    this.#tail = cap;
    this.#mask = cap * 2 - 1;
  }
}
