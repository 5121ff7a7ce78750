/** The frame of every portal page: language, header, the role's navigation, and the footer. */
import type { Context } from "hono";
import type { Child } from "hono/jsx";
import { assetUrl } from "./assets.js";
import { translator } from "./i18n.js";
import { common } from "./messages.js";
import type { PortalEnv } from "./portal-env.js";
import { CSRF_FIELD } from "./session.js";

export type NavKey =
  | "home"
  | "contracts"
  | "drafts"
  | "reports"
  | "incidents"
  | "sensors"
  | "households"
  | "dashboard"
  | "billing"
  | "members"
  | "alerts";

/** Each role's navigation, in the order of its day's work (the home page lists the same). */
export const NAV_OF_ROLE: Record<string, readonly NavKey[]> = {
  owners_committee: ["home", "contracts", "reports", "incidents", "alerts"],
  property_company: ["home", "incidents", "sensors", "households", "contracts", "alerts"],
  street_office: ["home", "dashboard", "contracts", "incidents", "alerts"],
  enterprise: ["home", "contracts", "drafts", "billing", "reports", "households", "sensors", "alerts"],
};

export const NAV_HREF: Record<NavKey, string> = {
  home: "/home",
  contracts: "/contracts",
  drafts: "/drafts",
  reports: "/reports",
  incidents: "/incidents",
  sensors: "/sensors",
  households: "/households",
  dashboard: "/dashboard",
  billing: "/billing",
  members: "/members",
  alerts: "/alerts",
};

export interface LayoutProps {
  c: Context<PortalEnv>;
  title: string;
  /** Which navigation entry is this page's (aria-current). */
  current?: NavKey;
  /** Extra scripts of this page (asset names of src/pages/assets.ts, loaded deferred). */
  scripts?: string[];
  /** Extra style sheets of this page (asset names), after the portal's own. */
  styles?: string[];
  children?: Child;
}

export function Layout({ c, title, current, scripts = [], styles = [], children }: LayoutProps) {
  const lang = c.var.lang;
  const t = translator(common, lang);
  const session = c.var.session;
  const nav = session ? [...(NAV_OF_ROLE[session.principal.role] ?? ["home"])] : [];
  if (session?.person.role === "admin") nav.push("members");
  const here = c.req.path + (new URL(c.req.url).search || "");
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · ${t("app_name")}`}</title>
        <link rel="stylesheet" href={assetUrl("portal.css")} />
        {styles.map((s) => (
          <link rel="stylesheet" href={assetUrl(s)} />
        ))}
        {scripts.map((s) => (
          <script src={assetUrl(s)} defer />
        ))}
      </head>
      <body>
        <a class="skip" href="#content">
          {t("skip_to_content")}
        </a>
        <header class="top">
          <div class="bar">
            <a class="brand" href={session ? "/home" : "/"}>
              {t("app_name")}
            </a>
            <span class="who">
              {session
                ? t("signed_in_as", { name: session.person.name, org: session.organizationName })
                : null}
            </span>
            <span>
              <a
                href={`/lang?to=${lang === "en" ? "zh-CN" : "en"}&back=${encodeURIComponent(here)}`}
                lang={lang === "en" ? "zh-CN" : "en"}
              >
                {t("switch_lang")}
              </a>
              {session ? (
                <form class="inline" method="post" action="/sign-out">
                  <input type="hidden" name={CSRF_FIELD} value={c.var.csrfToken} />{" "}
                  <button class="link" type="submit">
                    {t("sign_out")}
                  </button>
                </form>
              ) : null}
            </span>
          </div>
        </header>
        {nav.length ? (
          <nav class="main" aria-label={t("app_name")}>
            <ul>
              {nav.map((key) => (
                <li>
                  <a href={NAV_HREF[key]} aria-current={current === key ? "page" : undefined}>
                    {t(`nav_${key}`)}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        <main id="content">
          <h1>{title}</h1>
          {children}
        </main>
        <footer class="bottom">{t("app_name")}</footer>
      </body>
    </html>
  );
}

/** A POST form of the portal: it always carries this session's (or this browser's) token. */
export function Form({
  c,
  action,
  class: className = "stack",
  children,
}: {
  c: Context<PortalEnv>;
  action: string;
  class?: string;
  children?: Child;
}) {
  return (
    <form method="post" action={action} class={className}>
      <input type="hidden" name={CSRF_FIELD} value={c.var.csrfToken} />
      {children}
    </form>
  );
}

/** A labelled input; `error` is announced with the field (aria-describedby). */
export function Field({
  name,
  label,
  type = "text",
  value,
  hint,
  error,
  required,
  autocomplete,
  inputmode,
  min,
  step,
}: {
  name: string;
  label: string;
  type?: string;
  value?: string;
  hint?: string;
  error?: string;
  required?: boolean;
  autocomplete?: string;
  inputmode?: "text" | "email" | "tel" | "numeric" | "decimal";
  min?: string;
  step?: string;
}) {
  const id = `f-${name}`;
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div>
      <label for={id}>
        {label}
        {hint ? (
          <span class="hint" id={`${id}-hint`}>
            {hint}
          </span>
        ) : null}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        value={value}
        required={required}
        autocomplete={autocomplete}
        inputmode={inputmode}
        min={min}
        step={step}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={described || undefined}
      />
      {error ? (
        <p class="fail" id={`${id}-error`}>
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A wide table's box: it scrolls sideways on a phone, so it is a named region a keyboard can
 * reach and scroll (axe: scrollable-region-focusable).
 */
export function TableWrap({ label, children }: { label: string; children?: Child }) {
  return (
    // A <section> with a name is a region: landmark navigation finds it too.
    <section class="table-wrap" aria-label={label} tabindex={0}>
      {children}
    </section>
  );
}
