/**
 * Slows repeated failed logins of one key (a remote address, a user name) without locking its
 * owner out. Each failure adds one to the key's score, which halves every `halfLifeMs`; a login
 * of a key with a score of one or more waits `baseDelayMs · 2^(score − 1)`, at most `maxDelayMs`,
 * before it is checked, right or wrong. So a guesser gets at most one answer per `maxDelayMs` per
 * connection, while the real owner is only ever delayed, by `maxDelayMs` at most, never refused.
 *
 * The wait comes before the check, for every login: waiting only before a refusal would tell the
 * guesser at once which guess was right. Pure (no timers, no I/O): the caller waits. Memory is
 * bounded by `maxKeys`; beyond it the key that failed least recently is forgotten. Keep one
 * throttle per kind of key, so that a flood of made-up user names can not push addresses out.
 */
export interface LoginThrottleOptions {
  /** The wait after one recent failure; each further one doubles it. */
  baseDelayMs: number;
  /** The longest any login waits, however many failures. */
  maxDelayMs: number;
  /** A failure counts half as much after this long: the wait fades once failures stop. */
  halfLifeMs: number;
  /** Keys remembered at most. */
  maxKeys: number;
  /** Monotonic milliseconds (default `performance.now`). */
  now?: () => number;
}

export const DEFAULT_LOGIN_THROTTLE: Readonly<Omit<LoginThrottleOptions, "now">> = {
  baseDelayMs: 100,
  maxDelayMs: 4_000,
  halfLifeMs: 60_000,
  maxKeys: 10_000,
};

export interface LoginThrottle {
  /** How long a login of `key` waits before it is checked (0: not at all). */
  delayMs(key: string): number;
  /** A login of `key` was refused. */
  recordFailure(key: string): void;
  /** Keys remembered now. */
  readonly size: number;
}

export function createLoginThrottle(opts: LoginThrottleOptions): LoginThrottle {
  const { baseDelayMs, maxDelayMs, halfLifeMs, maxKeys, now = () => performance.now() } = opts;
  // Map order is insertion order; a failure re-inserts its key, so the first is the stalest.
  const scores = new Map<string, { score: number; at: number }>();
  // Past the score where the wait reaches its cap, more failures would only lengthen the time the
  // wait takes to fade after an attack ends.
  const maxScore = 2 + Math.log2(maxDelayMs / baseDelayMs);

  const scoreOf = (key: string, t: number) => {
    const entry = scores.get(key);
    if (!entry) return 0;
    const score = entry.score * 0.5 ** (Math.max(0, t - entry.at) / halfLifeMs);
    if (score < 1 / 1024) scores.delete(key);
    return score;
  };

  return {
    delayMs(key) {
      const score = scoreOf(key, now());
      return score < 1 ? 0 : Math.min(maxDelayMs, Math.round(baseDelayMs * 2 ** (score - 1)));
    },
    recordFailure(key) {
      const t = now();
      const score = Math.min(maxScore, scoreOf(key, t) + 1);
      scores.delete(key);
      if (scores.size >= maxKeys) {
        const stalest = scores.keys().next();
        if (!stalest.done) scores.delete(stalest.value);
      }
      scores.set(key, { score, at: t });
    },
    get size() {
      return scores.size;
    },
  };
}

/**
 * The HTTP API's refused keys, by remote address and by the name a key was offered for (a sensor
 * id); one throttle each, as on the broker.
 */
export interface FailedLogins {
  byAddress: LoginThrottle;
  byUser: LoginThrottle;
}

export function createFailedLogins(opts: Partial<LoginThrottleOptions> = {}): FailedLogins {
  const options = { ...DEFAULT_LOGIN_THROTTLE, ...opts };
  return { byAddress: createLoginThrottle(options), byUser: createLoginThrottle(options) };
}
