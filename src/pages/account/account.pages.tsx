/**
 * Signing in and out, accepting an invitation, the home page, and an admin's members page.
 */

import type { Context } from "hono";
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { PASSWORD_MIN_LENGTH } from "../../auth/passwords.js";
import type { OrgKind } from "../../auth/principal.js";
import { clientAddress } from "../../context.js";
import { limitByAddress } from "../../rate-limit.js";
import {
  acceptInvitation,
  disableMember,
  INVITATION_TTL_MS,
  invite,
  listMembers,
  openInvitation,
  revokeInvitation,
  signIn,
  signOut,
} from "../../services/people.js";
import { formatInstant } from "../format.js";
import { field, formOf, safeNext, signedIn } from "../guards.js";
import { LANG_COOKIE, translator } from "../i18n.js";
import { Field, Form, Layout, NAV_HREF, NAV_OF_ROLE, TableWrap } from "../layout.js";
import { common } from "../messages.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { endSession, sessionToken, startSession } from "../session.js";

export const accountPages = new Hono<PortalEnv>();

accountPages.get("/", (c) => c.redirect(c.var.session ? "/home" : "/sign-in", 303));

function signInPage(
  c: Context<PortalEnv>,
  next: string,
  login = "",
  error?: string,
  status: 200 | 401 | 429 = 200,
) {
  const t = translator(common, c.var.lang);
  return c.html(
    <Layout c={c} title={t("sign_in_title")}>
      <p class="lead">{t("sign_in_lead")}</p>
      {error ? (
        <p class="notice error" role="alert">
          {error}
        </p>
      ) : null}
      <Form c={c} action={`/sign-in?next=${encodeURIComponent(next)}`}>
        <Field name="login" label={t("login")} value={login} required autocomplete="username" />
        <Field
          name="password"
          label={t("password")}
          type="password"
          required
          autocomplete="current-password"
        />
        <div>
          <button type="submit">{t("sign_in_button")}</button>
        </div>
      </Form>
    </Layout>,
    status,
  );
}

accountPages.get("/sign-in", (c) => {
  if (c.var.session) return c.redirect(safeNext(c.req.query("next")), 303);
  return signInPage(c, safeNext(c.req.query("next")));
});

// The forms anyone may post are counted by address (a password's hash is the dearest work of a
// request); the pages of a signed-in person are not limited.
accountPages.post("/sign-in", limitByAddress<PortalEnv>("form"), async (c) => {
  const t = translator(common, c.var.lang);
  const body = await formOf(c);
  const next = safeNext(c.req.query("next"));
  const login = field(body, "login");
  const outcome = await signIn(
    { db: c.var.db, clock: c.var.deps.clock },
    { login, password: field(body, "password"), address: clientAddress(c) },
  );
  if (outcome.ok) {
    startSession(c, outcome.session.token, outcome.session.expiresAt);
    return c.redirect(next, 303);
  }
  if (outcome.reason === "throttled") {
    c.header("Retry-After", String(outcome.retryAfterS));
    return signInPage(
      c,
      next,
      login,
      t("sign_in_throttled", { minutes: Math.ceil(outcome.retryAfterS / 60) }),
      429,
    );
  }
  return signInPage(c, next, login, t("sign_in_wrong"), 401);
});

accountPages.post("/sign-out", async (c) => {
  const token = sessionToken(c);
  if (token) await signOut({ db: c.var.db, clock: c.var.deps.clock }, token);
  endSession(c);
  return c.redirect("/sign-in", 303);
});

accountPages.get("/lang", (c) => {
  const to = c.req.query("to") === "en" ? "en" : "zh-CN";
  // Not a secret: readable over plain HTTP too, so the choice sticks on a LAN test install.
  setCookie(c, LANG_COOKIE, to, { path: "/", maxAge: 365 * 24 * 3600, sameSite: "Lax" });
  return c.redirect(safeNext(c.req.query("back") ?? "/"), 303);
});

function invitationPage(
  c: Context<PortalEnv>,
  token: string,
  opened: { organizationName: string; name: string } | null,
  values: { login?: string } = {},
  errors: Record<string, string> = {},
) {
  const t = translator(common, c.var.lang);
  if (!opened) {
    return c.html(
      <Layout c={c} title={t("invitation_title")}>
        <p class="notice error">{t("invitation_gone")}</p>
      </Layout>,
      410,
    );
  }
  return c.html(
    <Layout c={c} title={t("invitation_title")}>
      <p class="lead">{t("invitation_lead", { org: opened.organizationName, name: opened.name })}</p>
      <Form c={c} action={`/invitations/${encodeURIComponent(token)}`}>
        <Field
          name="login"
          label={t("login")}
          value={values.login}
          error={errors.login}
          required
          autocomplete="username"
        />
        <Field
          name="password"
          label={t("password")}
          type="password"
          hint={t("password_hint", { min: PASSWORD_MIN_LENGTH })}
          error={errors.password}
          required
          autocomplete="new-password"
        />
        <Field
          name="password2"
          label={t("password_repeat")}
          type="password"
          error={errors.password2}
          required
          autocomplete="new-password"
        />
        <div>
          <button type="submit">{t("accept_button")}</button>
        </div>
      </Form>
    </Layout>,
    Object.keys(errors).length ? 400 : 200,
  );
}

accountPages.get("/invitations/:token", limitByAddress<PortalEnv>("address"), async (c) => {
  const token = c.req.param("token");
  const opened = await openInvitation({ db: c.var.db, clock: c.var.deps.clock }, token);
  return invitationPage(
    c,
    token,
    opened && { organizationName: opened.organizationName, name: opened.invitation.name },
  );
});

accountPages.post("/invitations/:token", limitByAddress<PortalEnv>("form"), async (c) => {
  const t = translator(common, c.var.lang);
  const token = c.req.param("token");
  const sys = { db: c.var.db, clock: c.var.deps.clock };
  const opened = await openInvitation(sys, token);
  if (!opened) return invitationPage(c, token, null);
  const shown = { organizationName: opened.organizationName, name: opened.invitation.name };
  const body = await formOf(c);
  const login = field(body, "login");
  const password = field(body, "password");
  if (password !== field(body, "password2")) {
    return invitationPage(c, token, shown, { login }, { password2: t("problem_password_mismatch") });
  }
  const outcome = await acceptInvitation(sys, token, { login, password });
  if (!outcome.ok) {
    if ("gone" in outcome) return invitationPage(c, token, null);
    const errors: Record<string, string> = {};
    for (const p of outcome.problems) {
      const target = p.startsWith("login") ? "login" : "password";
      errors[target] = t(`problem_${p}`, { min: PASSWORD_MIN_LENGTH });
    }
    return invitationPage(c, token, shown, { login }, errors);
  }
  const signedInNow = await signIn(sys, {
    login,
    password,
    address: clientAddress(c),
  });
  if (signedInNow.ok) startSession(c, signedInNow.session.token, signedInNow.session.expiresAt);
  return c.redirect("/home", 303);
});

accountPages.get("/home", signedIn, (c) => {
  const t = translator(common, c.var.lang);
  const session = c.var.session;
  if (!session) return c.notFound();
  // A session is always an organization's person (the platform admin has no portal account).
  const role = session.principal.role as OrgKind;
  const links = (NAV_OF_ROLE[role] ?? []).filter((key) => key !== "home");
  return c.html(
    <Layout c={c} title={t("home_title", { name: session.person.name })} current="home">
      <p class="lead">{t("home_lead", { org: session.organizationName, role: t(`role_${role}`) })}</p>
      <ul>
        {links.map((key) => (
          <li>
            <a href={NAV_HREF[key]}>{t(`nav_${key}`)}</a>
          </li>
        ))}
      </ul>
    </Layout>,
  );
});

async function membersPage(c: Context<PortalEnv>, issued?: { name: string; link: string; expires: Date }) {
  const t = translator(common, c.var.lang);
  const ctx = personContext(c);
  const orgId = ctx.principal.orgId ?? "";
  const members = await listMembers(ctx, orgId);
  const roleName = (r: "admin" | "member") => t(r === "admin" ? "member_role_admin" : "member_role_member");
  return c.html(
    <Layout c={c} title={t("members_title")} current="members">
      <p class="lead">{t("members_lead", { days: INVITATION_TTL_MS / 86_400_000 })}</p>
      {issued ? (
        <div class="notice ok" role="status">
          <h2>{t("invite_link_title")}</h2>
          <p class="secret" data-testid="invitation-link">
            {issued.link}
          </p>
          <p>
            {t("invite_link_hint", { name: issued.name, expires: formatInstant(issued.expires, c.var.lang) })}
          </p>
        </div>
      ) : null}
      <Form c={c} action="/members/invite">
        <Field name="name" label={t("member_name")} required autocomplete="off" />
        <div>
          <label for="f-role">{t("member_role")}</label>
          <select id="f-role" name="role">
            <option value="member">{roleName("member")}</option>
            <option value="admin">{roleName("admin")}</option>
          </select>
        </div>
        <div>
          <button type="submit">{t("invite_button")}</button>
        </div>
      </Form>
      <h2>{t("members_people")}</h2>
      {members.people.length ? (
        <TableWrap label={t("members_people")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("member_name")}</th>
                <th scope="col">{t("member_login")}</th>
                <th scope="col">{t("member_role")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("member_disable")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.people.map((p) => (
                <tr>
                  <td>{p.name}</td>
                  <td>{p.login}</td>
                  <td>{p.disabledAt ? t("member_disabled") : roleName(p.role)}</td>
                  <td>
                    {p.disabledAt || p.id === c.var.session?.person.id ? null : (
                      <Form c={c} action={`/members/${p.id}/disable`} class="inline">
                        <button
                          class="secondary"
                          type="submit"
                          aria-label={`${t("member_disable")} ${p.name}`}
                        >
                          {t("member_disable")}
                        </button>
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : (
        <p class="empty">{t("members_none")}</p>
      )}
      <h2>{t("members_pending")}</h2>
      {members.pending.length ? (
        <ul>
          {members.pending.map((i) => (
            <li>
              {i.name} · {roleName(i.role)} ·{" "}
              {t("invitation_expires", { at: formatInstant(i.expiresAt, c.var.lang) })}{" "}
              <Form c={c} action={`/members/invitations/${i.id}/revoke`} class="inline">
                <button class="link" type="submit" aria-label={`${t("invitation_revoke")} ${i.name}`}>
                  {t("invitation_revoke")}
                </button>
              </Form>
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">{t("members_no_pending")}</p>
      )}
    </Layout>,
  );
}

accountPages.get("/members", signedIn, (c) => membersPage(c));

accountPages.post("/members/invite", signedIn, async (c) => {
  const body = await formOf(c);
  const ctx = personContext(c);
  const name = field(body, "name").trim();
  if (!name) return membersPage(c);
  const role = field(body, "role") === "admin" ? "admin" : "member";
  const issued = await invite(ctx, ctx.principal.orgId ?? "", { name, role });
  const link = `${new URL(c.req.url).origin}/invitations/${issued.token}`;
  return membersPage(c, { name, link, expires: issued.row.expiresAt });
});

accountPages.post("/members/:personId/disable", signedIn, async (c) => {
  const ctx = personContext(c);
  await disableMember(ctx, ctx.principal.orgId ?? "", c.req.param("personId"));
  return c.redirect("/members", 303);
});

accountPages.post("/members/invitations/:id/revoke", signedIn, async (c) => {
  const ctx = personContext(c);
  await revokeInvitation(ctx, ctx.principal.orgId ?? "", c.req.param("id"));
  return c.redirect("/members", 303);
});
