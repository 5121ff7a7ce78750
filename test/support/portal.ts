/**
 * A browser-like client of the portal over `app.request`: it keeps cookies, follows nothing on
 * its own, and fills every form with the token the page it came from carried (as a browser would).
 */
import type { Fetcher, TestApp } from "./app.js";

export interface PageResponse {
  status: number;
  html: string;
  headers: Headers;
  /** Where a redirect points. */
  location: string | null;
}

/** Over the app in-process (`address`: the socket address the request seems to come from), or a fetcher (a Worker). */
export function portalClient(app: TestApp | Fetcher, opts: { address?: string } = {}) {
  const jar = new Map<string, string>();
  let lastToken = "";

  function remember(res: Response) {
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = "", ...attrs] = cookie.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === "") jar.delete(name);
      else jar.set(name, value);
    }
  }

  async function send(method: string, path: string, body?: URLSearchParams): Promise<PageResponse> {
    const headers: Record<string, string> = { accept: "text/html" };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (body) headers["content-type"] = "application/x-www-form-urlencoded";
    // The Node server's socket address, as src/context.ts clientAddress reads it.
    const env = opts.address ? { incoming: { socket: { remoteAddress: opts.address } } } : undefined;
    const init = { method, headers, ...(body ? { body } : {}) };
    const res = typeof app === "function" ? await app(path, init) : await app.request(path, init, env);
    remember(res);
    const html = await res.text();
    const token = /name="_csrf" value="([^"]*)"/.exec(html)?.[1];
    if (token) lastToken = token;
    return { status: res.status, html, headers: res.headers, location: res.headers.get("location") };
  }

  return {
    cookies: jar,
    get: (path: string) => send("GET", path),
    /** Posts a form with the token of the last page read (`_csrf: null` leaves it out). */
    post: (path: string, fields: Record<string, string | null> = {}) => {
      const form = new URLSearchParams();
      const withToken = { _csrf: lastToken, ...fields };
      for (const [k, v] of Object.entries(withToken)) if (v !== null) form.set(k, v);
      return send("POST", path, form);
    },
    /** Signs in (reading the sign-in page first, for its form token) and expects to be let in. */
    async signIn(login: string, password: string) {
      await send("GET", "/sign-in");
      const res = await this.post("/sign-in", { login, password });
      if (res.status !== 303) throw new Error(`sign-in answered ${res.status}`);
      return res;
    },
  };
}

export type PortalClient = ReturnType<typeof portalClient>;

/** The visible text of a page, tags stripped and spaces collapsed (for assertions on wording). */
export function textOf(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, " ")
    .trim();
}
