/**
 * Household links: the issuers' pages (a property company or an enterprise lists the households
 * of its scope, issues a link shown once with its QR code, revokes links) and the residents' own
 * read-only page `/h/:token`, which needs no account.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import qrcode from "qrcode-generator";
import { formatMoney, money } from "../../../contracts/index.js";
import type { FeeItem } from "../../../contracts/terms.js";
import { limitByAddress } from "../../rate-limit.js";
import { outstandingOf } from "../../services/fees/store.js";
import {
  type HouseholdContract,
  type HouseholdPlace,
  type HouseholdView,
  issueLink,
  listIssuableHouseholds,
  listLinks,
  openLink,
  revokeLink,
} from "../../services/household-links.js";
import { formatDate, formatInstant, formatYuan } from "../format.js";
import { signedIn } from "../guards.js";
import { type Translate, translator } from "../i18n.js";
import { Form, Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { residents } from "./messages.js";

export const residentPages = new Hono<PortalEnv>();

type T = Translate<keyof (typeof residents)["zh-CN"]>;
const PAGE_SIZE = 50;

const tOf = (c: Context<PortalEnv>): T => translator(residents, c.var.lang);
const yuan = (d: Parameters<typeof formatMoney>[0]) => formatYuan(formatMoney(d));

function placeOf(t: T, h: Pick<HouseholdPlace, "buildingName" | "unit" | "room">) {
  return t("place", { building: h.buildingName, unit: h.unit, room: h.room });
}

// ---- issuers ----------------------------------------------------------------------------------

residentPages.get("/households", signedIn, async (c) => {
  const t = tOf(c);
  const q = (c.req.query("q") ?? "").slice(0, 100);
  const page = Math.max(1, Number.parseInt(c.req.query("page") ?? "1", 10) || 1);
  const { items, total } = await listIssuableHouseholds(personContext(c), {
    q,
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
  });
  const pageHref = (n: number) =>
    `/households?${new URLSearchParams({ ...(q ? { q } : {}), page: String(n) })}`;
  return c.html(
    <Layout c={c} title={t("households_title")} current="households">
      <p class="lead">{t("households_lead")}</p>
      <form method="get" action="/households" class="stack">
        <div>
          <label for="f-q">
            {t("search_label")}
            <span class="hint" id="f-q-hint">
              {t("search_hint")}
            </span>
          </label>
          <input id="f-q" name="q" type="search" value={q} aria-describedby="f-q-hint" />
        </div>
        <div>
          <button type="submit">{t("search_button")}</button>
        </div>
      </form>
      {items.length ? (
        <>
          <p>{t("households_count", { total })}</p>
          <section class="table-wrap" aria-label={t("households_title")} tabindex={0}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col_community")}</th>
                  <th scope="col">{t("col_building")}</th>
                  <th scope="col">{t("col_unit")}</th>
                  <th scope="col">{t("col_room")}</th>
                  <th scope="col" class="num">
                    {t("col_active_links")}
                  </th>
                  <th scope="col">{t("col_action")}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((h) => (
                  <tr>
                    <td>{h.communityName}</td>
                    <td>{h.buildingName}</td>
                    <td>{h.unit}</td>
                    <th scope="row">{h.room}</th>
                    <td class="num">{h.activeLinks}</td>
                    <td>
                      <a
                        href={`/households/${h.id}`}
                        aria-label={t("manage_links_of", { place: placeOf(t, h) })}
                      >
                        {t("manage_links")}
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          {total > PAGE_SIZE ? (
            <nav aria-label={t("pagination")} class="actions">
              {page > 1 ? <a href={pageHref(page - 1)}>{t("page_prev")}</a> : null}
              {page * PAGE_SIZE < total ? <a href={pageHref(page + 1)}>{t("page_next")}</a> : null}
            </nav>
          ) : null}
        </>
      ) : (
        <p class="empty">{q ? t("households_none_search", { q }) : t("households_none")}</p>
      )}
    </Layout>,
  );
});

/** A QR code of `text` as inline SVG (no script, no image request), labelled for screen readers. */
function QrCode({ text, label }: { text: string; label: string }) {
  const qr = qrcode(0, "M");
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const margin = 4;
  let d = "";
  for (let r = 0; r < n; r++) {
    for (let col = 0; col < n; col++) {
      if (qr.isDark(r, col)) d += `M${col + margin},${r + margin}h1v1h-1z`;
    }
  }
  const size = n + margin * 2;
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      class="chart"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${size} ${size}`}
      width="240"
      height="240"
      shape-rendering="crispEdges"
      data-testid="household-qr"
    >
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

async function householdPage(
  c: Context<PortalEnv>,
  householdId: string,
  notice?: { issued?: { link: string }; revoked?: boolean },
) {
  const t = tOf(c);
  const lang = c.var.lang;
  const { household, links } = await listLinks(personContext(c), householdId);
  const place = placeOf(t, household);
  return c.html(
    <Layout c={c} title={place} current="households" styles={["cards.css"]}>
      <p>
        <a href="/households">{t("back_to_households")}</a>
      </p>
      <dl class="facts">
        <dt>{t("col_community")}</dt>
        <dd>{household.communityName}</dd>
        <dt>{t("col_floor")}</dt>
        <dd>{household.floor}</dd>
      </dl>
      {notice?.issued ? (
        <div class="notice ok" role="status">
          <h2>{t("issued_title")}</h2>
          <p>{t("issued_once")}</p>
          <QrCode text={notice.issued.link} label={t("qr_label", { place })} />
          <p class="secret" data-testid="household-link">
            {notice.issued.link}
          </p>
        </div>
      ) : null}
      {notice?.revoked ? (
        <p class="notice ok" role="status">
          {t("revoked_notice")}
        </p>
      ) : null}
      <Form c={c} action={`/households/${household.id}/links`}>
        <p class="hint">{t("issue_hint")}</p>
        <div>
          <button type="submit">{t("issue_button")}</button>
        </div>
      </Form>
      <h2>{t("links_title")}</h2>
      {links.length ? (
        <section class="table-wrap" aria-label={t("links_title")} tabindex={0}>
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">{t("col_link")}</th>
                <th scope="col">{t("col_issued_by")}</th>
                <th scope="col">{t("col_issued_at")}</th>
                <th scope="col">{t("col_status")}</th>
                <th scope="col">{t("col_action")}</th>
              </tr>
            </thead>
            <tbody>
              {links.map(({ link, issuedBy }) => (
                <tr>
                  <th scope="row">
                    <code>{link.prefix}…</code>
                  </th>
                  <td data-label={t("col_issued_by")}>{issuedBy}</td>
                  <td data-label={t("col_issued_at")}>{formatInstant(link.createdAt, lang)}</td>
                  <td data-label={t("col_status")}>
                    {link.revokedAt ? (
                      t("link_revoked", { at: formatInstant(link.revokedAt, lang) })
                    ) : (
                      <span class="badge ok">{t("link_active")}</span>
                    )}
                  </td>
                  <td>
                    {link.revokedAt ? null : (
                      <Form
                        c={c}
                        action={`/households/${household.id}/links/${link.id}/revoke`}
                        class="inline"
                      >
                        <button
                          class="danger"
                          type="submit"
                          aria-label={t("revoke_label", { prefix: link.prefix })}
                        >
                          {t("revoke_button")}
                        </button>
                      </Form>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : (
        <p class="empty">{t("links_none")}</p>
      )}
    </Layout>,
  );
}

residentPages.get("/households/:id", signedIn, (c) =>
  householdPage(c, c.req.param("id"), { revoked: c.req.query("revoked") === "1" }),
);

residentPages.post("/households/:id/links", signedIn, async (c) => {
  const issued = await issueLink(personContext(c), c.req.param("id"));
  const link = `${new URL(c.req.url).origin}/h/${issued.token}`;
  return householdPage(c, issued.row.householdId, { issued: { link } });
});

residentPages.post("/households/:id/links/:linkId/revoke", signedIn, async (c) => {
  const row = await revokeLink(personContext(c), c.req.param("id"), c.req.param("linkId"));
  return c.redirect(`/households/${row.householdId}?revoked=1`, 303);
});

// ---- residents --------------------------------------------------------------------------------

/** The token is the key to the page: never cached, never sent on as a referrer (src/app.ts too). */
function privateHeaders(c: Context<PortalEnv>) {
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
}

// Anyone may ask for a link: counted by address, like every page a token opens.
residentPages.get("/h/:token", limitByAddress<PortalEnv>("address"), async (c) => {
  privateHeaders(c);
  const t = tOf(c);
  const view = await openLink({ db: c.var.db, clock: c.var.deps.clock }, c.req.param("token"));
  if (!view) {
    return c.html(
      <Layout c={c} title={t("link_gone_title")}>
        <p>{t("link_gone_body")}</p>
        <p>{t("link_gone_ask")}</p>
      </Layout>,
      404,
    );
  }
  return c.html(<HouseholdPage c={c} t={t} view={view} />);
});

function HouseholdPage({ c, t, view }: { c: Context<PortalEnv>; t: T; view: HouseholdView }) {
  const lang = c.var.lang;
  const { household } = view;
  const outstanding = view.contracts.reduce((sum, k) => sum.plus(k.statement.totals.outstanding), money("0"));
  return (
    <Layout c={c} title={placeOf(t, household)} styles={["cards.css"]}>
      <p class="lead">{t("resident_lead", { community: household.communityName })}</p>
      {view.contracts.length ? (
        <p class={outstanding.gt(0) ? "notice" : "notice ok"} data-testid="overall-outstanding">
          {outstanding.gt(0) ? (
            <>
              {t("overall_outstanding")}：<strong>{yuan(outstanding)}</strong>
            </>
          ) : (
            t("overall_settled")
          )}
        </p>
      ) : (
        <p class="empty">{t("resident_none")}</p>
      )}
      {view.contracts.map((k) => (
        <ContractSection t={t} lang={lang} contract={k} floor={household.floor} />
      ))}
      <p class="hint">{t("today_is", { date: formatDate(view.today, lang) })}</p>
    </Layout>
  );
}

function transferSentence(t: T, lang: PortalEnv["Variables"]["lang"], k: HouseholdContract): string {
  if (!k.transferDate || k.daysUntilTransfer === null) return t("transfer_unknown");
  const date = formatDate(k.transferDate, lang);
  if (k.transferred) return t("transfer_done", { date });
  if (k.daysUntilTransfer > 0)
    return t("transfer_future", { date, days: k.daysUntilTransfer.toLocaleString(lang) });
  if (k.daysUntilTransfer === 0) return t("transfer_today", { date });
  return t("transfer_overdue", { date, days: (-k.daysUntilTransfer).toLocaleString(lang) });
}

function priceOf(t: T, fee: FeeItem, floor: number): string {
  if (fee.floorPrices?.length) {
    const mine = fee.floorPrices.find((p) => p.floor === floor);
    return mine && money(mine.price).gt(0)
      ? t("price_your_floor", { price: formatYuan(formatMoney(money(mine.price))), floor })
      : t("price_free_floor", { floor });
  }
  return t("per_unit", { price: formatYuan(formatMoney(money(fee.price))), unit: t(`unit_${fee.unit}`) });
}

function ContractSection({
  t,
  lang,
  contract: k,
  floor,
}: {
  t: T;
  lang: PortalEnv["Variables"]["lang"];
  contract: HouseholdContract;
  floor: number;
}) {
  const s = k.statement;
  const feeName = new Map(k.fees.map((f) => [f.code, f.name]));
  return (
    <section class="card" aria-labelledby={`k-${k.id}`}>
      <h2 id={`k-${k.id}`}>{k.title}</h2>
      <dl class="facts">
        <dt>{t("fact_facility")}</dt>
        <dd>{k.facilities.map((f) => `${t(`facility_${f.kind}`)} ${f.name}`).join("、")}</dd>
        <dt>{t("fact_enterprise")}</dt>
        <dd>{k.enterpriseName}</dd>
        <dt>{t("fact_state")}</dt>
        <dd>{t(`state_${k.state}`)}</dd>
        {k.operationStartDate ? (
          <>
            <dt>{t("fact_operation_start")}</dt>
            <dd>{formatDate(k.operationStartDate, lang)}</dd>
          </>
        ) : null}
      </dl>
      <h3>{t("transfer_heading")}</h3>
      <p class="notice" data-testid="transfer">
        <strong>{transferSentence(t, lang, k)}</strong>
      </p>

      <h3>{t("subscriptions_title")}</h3>
      {s.subscriptions.length ? (
        <ul>
          {s.subscriptions.map((sub) => (
            <li>
              {t("subscription_line", {
                kind: t(`kind_${sub.kind}`),
                fee: feeName.get(sub.feeCode) ?? sub.feeCode,
                price: formatYuan(sub.unitPrice),
                from: formatDate(sub.startDate, lang),
              })}
              {sub.endDate ? t("subscription_until", { to: formatDate(sub.endDate, lang) }) : ""}{" "}
              <span class={sub.state === "suspended" ? "badge alert" : "badge"}>{t(`sub_${sub.state}`)}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">{t("subscriptions_none")}</p>
      )}

      <h3>{t("invoices_title")}</h3>
      {s.invoices.length ? (
        <section class="table-wrap" aria-label={t("invoices_title")} tabindex={0}>
          <table class="cards">
            <thead>
              <tr>
                <th scope="col">{t("col_period")}</th>
                <th scope="col">{t("col_invoice")}</th>
                <th scope="col">{t("col_due")}</th>
                <th scope="col" class="num">
                  {t("col_total")}
                </th>
                <th scope="col" class="num">
                  {t("col_paid")}
                </th>
                <th scope="col" class="num">
                  {t("col_outstanding")}
                </th>
              </tr>
            </thead>
            <tbody>
              {s.invoices.map((inv) => {
                const owed = outstandingOf(inv);
                return (
                  <tr>
                    <th scope="row">{inv.period}</th>
                    <td data-label={t("col_invoice")}>{inv.number}</td>
                    <td data-label={t("col_due")}>{formatDate(inv.dueDate, lang)}</td>
                    <td class="num" data-label={t("col_total")}>
                      {formatYuan(inv.total)}
                    </td>
                    <td class="num" data-label={t("col_paid")}>
                      {yuan(money(inv.total).minus(owed))}
                    </td>
                    <td class={owed.gt(0) ? "num fail" : "num"} data-label={t("col_outstanding")}>
                      {yuan(owed)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ) : (
        <p class="empty">{t("invoices_none")}</p>
      )}
      <dl class="facts" data-testid="totals">
        <dt>{t("total_invoiced")}</dt>
        <dd>{yuan(s.totals.invoiced)}</dd>
        <dt>{t("total_paid")}</dt>
        <dd>{yuan(s.totals.paid)}</dd>
        <dt>{t("total_outstanding")}</dt>
        <dd>
          <strong>{yuan(s.totals.outstanding)}</strong>
        </dd>
        {s.totals.creditAvailable.gt(0) ? (
          <>
            <dt>{t("total_credit")}</dt>
            <dd>{yuan(s.totals.creditAvailable)}</dd>
          </>
        ) : null}
      </dl>

      <h3>{t("fees_title")}</h3>
      <section class="table-wrap" aria-label={t("fees_title")} tabindex={0}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t("col_fee")}</th>
              <th scope="col">{t("col_fee_kind")}</th>
              <th scope="col">{t("col_price")}</th>
            </tr>
          </thead>
          <tbody>
            {k.fees.map((f) => (
              <tr>
                <th scope="row">{f.name}</th>
                <td>{t(`fee_${f.kind}`)}</td>
                <td>{priceOf(t, f, floor)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </section>
  );
}
