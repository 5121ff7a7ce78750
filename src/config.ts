import { z } from "zod";
import { plainMessage } from "../contracts/validation-messages.js";
import { DEFAULT_DEAD_LETTER_RETENTION_DAYS } from "../iot/dead-letter-retention.js";
import { DEFAULT_EVIDENCE_MARGIN_DAYS, DEFAULT_HEARTBEAT_RETENTION_DAYS } from "../iot/event-partitions.js";
import { DEFAULT_INGEST_LIMITS, DEFAULT_SENSOR_RATE } from "../iot/ingest.js";
import { DEFAULT_SNAPSHOT_RETENTION_DAYS } from "./services/snapshots/snapshots.js";

/**
 * Every setting of the process, parsed once from the environment. Nothing else reads
 * `process.env`: entry points call `loadConfig` and pass the result down.
 */
const port = (fallback: number) =>
  z.coerce
    .number({ message: "must be a port number" })
    .int("must be a whole number")
    .min(1, "must be between 1 and 65535")
    .max(65535, "must be between 1 and 65535")
    .default(fallback);

/** A whole number in [min, max]; `unit` names it in the messages ("a number of seconds"). */
const wholeNumber = (min: number, max: number, fallback: number, unit = "a number") =>
  z.coerce
    .number({ message: `must be ${unit}` })
    .int("must be a whole number")
    .min(min, `must be between ${min} and ${max}`)
    .max(max, `must be between ${min} and ${max}`)
    .default(fallback);

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (v) => {
        try {
          return protocols.includes(new URL(v).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`,
    )
    .optional();

/** `https://app.example.com[:port]` exactly: a scheme, a host, no path, no wildcard. */
function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (
      (url.protocol === "https:" || url.protocol === "http:") && url.origin === text && !text.includes("*")
    );
  } catch {
    return false;
  }
}

export const ConfigSchema = z
  .object({
    PORT: port(3000),
    HTTP_HEADERS_TIMEOUT_S: wholeNumber(1, 300, 10, "a number of seconds").describe(
      "a client must send its request line and headers within this; a slower one is cut off",
    ),
    HTTP_REQUEST_TIMEOUT_S: wholeNumber(1, 3600, 30, "a number of seconds").describe(
      "a client must send its whole request, body included, within this (not the answer: a live feed runs longer)",
    ),
    HTTP_MAX_CONNECTIONS: wholeNumber(10, 100_000, 1000, "a number of connections").describe(
      "open HTTP connections at most (live feeds included); one more is closed at once",
    ),
    HTTP_TRUSTED_PROXIES: wholeNumber(0, 10, 0, "a number of proxies").describe(
      "Node: reverse proxies in front of the server that each append the address they saw to X-Forwarded-For; the client's address is then the one the outermost of them saw. 0: the socket's address (X-Forwarded-For, which a client can write, is ignored). Workers: ignored (CF-Connecting-IP)",
    ),
    RATE_LIMITS: z
      .enum(["true", "false"], { message: "must be true or false" })
      .default("true")
      .transform((v) => v === "true")
      .describe(
        "false: no request rate limit of the HTTP API (RATE_LIMIT_*); the sensor ingest's own limits (INGEST_SENSOR_*) stay",
      ),
    RATE_LIMIT_KEY_PER_MIN: wholeNumber(1, 1_000_000, 600, "a number of requests").describe(
      "requests one key (an organization's, ADMIN_TOKEN, a sensor's, or a person's portal session reading /v1) may send a minute on average, and at once; one more answers 429 rate_limited",
    ),
    RATE_LIMIT_ADDRESS_PER_MIN: wholeNumber(1, 1_000_000, 300, "a number of requests").describe(
      "requests one client address may send a minute to the pages without a key (household links /h/…, invitations) and /openapi.json",
    ),
    RATE_LIMIT_FORM_PER_MIN: wholeNumber(1, 1_000_000, 30, "a number of requests").describe(
      "form posts one client address may send a minute without a session (signing in, accepting an invitation)",
    ),
    CORS_ORIGINS: z
      .string()
      .trim()
      .transform((v, ctx) => {
        const origins = v
          .split(",")
          .map((o) => o.trim())
          .filter(Boolean);
        for (const origin of origins) {
          if (!isOrigin(origin)) {
            ctx.addIssue({
              code: "custom",
              message: `must list exact origins like https://app.example.com, comma-separated (not "${origin}")`,
            });
            return z.NEVER;
          }
        }
        return origins;
      })
      .optional()
      .describe(
        "browser origins whose scripts may call /v1 (CORS), comma-separated; unset: none (the portal's pages never answer CORS)",
      ),
    DATABASE_URL: url(["postgres:", "postgresql:"]),
    DATABASE_STATEMENT_TIMEOUT_MS: wholeNumber(100, 600_000, 30_000, "a number of milliseconds").describe(
      "longest a statement may run; a connection that answers nothing for this long (+5 s) is dropped",
    ),
    DATA_DIR: z.string().trim().min(1, "must not be empty").default("./data"),
    MQTT_URL: url(["mqtt:", "mqtts:", "tcp:", "ws:", "wss:"]),
    MQTT_PORT: port(1883),
    MQTT_USERNAME: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .max(200, "must be at most 200 characters")
      .optional()
      .describe("the ingest consumer's broker user (also accepted by the embedded broker)"),
    MQTT_PASSWORD: z.string().min(12, "must be at least 12 characters").optional(),
    MQTT_CLIENT_ID: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1-40 letters, digits, '-' or '_'")
      .default("bot-ingest")
      .describe("prefix of the consumer's fixed client ids; distinct per app instance"),
    MQTT_CONSUMERS: wholeNumber(1, 64, 1).describe(
      "consumer connections of this instance; more than one needs MQTT_SHARED=true",
    ),
    MQTT_SHARED: z
      .enum(["true", "false"], { message: "must be true or false" })
      .default("false")
      .transform((v) => v === "true")
      .describe(
        "read events through the shared subscription $share/bot-ingest/… (several connections or instances)",
      ),
    MQTT_KEEPALIVE_S: wholeNumber(2, 600, 30, "a number of seconds").describe(
      "the consumer's MQTT keepalive: a silent broker connection is dropped and retried within 1.5× this",
    ),
    MQTT_MAX_PACKET_BYTES: wholeNumber(16_384, 16_777_216, 65_536, "a number of bytes").describe(
      "embedded broker: the largest MQTT packet a logged-in client may send; a bigger one closes its connection before it is read (events are at most 8 KiB; bigger ones up to this size are dead-lettered)",
    ),
    MQTT_MAX_CONNECT_BYTES: wholeNumber(256, 65_536, 4_096, "a number of bytes").describe(
      "embedded broker: the largest CONNECT packet (the only one read before the login is checked); a bigger one closes the connection before it is read",
    ),
    MQTT_MAX_CONNECTIONS: wholeNumber(1, 1_000_000, 1_000).describe(
      "embedded broker: open connections at most; one more is closed at once",
    ),
    MQTT_MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(1, 1_000_000, 100).describe(
      "embedded broker: open connections from one remote address at most (sensors behind one NAT share an address)",
    ),
    MQTT_CONNECT_TIMEOUT_S: wholeNumber(1, 300, 10, "a number of seconds").describe(
      "embedded broker: a connection whose CONNECT has not fully arrived this long after it opened is closed",
    ),
    SENSOR_HEARTBEAT_S: wholeNumber(5, 3600, 30, "a number of seconds"),
    DEVICE_COMMAND_TTL_S: wholeNumber(10, 86_400, 120, "a number of seconds").describe(
      "a command to a sensor not answered this long after it was issued expires (command_failed is notified)",
    ),
    DEVICE_BLOCKING_OFF_MAX_H: wholeNumber(1, 720, 24, "a number of hours").describe(
      "how far ahead a person may switch a sensor's e-bike blocking off (`until`); further is refused with 422",
    ),
    INGEST_SENSOR_RATE_PER_S: wholeNumber(
      1,
      100_000,
      DEFAULT_SENSOR_RATE.perSecond,
      "a number of messages a second",
    ).describe(
      "messages (events and status, MQTT and HTTP) a sensor may send a second on average; beyond its burst, the rest are dead-lettered rate_limited, unread",
    ),
    INGEST_SENSOR_BURST: wholeNumber(
      1,
      1_000_000,
      DEFAULT_SENSOR_RATE.burst,
      "a number of messages",
    ).describe("messages a sensor may send at once above its rate (a backlog re-sent after a reconnect)"),
    DEAD_LETTERS_PER_SENSOR_PER_DAY: wholeNumber(
      1,
      1_000_000,
      DEFAULT_INGEST_LIMITS.deadLettersPerSensor,
      "a number of dead letters",
    ).describe("dead letters stored per sensor in any 24 hours; beyond, they are only counted"),
    DEAD_LETTER_RETENTION_DAYS: wholeNumber(
      1,
      3650,
      DEFAULT_DEAD_LETTER_RETENTION_DAYS,
      "a number of days",
    ).describe("dead letters older than this are deleted (hourly, in batches)"),
    SENSOR_HEARTBEAT_RETENTION_DAYS: wholeNumber(
      1,
      366,
      DEFAULT_HEARTBEAT_RETENTION_DAYS,
      "a number of days",
    ).describe(
      "raw heartbeats are kept this many full Asia/Shanghai days before today (their daily figures, sensor_days, for good); an older heartbeat is dead-lettered outside_retention_window",
    ),
    EVENT_EVIDENCE_MARGIN_DAYS: wholeNumber(
      30,
      36_500,
      DEFAULT_EVIDENCE_MARGIN_DAYS,
      "a number of days",
    ).describe(
      "detections, clears and faults are kept at least this long, and this long past the transfer of each elevator's contract (kept while an elevator has no contract or no transfer date); an older one is dead-lettered outside_retention_window",
    ),
    SENSOR_LOGINS: z
      .enum(["database", "mosquitto"], { message: "must be database or mosquitto" })
      .optional()
      .describe(
        "where sensors' MQTT logins live. database: the broker reads the sensors table at each login (the embedded broker, or EMQX with deploy/emqx/emqx.conf), so nothing is told; mosquitto: Mosquitto's dynamic-security plugin, which the Node process tells (a Worker then answers 501 to registering, rotating or revoking a sensor). Unset: mosquitto on a Node process with MQTT_URL, database otherwise",
      ),
    FEED_MAX_S: wholeNumber(1, 86_400, 300, "a number of seconds").describe(
      "how long a followed live incident feed runs before it ends and the client reconnects (Workers bill a stream's CPU time to one request)",
    ),
    FEED_STREAMS_PER_KEY: wholeNumber(1, 10_000, 20, "a number of streams").describe(
      "live incident feed streams one API key may hold open at once; one more answers 429 too_many_streams",
    ),
    FEED_STREAMS_MAX: wholeNumber(1, 100_000, 500, "a number of streams").describe(
      "live incident feed streams the process (on Workers: the isolate) holds open at once; one more answers 429 too_many_streams",
    ),
    FEED_RECHECK_S: wholeNumber(1, 3600, 5, "a number of seconds").describe(
      "how often an open live incident feed checks its key and scope again; it ends when the key was revoked or the scope changed",
    ),
    ADMIN_TOKEN: z
      .string()
      .min(24, "must be at least 24 characters (use `openssl rand -hex 24`)")
      .optional()
      .describe("bootstrap key of the platform's street-office admin"),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    SNAPSHOT_STORE: z
      .enum(["database", "s3"], { message: "must be database or s3" })
      .default("database")
      .describe(
        "where e-bike snapshots are kept: database (PostgreSQL, bytea) or s3 (an S3-compatible bucket, S3_*); on Workers an R2 binding SNAPSHOTS wins when bound",
      ),
    S3_ENDPOINT: url(["http:", "https:"]).describe(
      "the bucket's S3 endpoint, path-style (https://<account>.r2.cloudflarestorage.com, http://127.0.0.1:9000)",
    ),
    S3_BUCKET: z.string().trim().min(1, "must not be empty").optional().describe("the snapshots' bucket"),
    S3_REGION: z
      .string()
      .trim()
      .min(1, "must not be empty")
      .default("auto")
      .describe("the bucket's region (R2: auto)"),
    S3_ACCESS_KEY_ID: z.string().trim().min(1, "must not be empty").optional(),
    S3_SECRET_ACCESS_KEY: z
      .string()
      .min(1, "must not be empty")
      .optional()
      .describe("a secret: never logged"),
    SNAPSHOT_RETENTION_DAYS: wholeNumber(
      1,
      3650,
      DEFAULT_SNAPSHOT_RETENTION_DAYS,
      "a number of days",
    ).describe("snapshots received longer ago than this are deleted, rows and objects (hourly)"),
  })
  .superRefine((c, ctx) => {
    if (c.SNAPSHOT_STORE === "s3") {
      for (const name of ["S3_ENDPOINT", "S3_BUCKET", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
        if (!c[name])
          ctx.addIssue({ code: "custom", path: [name], message: "must be set when SNAPSHOT_STORE=s3" });
      }
    }
    if (c.HTTP_HEADERS_TIMEOUT_S > c.HTTP_REQUEST_TIMEOUT_S) {
      ctx.addIssue({
        code: "custom",
        path: ["HTTP_HEADERS_TIMEOUT_S"],
        message: "must not be more than HTTP_REQUEST_TIMEOUT_S (the headers are part of the request)",
      });
    }
    // Without a share group, every connection would receive every event.
    if (c.MQTT_CONSUMERS > 1 && !c.MQTT_SHARED) {
      ctx.addIssue({
        code: "custom",
        path: ["MQTT_CONSUMERS"],
        message:
          "above 1 needs MQTT_SHARED=true (several connections share the events only through a share group)",
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Parses the environment; an empty string counts as unset. Throws one line per bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.keys(ConfigSchema.shape).flatMap((k) => (env[k] ? [[k, env[k]]] : [])),
  );
  const parsed = ConfigSchema.safeParse(present, { error: plainMessage });
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const name = String(i.path[0]);
    const shown =
      name === "ADMIN_TOKEN" ||
      name === "DATABASE_URL" ||
      name === "MQTT_PASSWORD" ||
      name === "S3_SECRET_ACCESS_KEY" ||
      name === "S3_ACCESS_KEY_ID"
        ? ""
        : ` (got "${present[name]}")`;
    return `invalid configuration: ${name} ${i.message}${shown}`;
  });
  throw new ConfigError(lines.join("\n"));
}
