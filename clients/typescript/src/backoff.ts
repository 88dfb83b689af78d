/**
 * Exponential backoff with full jitter: attempt n waits a uniformly random time in
 * [0, min(maxMs, initialMs * factor^n)). `reset()` after a success starts over.
 */

export interface BackoffOptions {
  /** The cap of the first attempt's delay. Default 500 ms. */
  readonly initialMs?: number;
  /** The largest cap. Default 30 s. */
  readonly maxMs?: number;
  /** Growth of the cap per attempt. Default 2. */
  readonly factor?: number;
  /** A source of uniform numbers in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly random: () => number;
  private attempts = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.factor = options.factor ?? 2;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError("backoff needs 0 < initialMs <= maxMs and factor >= 1");
    }
  }

  /** How many delays were handed out since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The current attempt's cap, before jitter. */
  cap(): number {
    return Math.min(this.maxMs, this.initialMs * Math.pow(this.factor, this.attempts));
  }

  /** The next delay in milliseconds; each call grows the cap. */
  next(): number {
    const cap = this.cap();
    this.attempts++;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.min(Math.floor(r * cap), cap);
  }

  /** Call after a success: the next delay is small again. */
  reset(): void {
    this.attempts = 0;
  }
}
