/**
 * Error pages in the reader's language: never a stack trace, never raw JSON. Errors are classified
 * once, by the API's `handleError` (which also logs them); a page only words the outcome.
 */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv } from "../context.js";
import { ApiError, handleError } from "../errors.js";
import { translator } from "./i18n.js";
import { Layout } from "./layout.js";
import { common } from "./messages.js";
import type { PortalEnv } from "./portal-env.js";
import { problemWords } from "./problem-messages.js";

export function notFoundPage(c: Context<PortalEnv>) {
  const t = translator(common, c.var.lang);
  return c.html(
    <Layout c={c} title={t("not_found_title")}>
      <p>{t("not_found_body")}</p>
      <p>
        <a href={c.var.session ? "/home" : "/"}>{t("back_home")}</a>
      </p>
    </Layout>,
    404,
  );
}

export function csrfPage(c: Context<PortalEnv>) {
  const t = translator(common, c.var.lang);
  return c.html(
    <Layout c={c} title={t("csrf_title")}>
      <p>{t("csrf_body")}</p>
    </Layout>,
    403,
  );
}

/** The portal's onError: the API's classification and log, then a page in the reader's words. */
export function pageError(err: Error, c: Context<PortalEnv>) {
  const t = translator(common, c.var.lang ?? "zh-CN");
  // A portal context is an app context with more variables; handleError reads only the app's.
  const status = handleError(err, c as unknown as Context<AppEnv>).status as ContentfulStatusCode;
  if (status === 404) return notFoundPage(c);
  const refusal = err instanceof ApiError && status < 500 ? err : null;
  const words = translator(problemWords, c.var.lang ?? "zh-CN");
  const detail = refusal ? words(refusal.code) : status === 503 ? t("unavailable_body") : null;
  const title = status === 403 || status === 409 ? t("forbidden_title") : t("error_title");
  // Without a session variable (the error came before the portal's context was read) the frame
  // shows no navigation.
  if (c.var.session === undefined) c.set("session", null);
  return c.html(
    <Layout c={c} title={title}>
      <p class="notice error" role="alert">
        {detail ?? t("error_body", { id: c.var.requestId })}
      </p>
      {refusal?.detail ? (
        <details>
          <summary>{t("error_details")}</summary>
          <p lang="en">{refusal.detail}</p>
        </details>
      ) : null}
      <p>
        <a href={c.var.session ? "/home" : "/"}>{t("back_home")}</a>
      </p>
    </Layout>,
    status,
  );
}
