/**
 * Per-sensor token buckets of the ingest: a sensor may send `perSecond` messages a second on
 * average and `burst` at once. In memory, per process: each instance (or Workers isolate) limits
 * what it receives; storage stays bounded across instances by the dead-letter quota, which the
 * database enforces (iot/ingest.ts).
 *
 * Time is the ingest's clock, read once per batch: a fixed clock in tests never refills a bucket,
 * and a clock that steps back refills nothing until it passes the last reading again, without
 * starving the sensor.
 */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface SensorRateLimiter {
  /** Takes up to `wanted` tokens of the sensor's bucket at `now` (ms); returns how many it got. */
  take(sensorId: string, wanted: number, now: number): number;
  /** Gives back tokens taken for work that did not happen (a batch that will be retried). */
  giveBack(sensorId: string, tokens: number): void;
  /** Buckets held (sensors seen within the time a bucket takes to refill). */
  readonly size: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export function createSensorRateLimiter({ perSecond, burst }: RateLimit): SensorRateLimiter {
  const buckets = new Map<string, Bucket>();
  /** A bucket left alone this long is full again: the same as no bucket. */
  const refillMs = (burst / perSecond) * 1000;
  let lastEviction = Number.NEGATIVE_INFINITY;

  /** Drops the buckets of sensors idle long enough to be full again, at most once per refill time. */
  function evictIdle(now: number) {
    if (now - lastEviction < refillMs) return;
    lastEviction = now;
    for (const [id, b] of buckets) if (now - b.at >= refillMs) buckets.delete(id);
  }

  return {
    take(sensorId, wanted, now) {
      evictIdle(now);
      let b = buckets.get(sensorId);
      if (!b) {
        b = { tokens: burst, at: now };
        buckets.set(sensorId, b);
      } else if (now > b.at) {
        b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
        b.at = now;
      }
      const granted = Math.max(0, Math.min(wanted, Math.floor(b.tokens)));
      b.tokens -= granted;
      return granted;
    },
    giveBack(sensorId, tokens) {
      const b = buckets.get(sensorId);
      if (b) b.tokens = Math.min(burst, b.tokens + tokens);
    },
    get size() {
      return buckets.size;
    },
  };
}
