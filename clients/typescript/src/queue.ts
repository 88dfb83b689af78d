/**
 * A single-consumer async queue: `push` never blocks, `next()` waits for an item, `end()`
 * finishes the iteration (with an error, `next()` rejects once the buffered items are read).
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  private readonly items: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private done = false;
  private error: unknown;
  private hasError = false;

  constructor(private readonly onReturn?: () => void) {}

  get size(): number {
    return this.items.length;
  }

  get ended(): boolean {
    return this.done;
  }

  push(item: T): void {
    if (this.done) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: item, done: false });
    } else {
      this.items.push(item);
    }
  }

  end(error?: unknown): void {
    if (this.done) return;
    this.done = true;
    if (error !== undefined) {
      this.error = error;
      this.hasError = true;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.settle(w);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift() as T, done: false });
    if (this.done) return new Promise((resolve, reject) => this.settle({ resolve, reject }));
    if (this.waiter) return Promise.reject(new Error("AsyncQueue has one consumer; next() called while waiting"));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<T>> {
    this.items.length = 0;
    this.end();
    this.onReturn?.();
    return Promise.resolve({ value: undefined, done: true });
  }

  private settle(w: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }): void {
    if (this.hasError) {
      const e = this.error;
      this.hasError = false;
      w.reject(e);
    } else {
      w.resolve({ value: undefined, done: true });
    }
  }
}
