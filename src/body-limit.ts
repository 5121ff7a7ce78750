import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors.js";

export const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The API's 1 MiB body limit: a declared Content-Length over it is refused unread, a chunked body
 * as soon as it passes it. Routes that take their caller's key apart (the sensors') run it after
 * that key, so an anonymous caller learns nothing about the body's rules.
 */
export const limitBody = bodyLimit({
  maxSize: BODY_LIMIT_BYTES,
  // The rest of the body is not read: the connection is closed after the answer, and says so, so
  // a keep-alive client opens a new one for its next request instead of failing on this one. (A
  // snapshot's 413 reads the rest and keeps the connection: src/routes/snapshots.)
  onError: () => {
    throw Object.assign(
      new ApiError(413, "payload_too_large", "Payload too large", "The body is over the 1 MiB limit."),
      { headers: { Connection: "close" } },
    );
  },
});
