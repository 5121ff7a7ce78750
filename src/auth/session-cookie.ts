/**
 * The portal's session cookie: set by the sign-in page (src/pages/session.ts), read there and,
 * for the API's reads from a signed-in browser (the live feed), by src/auth/authenticate.ts.
 * `__Host-`: only this origin, over HTTPS (or localhost), for every path, may set it.
 */
export const SESSION_COOKIE = "__Host-bot_session";
