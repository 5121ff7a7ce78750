import type { Context } from "hono";
import type { AppEnv } from "../context.js";
import type { ServiceContext } from "../services/context.js";
import type { SessionOf } from "../services/people.js";
import type { Lang } from "./i18n.js";

/** What every portal page has: the app's variables, the language, and the signed-in person if any. */
export interface PortalEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & {
    lang: Lang;
    /** The signed-in person's session, or null on the public pages. */
    session: SessionOf | null;
    /** The token every form of this session carries (src/pages/session.ts). */
    csrfToken: string;
  };
}

/** The application layer's context for a signed-in person's request (pages behind `signedIn`). */
export function personContext(c: Context<PortalEnv>): ServiceContext {
  const session = c.var.session;
  if (!session) throw new Error("personContext outside a signed-in page");
  return { db: c.var.db, clock: c.var.deps.clock, principal: session.principal };
}
