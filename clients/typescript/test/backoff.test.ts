import { describe, expect, it } from "vitest";
import { Backoff } from "../src/backoff.js";

describe("backoff", () => {
  it("caps grow exponentially up to maxMs", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, random: () => 0.999999 });
    const delays = Array.from({ length: 7 }, () => b.next());
    expect(delays).toEqual([99, 199, 399, 799, 999, 999, 999]);
  });

  it("full jitter: every delay lies in [0, cap) and follows the random source", () => {
    const values = [0, 0.25, 0.5, 0.75];
    let i = 0;
    const b = new Backoff({ initialMs: 1000, maxMs: 1000, random: () => values[i++ % values.length]! });
    expect([b.next(), b.next(), b.next(), b.next()]).toEqual([0, 250, 500, 750]);
    const r = new Backoff({ initialMs: 500, maxMs: 30_000 });
    for (let n = 0; n < 200; n++) {
      const cap = r.cap();
      const d = r.next();
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(cap);
      expect(d).toBeLessThanOrEqual(30_000);
    }
  });

  it("reset after a success starts from the first cap again", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10_000, random: () => 0.5 });
    b.next();
    b.next();
    b.next();
    expect(b.attempt).toBe(3);
    expect(b.cap()).toBe(800);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(50);
  });

  it("refuses nonsense settings", () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 100, maxMs: 50 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
  });
});
