/**
 * The rules of delivering notifications: retry schedule, when a delivery gives up, when an
 * endpoint is disabled, the escalation chain's defaults, which URLs an endpoint may have. Pure;
 * src/services/notifications/ applies them.
 */

/** A notification is retried for this long after it was queued (or replayed), then failed. */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** The first retry's delay; each next one doubles, up to RETRY_MAX_DELAY_MS. */
export const RETRY_BASE_DELAY_MS = 10_000;
export const RETRY_MAX_DELAY_MS = 60 * 60 * 1000;

/**
 * The delay before attempt `attempt + 1` after `attempt` failed: exponential from 10 s, capped at
 * an hour, with "equal jitter" (between half and all of it), so that the retries of many
 * notifications that failed together (a receiver's outage) do not all come back at once.
 * `random` is in [0, 1).
 */
export function retryDelayMs(attempt: number, random: number): number {
  const exponential = Math.min(
    RETRY_MAX_DELAY_MS,
    RETRY_BASE_DELAY_MS * 2 ** Math.max(0, Math.min(attempt - 1, 30)),
  );
  return Math.round(exponential / 2 + (exponential / 2) * random);
}

/**
 * An endpoint is disabled when this many of its notifications in a row ended failed (each after
 * a day of retries with no success; a delivery resets the count): the receiver is gone, and
 * hammering it helps nobody. Its pending notifications fail with it; a PATCH re-enables it.
 */
export const DISABLE_AFTER_FAILED_NOTIFICATIONS = 3;

/** Organization kinds that may keep notification endpoints (the platform admin has no organization). */
export type EndpointOwnerKind = "street_office" | "enterprise" | "owners_committee" | "property_company";

/**
 * The escalation chain of an unacknowledged halt: the property company is told first, the owners
 * committee next, the street office last. A rule of type `halt_unacknowledged` without
 * `afterMinutes` takes its organization kind's step; any rule may name its own.
 */
export const DEFAULT_ESCALATION_MINUTES: Record<EndpointOwnerKind, number> = {
  property_company: 5,
  owners_committee: 15,
  street_office: 30,
  // The operator is not in the chain; told with the property company when it subscribes.
  enterprise: 5,
};

/**
 * Whether an endpoint URL is acceptable: https, or http to a loopback address only (a receiver on
 * the same machine, as the tests run one). A message carries names and places, and a WeCom or
 * DingTalk URL its access token: neither goes over the network in clear.
 */
export function endpointUrlRefusal(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "must be an absolute URL";
  }
  if (parsed.username || parsed.password) return "must not contain a user name or password";
  if (parsed.protocol === "https:") return null;
  if (parsed.protocol === "http:" && isLoopback(parsed.hostname)) return null;
  return "must be an https URL (http only to a loopback address: 127.0.0.1, ::1, localhost)";
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * A URL as reads show it: scheme, host and path, the query's values and long path segments hidden (a WeCom robot's
 * `key=…`, a DingTalk robot's `access_token=…` are what lets anyone post to the group).
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    const query = [...u.searchParams.keys()].map((k) => `${k}=***`).join("&");
    // A long path segment may be a token too (`/hooks/T0AB…/9f3c…`).
    const path = u.pathname
      .split("/")
      .map((seg) => (seg.length >= 16 ? "***" : seg))
      .join("/");
    return `${u.protocol}//${u.host}${path}${query ? `?${query}` : ""}`;
  } catch {
    return "***";
  }
}
