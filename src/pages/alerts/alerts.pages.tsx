/**
 * Alerts: where an organization's notifications go (its endpoints), their delivery log, test
 * pings and replays. Every decision is the notification service's (src/services/notifications/
 * endpoints.ts): only admins change, everyone of the organization reads; the page only hides the
 * forms a member could not use.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { isUuid } from "../../../contracts/ids.js";
import { DEFAULT_ESCALATION_MINUTES, maskUrl } from "../../../contracts/notification-delivery.js";
import {
  NOTIFICATION_CHANNELS,
  NOTIFICATION_TYPES,
  type NotificationChannel,
} from "../../../contracts/notifications.js";
import type { OrgKind } from "../../auth/principal.js";
import { ApiError, type FieldError } from "../../errors.js";
import {
  createEndpoint,
  deleteEndpoint,
  type EndpointWithRules,
  getEndpoint,
  listDeliveries,
  listEndpoints,
  type RuleInput,
  replayDelivery,
  type SubscribableType,
  testEndpoint,
  updateEndpoint,
} from "../../services/notifications/endpoints.js";
import { formatInstant } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { type Translate, translator } from "../i18n.js";
import { Field, Form, Layout, TableWrap } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { alerts } from "./messages.js";

type Ctx = Context<PortalEnv>;
type Words = Translate<keyof (typeof alerts)["zh-CN"]>;

export const alertPages = new Hono<PortalEnv>();
alertPages.use("/alerts", signedIn);
alertPages.use("/alerts/*", signedIn);

const SUBSCRIBABLE = NOTIFICATION_TYPES.filter((t): t is SubscribableType => t !== "test_ping");
const PAGE = { limit: 100, offset: 0 };

/** An id of the path: anything but a UUID is no endpoint (and never reaches the database). */
function idOf(c: Ctx, name = "id"): string {
  const id = c.req.param(name) ?? "";
  if (!isUuid(id)) throw ApiError.notFound("The notification endpoint");
  return id;
}

/** Whether to show the forms: the service decides (admin keys and admin people); this only hides them. */
function showsForms(c: Ctx): boolean {
  return c.var.session?.principal.keyRole === "admin";
}

function defaultMinutes(c: Ctx): number {
  const role = c.var.session?.principal.role as OrgKind;
  return DEFAULT_ESCALATION_MINUTES[role] ?? 15;
}

function typeWords(t: Words, type: string, afterMinutes: number | null): string {
  return t(`type_${type}` as Parameters<Words>[0], { minutes: afterMinutes ?? "—" });
}

interface AddValues {
  name: string;
  channel: NotificationChannel;
  url: string;
  types: SubscribableType[];
  minutes: string;
}

function EndpointCard({ c, e, t }: { c: Ctx; e: EndpointWithRules; t: Words }) {
  const admin = showsForms(c);
  return (
    <article class="card">
      <h3>{e.name}</h3>
      <dl class="facts">
        <dt>{t("channel")}</dt>
        <dd>{t(`channel_${e.channel}`)}</dd>
        <dt>{t("url")}</dt>
        <dd class="url" data-testid="masked-url">
          {maskUrl(e.url)}
        </dd>
        <dt>{t("status")}</dt>
        <dd>
          {e.disabledAt ? (
            <span class="badge alert">{t("disabled", { reason: e.disabledReason ?? "—" })}</span>
          ) : (
            <span class="badge ok">{t("enabled")}</span>
          )}
        </dd>
        <dt>{t("events")}</dt>
        <dd>
          {e.rules.length
            ? e.rules.map((r) => typeWords(t, r.type, r.afterMinutes)).join("、")
            : t("no_events")}
        </dd>
      </dl>
      <div class="actions">
        <a href={`/alerts/${e.id}`}>{`${t("log")}`}</a>
        {admin ? (
          <>
            {e.disabledAt ? null : (
              <Form c={c} action={`/alerts/${e.id}/test`} class="inline">
                <button class="secondary" type="submit" aria-label={`${t("test")} ${e.name}`}>
                  {t("test")}
                </button>
              </Form>
            )}
            <Form c={c} action={`/alerts/${e.id}/${e.disabledAt ? "enable" : "disable"}`} class="inline">
              <button
                class="secondary"
                type="submit"
                aria-label={`${t(e.disabledAt ? "enable" : "disable")} ${e.name}`}
              >
                {t(e.disabledAt ? "enable" : "disable")}
              </button>
            </Form>
            <a href={`/alerts/${e.id}/delete`} aria-label={`${t("delete")} ${e.name}`}>
              {t("delete")}
            </a>
          </>
        ) : null}
      </div>
    </article>
  );
}

function AddForm({
  c,
  t,
  values,
  errors,
}: {
  c: Ctx;
  t: Words;
  values?: AddValues;
  errors: Record<string, string>;
}) {
  const chosen = new Set<string>(values?.types ?? []);
  return (
    <section aria-labelledby="add-title">
      <h2 id="add-title">{t("add")}</h2>
      {Object.keys(errors).length ? (
        <p class="notice error" role="alert">
          {t("err_form")}
        </p>
      ) : null}
      <Form c={c} action="/alerts">
        <Field name="name" label={t("name")} value={values?.name} error={errors.name} required />
        <div>
          <label for="f-channel">{t("channel")}</label>
          <select id="f-channel" name="channel">
            {NOTIFICATION_CHANNELS.map((ch) => (
              <option value={ch} selected={values?.channel === ch}>
                {t(`channel_${ch}`)}
              </option>
            ))}
          </select>
        </div>
        <Field
          name="url"
          label={t("url")}
          type="url"
          value={values?.url}
          hint={t("url_hint")}
          error={errors.url}
          required
          autocomplete="off"
        />
        <Field
          name="secret"
          label={t("secret")}
          type="password"
          hint={t("secret_hint")}
          error={errors.secret}
          autocomplete="off"
        />
        <fieldset>
          <legend>{t("events")}</legend>
          {SUBSCRIBABLE.map((type) => (
            <label>
              <input type="checkbox" name={`type_${type}`} value="on" checked={chosen.has(type)} />{" "}
              {typeWords(
                t,
                type,
                type === "halt_unacknowledged" ? Number(values?.minutes) || defaultMinutes(c) : null,
              )}
            </label>
          ))}
        </fieldset>
        <Field
          name="after_minutes"
          label={t("minutes")}
          type="number"
          inputmode="numeric"
          min="1"
          step="1"
          value={values?.minutes ?? String(defaultMinutes(c))}
          hint={t("minutes_hint", { minutes: defaultMinutes(c) })}
          error={errors.after_minutes}
        />
        <div>
          <button type="submit">{t("add_button")}</button>
        </div>
      </Form>
    </section>
  );
}

async function listPage(
  c: Ctx,
  opts: { values?: AddValues; errors?: Record<string, string>; added?: string } = {},
  status: 200 | 400 = 200,
) {
  const t = translator(alerts, c.var.lang);
  const ctx = personContext(c);
  const { items } = await listEndpoints(ctx, PAGE);
  const admin = showsForms(c);
  return c.html(
    <Layout c={c} title={t("title")} current="alerts">
      <p class="lead">{t("lead")}</p>
      {admin ? null : <p>{t("lead_member")}</p>}
      {opts.added ? (
        <p class="notice ok" role="status">
          {t("added", { name: opts.added })}
        </p>
      ) : null}
      <h2>{t("list")}</h2>
      {items.length ? items.map((e) => <EndpointCard c={c} e={e} t={t} />) : <p class="empty">{t("none")}</p>}
      {admin ? <AddForm c={c} t={t} values={opts.values} errors={opts.errors ?? {}} /> : null}
    </Layout>,
    status,
  );
}

alertPages.get("/alerts", (c) => {
  const added = c.req.query("added");
  return listPage(c, added ? { added } : {});
});

/** The service's refusals of fields, in the form's words. */
function formErrors(t: Words, errors: FieldError[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of errors) {
    if (e.field.endsWith(".url")) out.url = t("err_url");
    else if (e.field.endsWith(".secret")) out.secret = t("err_secret");
    else if (e.field.endsWith(".afterSeconds")) out.after_minutes = t("err_minutes");
    else if (e.field.endsWith(".name")) out.name = t("err_name");
    else out.name ??= t("err_form");
  }
  return out;
}

alertPages.post("/alerts", async (c) => {
  const t = translator(alerts, c.var.lang);
  const body = await formOf(c);
  const channelField = field(body, "channel");
  const values: AddValues = {
    name: field(body, "name").trim(),
    channel: (NOTIFICATION_CHANNELS as readonly string[]).includes(channelField)
      ? (channelField as NotificationChannel)
      : "webhook",
    url: field(body, "url").trim(),
    types: SUBSCRIBABLE.filter((type) => field(body, `type_${type}`) === "on"),
    minutes: field(body, "after_minutes").trim(),
  };
  // The form's shape (what the API's schema checks); the rules are the service's.
  const errors: Record<string, string> = {};
  if (!values.name || values.name.length > 100) errors.name = t("err_name");
  const minutes = Number(values.minutes);
  const withMinutes = values.types.includes("halt_unacknowledged");
  if (withMinutes && values.minutes && !(Number.isInteger(minutes) && minutes >= 1 && minutes <= 1440)) {
    errors.after_minutes = t("err_minutes");
  }
  if (Object.keys(errors).length) return listPage(c, { values, errors }, 400);
  const secret = field(body, "secret").trim();
  const rules: RuleInput[] = values.types.map((type) =>
    // The form asks people for minutes; the service takes the API's seconds.
    type === "halt_unacknowledged" && values.minutes ? { type, afterSeconds: minutes * 60 } : { type },
  );
  try {
    const created = await createEndpoint(personContext(c), {
      name: values.name,
      channel: values.channel,
      url: values.url,
      ...(secret ? { secret } : {}),
      rules,
    });
    if (!created.secret) {
      return c.redirect(`/alerts?added=${encodeURIComponent(created.endpoint.name)}`, 303);
    }
    // A webhook's signing secret: in this page's body once, never in a URL, never stored readable.
    c.header("Cache-Control", "no-store");
    return c.html(
      <Layout c={c} title={t("added", { name: created.endpoint.name })} current="alerts">
        <div class="notice ok" role="status">
          <h2>{t("secret_title")}</h2>
          <p class="secret" data-testid="webhook-secret">
            {created.secret}
          </p>
          <p>{t("secret_body")}</p>
        </div>
        <p>
          <a href="/alerts">{t("back")}</a>
        </p>
      </Layout>,
    );
  } catch (err) {
    if (err instanceof ApiError && err.code === "validation_failed") {
      const fields = (err.extra.errors as FieldError[] | undefined) ?? [];
      return listPage(c, { values, errors: formErrors(t, fields) }, 400);
    }
    throw err;
  }
});

alertPages.post("/alerts/:id/test", async (c) => {
  const id = idOf(c);
  await testEndpoint(personContext(c), id);
  return c.redirect(`/alerts/${id}?tested=1`, 303);
});

alertPages.post("/alerts/:id/disable", async (c) => {
  await updateEndpoint(personContext(c), idOf(c), { enabled: false });
  return c.redirect("/alerts", 303);
});

alertPages.post("/alerts/:id/enable", async (c) => {
  await updateEndpoint(personContext(c), idOf(c), { enabled: true });
  return c.redirect("/alerts", 303);
});

alertPages.get("/alerts/:id/delete", async (c) => {
  const t = translator(alerts, c.var.lang);
  const endpoint = await getEndpoint(personContext(c), idOf(c));
  return c.html(
    <Layout c={c} title={t("delete_title", { name: endpoint.name })} current="alerts">
      <p>{t("delete_body")}</p>
      {showsForms(c) ? (
        <Form c={c} action={`/alerts/${endpoint.id}/delete`} class="actions">
          <button class="danger" type="submit">
            {t("delete_confirm")}
          </button>
          <a href="/alerts">{t("cancel")}</a>
        </Form>
      ) : (
        <p>{t("lead_member")}</p>
      )}
    </Layout>,
  );
});

alertPages.post("/alerts/:id/delete", async (c) => {
  await deleteEndpoint(personContext(c), idOf(c));
  return c.redirect("/alerts", 303);
});

alertPages.post("/alerts/:id/deliveries/:deliveryId/replay", async (c) => {
  const id = idOf(c);
  await replayDelivery(personContext(c), id, idOf(c, "deliveryId"));
  return c.redirect(`/alerts/${id}`, 303);
});

alertPages.get("/alerts/:id", async (c) => {
  const t = translator(alerts, c.var.lang);
  const ctx = personContext(c);
  const id = idOf(c);
  const endpoint = await getEndpoint(ctx, id);
  const { items } = await listDeliveries(ctx, id, { limit: 50, offset: 0 });
  const admin = showsForms(c);
  return c.html(
    <Layout c={c} title={t("log_title", { name: endpoint.name })} current="alerts">
      {c.req.query("tested") ? (
        <p class="notice ok" role="status">
          {t("tested")}
        </p>
      ) : null}
      <p>
        {t(`channel_${endpoint.channel}`)} · <span class="url">{maskUrl(endpoint.url)}</span>
      </p>
      {items.length ? (
        <TableWrap label={t("log")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("when")}</th>
                <th scope="col">{t("event")}</th>
                <th scope="col">{t("state")}</th>
                <th scope="col">{t("attempts")}</th>
                <th scope="col">{t("last_error")}</th>
                {admin ? (
                  <th scope="col">
                    <span class="visually-hidden">{t("replay")}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {items.map((d) => (
                <tr data-testid="delivery">
                  <td>{formatInstant(d.createdAt, c.var.lang)}</td>
                  <td>
                    {typeWords(t, d.type, (d.payload as { afterMinutes?: number }).afterMinutes ?? null)}
                  </td>
                  <td>{t(`state_${d.state}`)}</td>
                  <td>{d.attempts}</td>
                  <td lang="en">{d.lastError ?? "—"}</td>
                  {admin ? (
                    <td>
                      {d.state === "pending" ? null : (
                        <Form c={c} action={`/alerts/${id}/deliveries/${d.id}/replay`} class="inline">
                          <button class="secondary" type="submit">
                            {t("replay")}
                          </button>
                        </Form>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : (
        <p class="empty">{t("log_none")}</p>
      )}
      <p>
        <a href="/alerts">{t("back")}</a>
      </p>
    </Layout>,
  );
});
