import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ZodError } from "zod";
import { compareDates } from "../contracts/dates.js";
import { classifyDbError, describeDbError } from "../db/pg-errors.js";
import type { AppEnv } from "./context.js";

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
 * The one error type the API throws. `onError` turns it into RFC 9457 problem+json; `code`
 * is stable (clients switch on it), `title` is the human summary, `detail` the specifics.
 */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
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
  static conflict(code: string, detail: string, extra: Record<string, unknown> = {}) {
    return new ApiError(409, code, "Conflict", detail, extra);
  }
  /** 503 with `Retry-After`: a part the request needs is down; nothing was changed. */
  static unavailable(code: string, title: string, detail: string, retryAfterS = RETRY_AFTER_S) {
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
}

/**
 * Retry-After of a 503 (seconds): about the ingest writer's longest backoff, so a client retries
 * no more often than the platform itself does.
 */
export const RETRY_AFTER_S = 5;

export const PROBLEM_TYPE_BASE = "https://bot-platform.example/problems/";
const PROBLEM_JSON = "application/problem+json";

export function problemResponse(c: Context<AppEnv>, err: ApiError): Response {
  // Extension members first: one named like a member of RFC 9457 (a facility's `status`) must
  // not replace it.
  const body = {
    ...err.extra,
    type: `${PROBLEM_TYPE_BASE}${err.code}`,
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
  });
}

/** zod issues → field errors, prefixed with the part of the request they came from. */
export function fieldErrors(error: ZodError, target: string): FieldError[] {
  return error.issues.flatMap((issue) => {
    const keys = issue.code === "unrecognized_keys" ? issue.keys : [undefined];
    return keys.map((key) => ({
      field: [target, ...issue.path.map(String), ...(key ? [key] : [])].join("."),
      message: issue.code === "unrecognized_keys" ? "is not a known field" : issue.message,
    }));
  });
}

/**
 * The app's `onError`: ApiError as given, Hono's own exceptions mapped, a passing database outage
 * a 503 (db/pg-errors.ts: it says nothing about the request, which may be sent again as it is),
 * anything else a 500.
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
  if (err instanceof HTTPException) {
    const status = err.status;
    if (status === 413) {
      return problemResponse(
        c,
        new ApiError(413, "payload_too_large", "Payload too large", "The body is over the 1 MiB limit."),
      );
    }
    if (status === 415) {
      return problemResponse(
        c,
        new ApiError(
          415,
          "unsupported_media_type",
          "Unsupported media type",
          "Send the body as Content-Type: application/json.",
        ),
      );
    }
    if (status === 400) {
      return problemResponse(c, new ApiError(400, "bad_request", "Bad request", err.message));
    }
    return problemResponse(c, new ApiError(status, `http_${status}`, err.message || "Error"));
  }
  c.get("logger")?.error({ err, requestId: c.get("requestId") }, "unhandled error");
  return problemResponse(
    c,
    new ApiError(
      500,
      "internal_error",
      "Internal server error",
      "Something went wrong; quote the request id.",
    ),
  );
}
