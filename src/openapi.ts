import {
  createRoute as createOpenApiRoute,
  OpenAPIHono,
  type RouteConfig,
  type RouteHandler,
  z,
} from "@hono/zod-openapi";
import { plainMessage, textRefusal, whenGiven } from "../contracts/validation-messages.js";
import type { AppEnv } from "./context.js";
import { ApiError, ERROR_CODES, type ErrorCode, fieldErrors, problemType } from "./errors.js";
import OPENAPI_EXAMPLES from "./openapi-examples.json" with { type: "json" };

// Every validation message not given by a schema is the API's own sentence (see
// contracts/validation-messages.ts for why a schema's own message still wins). Global to zod: set
// here, where the routes' schemas and the hook that reports their failures live.
z.config({ customError: plainMessage });

/** How failing fields are named: `body.name`, `path.id`, `query.within`, `header.if-match`. */
const TARGETS: Record<string, string> = {
  json: "body",
  form: "body",
  param: "path",
  query: "query",
  header: "header",
};

/** A router of one resource. Validation failures of every route go through one hook. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw ApiError.validation(fieldErrors(result.error, TARGETS[result.target] ?? result.target));
    },
  });
}

export type AppRouteHandler<R extends RouteConfig> = RouteHandler<R, AppEnv>;

const NoQuery = z.strictObject({});

/** Examples recorded from the API itself (test/authz/record-examples.ts), by operationId. */
const EXAMPLES = OPENAPI_EXAMPLES as Record<
  string,
  { request?: unknown; responses: Record<string, unknown> }
>;

type MediaTypes = Record<string, { schema?: unknown; example?: unknown }>;

/** `content` with `example` on its JSON media type, when there is one to give. */
function withExample<T extends { content?: MediaTypes }>(part: T, example: unknown): T {
  const json = part.content?.["application/json"];
  if (example === undefined || !json || json.example !== undefined) return part;
  return { ...part, content: { ...part.content, "application/json": { ...json, example } } };
}

/**
 * Every route of the API is made here. Its query is strict, so an unknown query parameter (a typo
 * like `?stat=draft`) is a 400 naming it, as an unknown body field is, never silently ignored; a
 * route without a query takes none. Its request body and success answers carry the examples
 * recorded for its operationId.
 */
export const createRoute: typeof createOpenApiRoute = (config) => {
  const query = config.request?.query;
  const strictQuery = query === undefined ? NoQuery : query instanceof z.ZodObject ? query.strict() : query;
  const examples = config.operationId ? EXAMPLES[config.operationId] : undefined;
  const body = config.request?.body;
  const responses = Object.fromEntries(
    Object.entries(config.responses).map(([status, response]) => [
      status,
      "content" in response
        ? withExample(response as { content?: MediaTypes }, examples?.responses[status])
        : response,
    ]),
  ) as typeof config.responses;
  const request = {
    ...config.request,
    query: strictQuery,
    ...(body
      ? { body: withExample(body as { content?: MediaTypes }, examples?.request) as typeof body }
      : {}),
  };
  if (!takesIdempotencyKey(config)) {
    return createOpenApiRoute({ ...config, request, responses: withStandardHeaders(config, responses) });
  }
  return createOpenApiRoute({
    ...config,
    request: { ...request, headers: withIdempotencyKey(config.request?.headers) },
    responses: withStandardHeaders(config, idempotentResponses(responses)),
  });
};

type ResponseHeaders = Record<string, unknown>;

/** A response's `headers` as header objects (a zod object's fields become schemas of their own). */
function plainHeaders(headers: unknown): ResponseHeaders {
  if (headers === undefined) return {};
  if (headers instanceof z.ZodObject) {
    return Object.fromEntries(
      Object.entries(headers.shape as Record<string, z.ZodType>).map(([name, schema]) => [name, { schema }]),
    );
  }
  return headers as ResponseHeaders;
}

/**
 * Every answer's documented fields: X-Request-Id on all; on a route with a key, the rate limit's;
 * ETag and Cache-Control on a JSON read, with its 304; Location on a 201; the challenge on a 401;
 * Connection: close on a 413 (test/authz/responses.test.ts checks real answers against them).
 */
function withStandardHeaders(
  config: RouteConfig,
  responses: RouteConfig["responses"],
): RouteConfig["responses"] {
  const limited = (config.security ?? []).length > 0;
  const out: RouteConfig["responses"] = {};
  for (const [status, response] of Object.entries(responses)) {
    if ("$ref" in response) {
      out[status] = response;
      continue;
    }
    const extra: ResponseHeaders = { "X-Request-Id": headerRef("X-Request-Id") };
    if (limited) Object.assign(extra, rateLimitHeaders);
    const json = response.content?.["application/json"] !== undefined;
    if (config.method === "get" && status === "200" && json) {
      Object.assign(extra, { ETag: headerRef("ETag"), "Cache-Control": headerRef("Cache-Control") });
    }
    if (status === "201") extra.Location = headerRef("Location");
    if (status === "401") extra["WWW-Authenticate"] = headerRef("WWW-Authenticate");
    if (status === "413") extra.Connection = headerRef("Connection");
    out[status] = {
      ...response,
      headers: { ...plainHeaders(response.headers), ...extra },
    } as typeof response;
  }
  const ok = responses[200];
  if (config.method === "get" && ok && !("$ref" in ok) && ok.content?.["application/json"] !== undefined) {
    out[304] = {
      description: "Not modified: If-None-Match named the current ETag; the answer has no body",
      headers: {
        ETag: headerRef("ETag"),
        "Cache-Control": headerRef("Cache-Control"),
        "X-Request-Id": headerRef("X-Request-Id"),
        ...(limited ? rateLimitHeaders : {}),
      },
    };
  }
  return out;
}

/** An Idempotency-Key: 1 to 255 visible ASCII characters (a UUID, a ULID, an order number). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_KEY_MESSAGE = "must be 1 to 255 visible ASCII characters (no spaces)";
/** The response header of a replayed answer (as device commands replayed by their commandId). */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/**
 * The `Idempotency-Key` request header (src/idempotency.ts checks it before the route runs). A
 * route that reads it itself declares this same schema.
 */
export const IdempotencyKeyHeader = z
  .string()
  .regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_MESSAGE)
  .optional()
  .openapi({
    description:
      'Makes the POST safe to retry: the same key with the same body within 24 h replays the first successful answer (with `Idempotent-Replayed: true`) instead of acting again; with another body, 422 `idempotency_key_reused`. 1 to 255 visible ASCII characters, e.g. a UUID. See docs/api.md, "Idempotent creates".',
    example: "4f0c8b8e-2b7d-4c1e-9a57-0c3f1f4d2a61",
  });

/**
 * Every POST of the organization-authenticated API takes an Idempotency-Key; sensors' routes (their
 * own key) are exactly-once by their eventId and commandId instead.
 */
function takesIdempotencyKey(config: RouteConfig): boolean {
  return config.method === "post" && !config.security?.some((scheme) => "SensorKey" in scheme);
}

/** The route's request headers with Idempotency-Key merged in (left open: other headers pass). */
function withIdempotencyKey(headers: NonNullable<RouteConfig["request"]>["headers"]) {
  if (headers === undefined) return z.object({ "idempotency-key": IdempotencyKeyHeader });
  if (headers instanceof z.ZodObject) return headers.extend({ "idempotency-key": IdempotencyKeyHeader });
  throw new Error("createRoute: request headers must be a zod object to take Idempotency-Key");
}

/** Each 2xx answer may be a replay (its header documented); the 422 of a reused key. */
function idempotentResponses(responses: RouteConfig["responses"]): RouteConfig["responses"] {
  const out: RouteConfig["responses"] = {};
  for (const [status, response] of Object.entries(responses)) {
    if (!/^2\d\d$/.test(status) || "$ref" in response) {
      out[status] = response;
      continue;
    }
    out[status] = {
      ...response,
      headers: { ...plainHeaders(response.headers), [REPLAYED_HEADER]: headerRef(REPLAYED_HEADER) },
    };
  }
  const reused =
    "Code `idempotency_key_reused`: the Idempotency-Key was sent before (within 24 h) with another body or to another path; nothing was done";
  const earlier = out[422];
  out[422] =
    earlier && !("$ref" in earlier)
      ? { ...earlier, description: `${earlier.description}; or ${reused}` }
      : problem(reused);
  return out;
}

export const ProblemSchema = z
  .object({
    type: z.string().openapi({
      format: "uri-reference",
      description:
        "The page explaining `code` (GET /problems/{code}): a reference relative to the request's URL",
      example: problemType("validation_failed"),
    }),
    title: z.string().openapi({ example: "Validation failed" }),
    status: z.number().int().openapi({ example: 400 }),
    detail: z.string().optional(),
    code: z.enum(Object.keys(ERROR_CODES) as ErrorCode[]).openapi({
      example: "validation_failed",
      description: `Stable: clients switch on it.\n\n${Object.entries(ERROR_CODES)
        .map(([code, meaning]) => `- \`${code}\`: ${meaning}`)
        .join("\n")}`,
    }),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .openapi("Problem");

export const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** A 503 with its Retry-After header: `why` says which part is down. */
export const unavailable = (why: string) => ({
  ...problem(why),
  headers: { "Retry-After": { $ref: "#/components/headers/Retry-After" } },
});

/**
 * The rate limits in the document (docs/api.md, "Rate limits"): the fields of
 * draft-ietf-httpapi-ratelimit-headers and the 429, as components that each operation names in a
 * line (`$ref`) rather than repeats. createApp registers them (registerRateLimitComponents).
 */
const RATE_LIMIT_HEADERS = {
  "RateLimit-Policy": {
    description:
      "The quota policy the request counted against: its name (`key`, `address` or `form`), `q` requests at once and on average per `w` seconds",
    schema: { type: "string", example: '"key";q=600;w=60' },
  },
  RateLimit: {
    description:
      "The quota left under the policy: `r` requests may be sent at once now; `t`, seconds until the whole quota is back (on a 429: until the next request is let in, as Retry-After)",
    schema: { type: "string", example: '"key";r=599;t=1' },
  },
} as const;

/** The other response fields the API sends (docs/api.md, "Headers and conditional requests"). */
const STANDARD_HEADERS = {
  "X-Request-Id": {
    description: "The server's id of the request, on every answer: quote it when reporting a problem",
    schema: { type: "string", format: "uuid" },
  },
  ETag: {
    description:
      "A strong validator of the answer: send it as If-None-Match to get a 304 while it is unchanged",
    schema: { type: "string", example: '"3tv65GOz99NDNdvV3s9-zLfU"' },
  },
  "Cache-Control": {
    description: "`private, no-cache`: the answer is the caller's own and must be revalidated before reuse",
    schema: { type: "string", example: "private, no-cache" },
  },
  Location: {
    description: "The URL of what was created, where it can be read on its own",
    schema: {
      type: "string",
      format: "uri-reference",
      example: "/v1/contracts/0f8e4c1e-2b7a-4d7e-9a51-3c2f7d1b9e60",
    },
  },
  "WWW-Authenticate": {
    description:
      'The bearer challenge: `Bearer realm="bot-platform"`, with `error="invalid_token"` when a key was sent and refused',
    schema: { type: "string", example: 'Bearer realm="bot-platform", error="invalid_token"' },
  },
  Connection: {
    description:
      "`close` when the body over the 1 MiB limit was not read: the connection is closed after the answer (a snapshot's 413 reads the rest and keeps it)",
    schema: { type: "string", example: "close" },
  },
  "Retry-After": {
    description: "Seconds to wait before sending the request again",
    schema: { type: "string", example: "5" },
  },
  "Idempotent-Replayed": {
    description:
      "`true` on an answer replayed for a repeated request (an Idempotency-Key or a command's id seen before)",
    schema: { type: "string", example: "true" },
  },
} as const;

export const headerRef = (name: string) => ({ $ref: `#/components/headers/${name}` });

/** The rate-limit fields by reference, for a response's `headers`. */
export const rateLimitHeaders = {
  "RateLimit-Policy": headerRef("RateLimit-Policy"),
  RateLimit: headerRef("RateLimit"),
};

/** The response fields of the document, and the shared 429, as components (createApp registers them). */
export function registerHeaderComponents(registry: OpenAPIHono["openAPIRegistry"]): void {
  for (const [name, header] of Object.entries({ ...STANDARD_HEADERS, ...RATE_LIMIT_HEADERS }))
    registry.registerComponent("headers", name, header);
  registry.registerComponent("responses", "RateLimited", {
    description:
      "Code `rate_limited`: the key (on a route without a key, the client's address) sent more requests than its rate limit allows; send the next after Retry-After",
    headers: {
      "Retry-After": headerRef("Retry-After"),
      ...rateLimitHeaders,
      "X-Request-Id": headerRef("X-Request-Id"),
    },
    content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
  });
}

/** Error responses every authenticated route can give; spread into `responses`. */
export const errorResponses = {
  400: problem("Invalid input: `errors` lists each failing field"),
  401: problem("Missing, unknown or revoked API key"),
  403: problem("The caller's role may not do this"),
  404: problem("Not found, or outside the caller's scope"),
  413: problem("Body over 1 MiB"),
  429: { $ref: "#/components/responses/RateLimited" },
  500: problem("Unexpected error; quote the request id"),
  503: unavailable(
    "The database is unavailable for a moment (code `database_unavailable`): send the same request again after Retry-After",
  ),
} as const;
/** A change the MQTT broker must take at once (sensors' logins) when it could not be told. */
export const brokerUnavailableResponse = {
  503: unavailable(
    "The database (`database_unavailable`) or the MQTT broker (`broker_unavailable`: it could not be told of the sensor's login) is unavailable; nothing was changed: send the same request again after Retry-After",
  ),
  501: problem(
    "Code `needs_node_process`: on a Workers deployment whose sensors log in to Mosquitto (SENSOR_LOGINS=mosquitto), only the Node process can tell the broker; nothing was changed: send the request to the Node API",
  ),
} as const;
export const conflictResponse = { 409: problem("The resource's state does not allow this") } as const;
/** The errors of a command: errorResponses and 409. */
export const withConflicts = { ...errorResponses, ...conflictResponse } as const;
export const preconditionResponses = {
  412: problem("If-Match does not match the current revision (someone else changed it)"),
  428: problem("If-Match is required"),
} as const;

export const security = [{ Bearer: [] }];

// ---- shared field schemas -------------------------------------------------------------------

/**
 * Every text the API takes (comments, reasons, notes, search words, …): refused with a plain
 * sentence if it holds a NUL or an unpaired surrogate (neither can be stored), and normalised to
 * NFC, so the same words typed on two keyboards are stored, searched and compared alike. Chain
 * bounds after it: `Text.trim().min(1).max(2000)`.
 */
export const Text = z
  .string()
  .superRefine((text, ctx) => {
    const refusal = textRefusal(text, "text");
    if (refusal) ctx.addIssue({ code: "custom", message: refusal, input: text });
  })
  .normalize("NFC");

/**
 * A name (of an organization, a place, a facility, a sensor, a key, …): a Text that also refuses
 * control and invisible characters, trimmed, 1 to 200 characters. With NFC, a name that only looks
 * like a registered one (decomposed accents, a zero-width space, a direction mark) cannot get past
 * the uniqueness check. A tighter bound chains after it: `Name.max(100)`.
 */
export const Name = z
  .string()
  .superRefine((text, ctx) => {
    const refusal = textRefusal(text, "name");
    if (refusal) ctx.addIssue({ code: "custom", message: refusal, input: text });
  })
  .normalize("NFC")
  .trim()
  .min(1)
  .max(200);

/** The largest value of a PostgreSQL `integer` column (int4): a bigger number is a 400, not a 500. */
export const INT4_MAX = 2_147_483_647;

/** A whole number in JSON bound for an `integer` column; chain its own minimum: `Int4.min(1)`. */
export const Int4 = z
  .number()
  .int()
  .min(-INT4_MAX - 1)
  .max(INT4_MAX);
/** The same in a path or query string (`?versionNo=3`), coerced from the text. */
export const Int4Param = z.coerce
  .number()
  .int()
  .min(-INT4_MAX - 1)
  .max(INT4_MAX);

export const Uuid = z.uuid({ error: whenGiven("must be a UUID") });
export const IdParams = z.object({ id: Uuid.openapi({ param: { name: "id", in: "path" } }) });

/** Money in JSON: a decimal string with at most 2 places, never a number. */
export const Money = z
  .string()
  .regex(/^\d{1,12}(\.\d{1,2})?$/, "must be a non-negative decimal string with at most 2 decimal places")
  .openapi({ example: "128.50", description: "CNY, decimal string" });

const CODE = /^[A-Za-z0-9_.-]+$/;

/** A fee item's (or handback condition's) code, e.g. "EL-M"; surrounding spaces are trimmed. */
export const FeeCode = z
  .string()
  .trim()
  .min(1)
  .max(40)
  .regex(CODE, "letters, digits, _ . - only")
  .openapi({ example: "EL-M" });

/** A fee code as the key of a JSON object (revenue by item, take-up by item): taken as written. */
export const FeeCodeKey = z
  .string()
  .min(1)
  .max(40)
  .regex(CODE, "must be a fee code (letters, digits, _ . -)");

/** An Asia/Shanghai calendar date. */
export const CalendarDate = z.iso
  .date({ error: whenGiven("must be a date YYYY-MM-DD") })
  .openapi({ example: "2026-12-01" });

/**
 * An instant as the API sends it: RFC 3339 in UTC (`toISOString()`), `format: date-time` in the
 * document. Every timestamp of a response uses it (test/platform/document-schemas.test.ts walks the
 * document for one that does not).
 */
export const Timestamp = z.iso.datetime().openapi({ example: "2026-03-01T02:15:30.250Z" });

/** The most items one page holds (`limit`); the default is DEFAULT_PAGE_LIMIT. */
export const MAX_PAGE_LIMIT = 200;
export const DEFAULT_PAGE_LIMIT = 50;

/**
 * `limit` and `offset` of every collection (docs/api.md, "Pages"). Typed `integer` in the document:
 * the coercion from query text is the server's business, not the client's.
 */
export const Pagination = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_LIMIT)
    .default(DEFAULT_PAGE_LIMIT)
    .openapi({ type: "integer", description: `Items per page, at most ${MAX_PAGE_LIMIT}` }),
  offset: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .default(0)
    .openapi({ type: "integer", description: "Items to skip: the previous page's offset + limit" }),
});
export type PageQuery = { limit: number; offset: number };

/** The members of every page (see Page). */
function pageMembers<T extends z.ZodType>(item: T) {
  return {
    items: z.array(item),
    total: z.number().int().min(0).openapi({ description: "Items matching the filters, on every page" }),
    limit: z.number().int().min(1).max(MAX_PAGE_LIMIT),
    offset: z.number().int().min(0),
    next: z.string().nullable().openapi({
      description:
        "The path and query of the next page (the same filters, offset + limit), or null on the last page",
      example: "/v1/contracts?limit=50&offset=50",
    }),
  };
}

/**
 * The one page envelope of every collection: the items, how many match the filters in all, the
 * page asked for, and `next`, the path and query of the following page (null on the last).
 */
export function Page<T extends z.ZodType>(item: T, name: string) {
  return z.object(pageMembers(item)).openapi(name);
}

/**
 * The envelope with members that describe the whole list rather than one page (the day the
 * upcoming transfers count from, the guidance totals of a contract): the same on every page. Each
 * extra member carries its own description; test/platform/page-envelope.test.ts lists the routes
 * allowed one, so a new one is a decision, not an accident.
 */
export function PageWith<T extends z.ZodType, E extends z.ZodRawShape>(item: T, name: string, extra: E) {
  return z.object({ ...pageMembers(item), ...extra }).openapi(name);
}

/** A page's JSON: `next` is this request's own URL with the following offset, or null. */
export function pageJson<T>(requestUrl: string, items: T[], total: number, page: PageQuery) {
  const following = page.offset + page.limit;
  let next: string | null = null;
  if (following < total) {
    const url = new URL(requestUrl);
    url.searchParams.set("limit", String(page.limit));
    url.searchParams.set("offset", String(following));
    next = `${url.pathname}${url.search}`;
  }
  return { items, total, limit: page.limit, offset: page.offset, next };
}

export function jsonBody<T extends z.ZodType>(schema: T, description?: string) {
  return {
    required: true,
    ...(description ? { description } : {}),
    content: { "application/json": { schema } },
  } as const;
}

/**
 * The body of an action that takes nothing: optional (no body, or an empty one, reads as `{}`),
 * but sent as JSON it must be `{}`, so an unknown field is a 400 naming it, never silently dropped.
 */
export const NoBody = z.strictObject({}).openapi("NoBody");
export const noBody = { ...jsonBody(NoBody), required: false } as const;

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } } as const;
}
