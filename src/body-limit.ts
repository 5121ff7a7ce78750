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
  onError: () => {
    throw new ApiError(413, "payload_too_large", "Payload too large", "The body is over the 1 MiB limit.");
  },
});
