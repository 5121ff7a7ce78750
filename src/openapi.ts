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

/**
 * Every route of the API is made here: its query is strict, so an unknown query parameter (a typo
 * like `?stat=draft`) is a 400 naming it, as an unknown body field is, never silently ignored. A
 * route without a query takes none.
 */
export const createRoute: typeof createOpenApiRoute = (config) => {
  const query = config.request?.query;
  const strictQuery = query === undefined ? NoQuery : query instanceof z.ZodObject ? query.strict() : query;
  return createOpenApiRoute({ ...config, request: { ...config.request, query: strictQuery } });
};

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

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: ProblemSchema } },
});

/** A 503 with its Retry-After header: `why` says which part is down. */
export const unavailable = (why: string) => ({
  ...problem(why),
  headers: z.object({
    "Retry-After": z.string().openapi({ description: "Seconds to wait before retrying", example: "5" }),
  }),
});

/** Error responses every authenticated route can give; spread into `responses`. */
export const errorResponses = {
  400: problem("Invalid input: `errors` lists each failing field"),
  401: problem("Missing, unknown or revoked API key"),
  403: problem("The caller's role may not do this"),
  404: problem("Not found, or outside the caller's scope"),
  413: problem("Body over 1 MiB"),
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

/**
 * The one page envelope of every collection: the items, how many match the filters in all, the
 * page asked for, and `next`, the path and query of the following page (null on the last).
 */
export function Page<T extends z.ZodType>(item: T, name: string) {
  return z
    .object({
      items: z.array(item),
      total: z.number().int().min(0).openapi({ description: "Items matching the filters, on every page" }),
      limit: z.number().int().min(1).max(MAX_PAGE_LIMIT),
      offset: z.number().int().min(0),
      next: z.string().nullable().openapi({
        description:
          "The path and query of the next page (the same filters, offset + limit), or null on the last page",
        example: "/v1/contracts?limit=50&offset=50",
      }),
    })
    .openapi(name);
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
