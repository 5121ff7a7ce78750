import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { compareDates } from "../contracts/dates.js";
import {
  classifyDbError,
  dbErrorNames,
  describeDataError,
  describeDbError,
  sqlState,
} from "../db/pg-errors.js";
import type { AppEnv } from "./context.js";
import { loggableError } from "./logger.js";

/** 400 naming `field` when a business date lies after today (both Asia/Shanghai calendar dates). */
export function notInFuture(field: string, date: string, today: string): void {
  if (compareDates(date, today) > 0) throw ApiError.validation([{ field, message: "is in the future" }]);
}

/** One failing input field: where (`body.feeSchedule.0.price`, `query.within`) and why. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * Every `code` the API answers with, and what it means. Clients switch on these: the OpenAPI
 * document declares them as the enum of the problem's `code` (src/openapi.ts), and `ApiError`
 * takes no other, so a code used without a line here fails the type-check.
 * A new code is one line in its status's group: `code: "what it means",`.
 */
export const ERROR_CODES = {
  // 400
  validation_failed: "one or more fields are invalid; `errors` lists each field and why",
  bad_request: "the request could not be read (e.g. malformed JSON)",
  invalid_value:
    "the database refused a value the request sent (out of its range or not storable); nothing was changed",
  // 401, 403, 404
  unauthorized: "no API key, or an unknown or revoked one",
  forbidden: "the caller's organization or role may not do this",
  not_found: "the resource does not exist, or is outside the caller's scope",
  route_not_found: "no route for this method and path",
  method_not_allowed: "the path exists, but not for this method",
  financial_assumptions_missing:
    "the enterprise has not set the contract's financial assumptions yet (PUT /v1/contracts/{id}/financial-assumptions); the model needs them",
  // 409: the resource's state does not allow the request
  illegal_transition: "the contract's state does not allow this command; see currentState and allowedActions",
  version_frozen: "only a draft version can be edited; this one is submitted or later",
  vote_required: "the owners' vote on the version must be recorded before approval",
  vote_failed: "the owners' latest vote on the version did not pass art. 278",
  already_signed: "the caller's organization already signed this version",
  amendment_open: "an amendment is still open; finish it first",
  milestone_confirmed: "the milestone was already confirmed",
  milestone_out_of_order: "an earlier milestone must be confirmed first",
  transfer_not_due: "the transfer date has not come yet",
  handback_incomplete: "handback conditions are not all checked off; see open",
  contract_not_operating: "the request needs an operating contract",
  billing_period_refused: "the billing period lies outside the contract's operation",
  subscription_exists: "the subscriber already holds a running subscription on the contract",
  subscription_not_running: "the subscription is no longer running",
  no_signed_terms: "the contract has no signed fee schedule",
  switch_refused: "the subscription cannot switch to yearly now",
  payment_reference_used: "the payment's external reference was already used",
  refund_reference_used: "the refund's external reference was already used",
  refund_exceeds_remaining: "the refund is more than the credit note's remaining amount",
  facility_state: "the facility's state does not allow this",
  facility_under_contract: "the facility is part of a contract that is still open",
  district_exists: "a district with this name is already registered",
  street_exists: "the district already has a street with this name",
  community_exists: "the street already has a community with this name",
  building_exists: "the community already has a building with this name",
  organization_exists: "an organization of this kind and name is already registered in the street",
  report_state: "the report's state does not allow this",
  report_exists: "a report for the period (or one overlapping it) exists",
  guidance_exceeded: "the payment would bring the guidance funds paid over the amount committed",
  sensor_revoked: "the sensor is revoked",
  not_classifiable: "only e-bike incidents are acknowledged and classified",
  already_acknowledged: "the incident was already acknowledged",
  no_open_halt: "a release needs an open e-bike halt in the sensor's elevator; there is none",
  command_id_reused: "this commandId was used for a different command (another body or another sensor)",
  not_a_webhook: "only a webhook endpoint has a signing secret the platform generates",
  endpoint_disabled: "the notification endpoint is disabled; re-enable it first",
  delivery_pending: "the delivery is still being tried; it can be replayed once it is delivered or failed",
  snapshot_exists: "a different snapshot is already stored for the event (evidence is not overwritten)",
  snapshot_not_ebike: "the event is not an ebike_detected event; only those carry a snapshot",
  command_closed: "the device command was already answered otherwise, or expired: its first outcome stays",
  // 412, 413, 415, 428
  stale_revision: "If-Match does not match the current revision: someone else changed it",
  payload_too_large: "the body is over the route's limit (1 MiB; a snapshot 512 KiB)",
  unsupported_media_type: "the body's Content-Type is not one the route accepts",
  not_acceptable: "the Accept header allows none of the media types the route answers (a list: JSON or CSV)",
  if_match_required: "the request must send If-Match with the ETag from GET",
  // 422
  idempotency_key_reused:
    "this Idempotency-Key was sent before with another body or to another path (within 24 h; a billing run's key for another period at any time); nothing was done",
  blocking_off_window:
    "blocking may be switched off only until a time in the future, at most DEVICE_BLOCKING_OFF_MAX_H hours ahead",
  not_a_jpeg: "the body's bytes are not a JPEG image (it must start with FF D8 FF and end with FF D9)",
  // 429
  rate_limited:
    "the key (or, on a route without one, the client's address) sent more requests than its rate limit allows; send the next after Retry-After",
  too_many_streams:
    "the key (or the server) holds as many live feed streams as it may; close one or retry after Retry-After",
  // 5xx
  internal_error: "an unexpected error; quote the request id",
  needs_node_process: "on Workers, this change must be sent to the Node API (it must tell Mosquitto)",
  database_unavailable: "the database is not answering for a moment; retry after Retry-After",
  broker_unavailable: "the MQTT broker could not be told of the change; retry after Retry-After",
  storage_unavailable: "the snapshot bucket is not answering for a moment; retry after Retry-After",
} as const satisfies Record<string, string>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error type the API throws. `onError` turns it into RFC 9457 problem+json; `code`
 * is stable (clients switch on it), `title` is the human summary, `detail` the specifics.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }

  static validation(errors: FieldError[], detail = "The request has invalid fields.") {
    return new ApiError(400, "validation_failed", "Validation failed", detail, { errors });
  }
  static unauthorized(detail = "Send a valid API key as `Authorization: Bearer <key>`.") {
    return new ApiError(401, "unauthorized", "Unauthorized", detail);
  }
  static forbidden(detail: string) {
    return new ApiError(403, "forbidden", "Forbidden", detail);
  }
  static notFound(what: string) {
    return new ApiError(404, "not_found", "Not found", `${what} was not found.`);
  }
  static conflict(code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
    return new ApiError(409, code, "Conflict", detail, extra);
  }
  /** 503 with `Retry-After`: a part the request needs is down; nothing was changed. */
  static unavailable(code: ErrorCode, title: string, detail: string, retryAfterS = RETRY_AFTER_S) {
    return Object.assign(new ApiError(503, code, title, detail), { retryAfterS });
  }
  static databaseUnavailable() {
    return ApiError.unavailable(
      "database_unavailable",
      "Database unavailable",
      `The database is not answering right now; send the request again in ${RETRY_AFTER_S} s.`,
    );
  }
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfterS?: number;
  /** Headers the answer must carry besides (a 405's `Allow`, a 413's `Connection: close`). */
  headers?: Record<string, string>;
}

/**
 * Retry-After of a 503 (seconds): about the ingest writer's longest backoff, so a client retries
 * no more often than the platform itself does.
 */
export const RETRY_AFTER_S = 5;

/**
 * The challenge of a 401 (RFC 6750): the API takes bearer keys; a key that was sent and refused is
 * `invalid_token`, a missing one gets the bare challenge.
 */
function bearerChallenge(c: Context<AppEnv>): string {
  const sent = (c.req.header("authorization") ?? "").trim() !== "";
  return sent ? 'Bearer realm="bot-platform", error="invalid_token"' : 'Bearer realm="bot-platform"';
}

/**
 * A problem's `type`: the path of the page that explains its code, served by the API itself
 * (GET /problems/{code}). A relative reference, which RFC 9457 §3.1.1 allows: a client resolves it
 * against the request's URL, so it points at whichever host answered, with no host to configure.
 */
export const PROBLEM_TYPE_BASE = "/problems/";
export const problemType = (code: ErrorCode) => `${PROBLEM_TYPE_BASE}${code}`;
const PROBLEM_JSON = "application/problem+json";

export function problemResponse(c: Context<AppEnv>, err: ApiError): Response {
  // Extension members first: one named like a member of RFC 9457 (a facility's `status`) must
  // not replace it.
  const body = {
    ...err.extra,
    type: problemType(err.code),
    title: err.title,
    status: err.status,
    ...(err.detail ? { detail: err.detail } : {}),
    code: err.code,
    instance: c.req.path,
    requestId: c.get("requestId"),
  };
  return c.newResponse(JSON.stringify(body), err.status, {
    "Content-Type": PROBLEM_JSON,
    ...(err.retryAfterS !== undefined ? { "Retry-After": String(err.retryAfterS) } : {}),
    ...(err.status === 401 ? { "WWW-Authenticate": bearerChallenge(c) } : {}),
    ...(err.headers ?? {}),
  });
}

/** zod issues → field errors, prefixed with the part of the request they came from. */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  const errors = error.issues.flatMap((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: [target, ...issue.path.map(String), ...(key ? [key] : [])].join("."),
      message: issue.code === "unrecognized_keys" ? "is not a known field" : issue.message,
    }));
  });
  // Two checks broken by one value (a whole number past both the int4 and the safe range) read as
  // one sentence: said once.
  const seen = new Set<string>();
  return errors.filter(({ field, message }) => {
    const line = `${field}\n${message}`;
    if (seen.has(line)) return false;
    seen.add(line);
    return true;
  });
}

/** Hono's own exceptions by status; `detail` where Hono's message would not help a client. */
const HTTP_EXCEPTIONS: Partial<Record<number, { code: ErrorCode; title: string; detail?: string }>> = {
  400: { code: "bad_request", title: "Bad request" },
  401: { code: "unauthorized", title: "Unauthorized" },
  403: { code: "forbidden", title: "Forbidden" },
  404: { code: "not_found", title: "Not found" },
  405: { code: "method_not_allowed", title: "Method not allowed" },
  413: { code: "payload_too_large", title: "Payload too large", detail: "The body is over the 1 MiB limit." },
  415: {
    code: "unsupported_media_type",
    title: "Unsupported media type",
    detail: "Send the body as Content-Type: application/json.",
  },
};

/**
 * A Hono exception below 500 (a body that is not JSON, a Content-Type the route does not take, …)
 * as an ApiError with a declared code and its status kept; a status without a code of its own is
 * `bad_request`.
 */
function fromHttpException(err: HTTPException): ApiError {
  const known = HTTP_EXCEPTIONS[err.status] ?? { code: "bad_request", title: "Bad request" };
  return new ApiError(err.status, known.code, known.title, known.detail ?? (err.message || undefined));
}

/** A data error of the database (SQLSTATE class 22) as a 400, naming the column when it is known. */
function invalidValue(err: unknown): ApiError {
  const what = describeDataError(err);
  const { column } = dbErrorNames(err);
  return new ApiError(
    400,
    "invalid_value",
    "Invalid value",
    `The database refused a value of the request: ${what}. Nothing was changed.`,
    column ? { errors: [{ field: camelCase(column), message: `is refused: ${what}` }] } : {},
  );
}

const camelCase = (column: string) => column.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * The app's `onError`: ApiError as given, Hono's own exceptions below 500 mapped, a passing
 * database outage a 503 (db/pg-errors.ts: it says nothing about the request, which may be sent
 * again as it is), a value the database refused (SQLSTATE class 22: the data's fault, never a
 * bug's) a 400 `invalid_value`, anything else (a Hono 5xx too: its status kept) logged without
 * the request's values and answered `internal_error` without its message.
 */
export function handleError(err: Error, c: Context<AppEnv>): Response {
  if (err instanceof ApiError) return problemResponse(c, err);
  if (classifyDbError(err) === "transient") {
    // A warning without the stack: every request meets it while the outage lasts.
    c.get("logger")?.warn(
      { dbError: describeDbError(err), requestId: c.get("requestId") },
      "database unavailable; answered 503",
    );
    return problemResponse(c, ApiError.databaseUnavailable());
  }
  if (sqlState(err)?.startsWith("22")) {
    // The last line behind the schemas: a value they let through that the database cannot take
    // is the request's fault, said without the value; logged, as a schema to tighten.
    c.get("logger")?.warn(
      { dbError: describeDbError(err), route: c.req.routePath, requestId: c.get("requestId") },
      "the database refused a value; answered 400",
    );
    return problemResponse(c, invalidValue(err));
  }
  if (err instanceof HTTPException && err.status < 500) return problemResponse(c, fromHttpException(err));
  c.get("logger")?.error(
    // Not under `err`: pino would serialise the record again as an Error and lose its type.
    { error: loggableError(err), route: c.req.routePath, requestId: c.get("requestId") },
    "unhandled error",
  );
  return problemResponse(
    c,
    new ApiError(
      err instanceof HTTPException ? err.status : 500,
      "internal_error",
      "Internal server error",
      "Something went wrong; quote the request id.",
    ),
  );
}
