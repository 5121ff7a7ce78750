/**
 * The failed-login throttle (contracts/login-throttle.ts) on its own, with a hand-driven clock:
 * failures make the next login of the same key wait longer, up to a cap; the wait fades; memory
 * stays bounded; other keys are untouched.
 */
import { describe, expect, it } from "vitest";
import { createLoginThrottle } from "./login-throttle.js";

function throttle(overrides: { maxKeys?: number } = {}) {
  let t = 1_000;
  const clock = {
    advance: (ms: number) => {
      t += ms;
    },
  };
  const th = createLoginThrottle({
    baseDelayMs: 100,
    maxDelayMs: 4_000,
    halfLifeMs: 60_000,
    maxKeys: overrides.maxKeys ?? 100,
    now: () => t,
  });
  return { th, clock };
}

describe("the login throttle", () => {
  it("lets a key with no failures in at once, then doubles the wait per failure up to the cap", () => {
    const { th } = throttle();
    expect(th.delayMs("10.0.0.1")).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 20; i++) {
      th.recordFailure("10.0.0.1");
      waits.push(th.delayMs("10.0.0.1"));
    }
    expect(waits.slice(0, 6)).toEqual([100, 200, 400, 800, 1600, 3200]);
    expect(waits.slice(6)).toEqual(Array(14).fill(4_000));
    expect(th.delayMs("10.0.0.2")).toBe(0);
  });

  it("never makes a login wait longer than the cap, however long the attack", () => {
    const { th, clock } = throttle();
    for (let i = 0; i < 10_000; i++) {
      th.recordFailure("sensor-a");
      if (i % 100 === 0) clock.advance(1_000);
      expect(th.delayMs("sensor-a")).toBeLessThanOrEqual(4_000);
    }
  });

  it("lets the wait fade once the failures stop, within minutes of the end of an attack", () => {
    const { th, clock } = throttle();
    for (let i = 0; i < 10_000; i++) th.recordFailure("sensor-a");
    expect(th.delayMs("sensor-a")).toBe(4_000);
    clock.advance(60_000);
    expect(th.delayMs("sensor-a")).toBeLessThan(4_000);
    clock.advance(5 * 60_000);
    expect(th.delayMs("sensor-a")).toBe(0);
  });

  it("remembers at most maxKeys keys, forgetting the one that failed least recently", () => {
    const { th } = throttle({ maxKeys: 10 });
    th.recordFailure("old");
    th.recordFailure("old");
    for (let i = 0; i < 10_000; i++) th.recordFailure(`made-up-${i}`);
    expect(th.size).toBe(10);
    expect(th.delayMs("old")).toBe(0);
    expect(th.delayMs("made-up-9999")).toBe(100);
  });
});
