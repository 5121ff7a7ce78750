/**
 * The street office's dashboard: the street at a glance. Progress against the targets, contracts
 * by state, transfers due, e-bike incidents per week, arrears and collection rate by community.
 *
 * Who may read it is the command table's (`read_street_dashboard`, asked by the dashboard service
 * before anything else is read): any other role gets the 403 page.
 */
import { Decimal } from "decimal.js";
import { Hono } from "hono";
import { CONTRACT_STATES, formatMoney } from "../../../contracts/index.js";
import { ApiError } from "../../errors.js";
import { type AgainstTarget, streetDashboard } from "../../services/dashboard.js";
import { BarChart, HorizontalBarChart, ProgressBar } from "../charts.js";
import { formatDate, formatYuan } from "../format.js";
import { signedIn } from "../guards.js";
import { type Lang, type Translate, translator } from "../i18n.js";
import { Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { arrearsByCommunity, communitiesOf, incidentWeeks } from "./figures.js";
import { dashboardMessages } from "./messages.js";

export const dashboardPages = new Hono<PortalEnv>();

/** Transfers shown in the table: those due within this many days (and the overdue ones). */
export const TRANSFER_HORIZON_DAYS = 90;
/** Weeks of incidents in the charts. */
export const INCIDENT_WEEKS = 12;

type T = Translate<keyof (typeof dashboardMessages)["zh-CN"]>;

/** A rate (0.1234) as a percentage with one place: "12.3%". */
export function percent(rate: Decimal.Value): string {
  return `${new Decimal(rate).times(100).toFixed(1, Decimal.ROUND_HALF_UP)}%`;
}

/** "11/3": a date short enough to stand under a bar. */
function monthDay(date: string): string {
  const [, m, d] = date.split("-").map(Number);
  return `${m}/${d}`;
}

function Progress({
  id,
  t,
  p,
  unit,
  title,
}: {
  id: string;
  t: T;
  p: AgainstTarget;
  unit: (n: number) => string;
  title: string;
}) {
  return (
    <>
      <ProgressBar
        id={id}
        title={title}
        desc={t("progress_desc", { done: unit(p.retrofitted), total: unit(p.total), target: unit(p.target) })}
        done={p.retrofitted}
        total={p.total}
        target={p.target}
        words={{
          done: t("progress_done", { n: unit(p.retrofitted) }),
          total: t("progress_total", { n: unit(p.total) }),
          target: t("progress_target", { n: unit(p.target) }),
        }}
        empty={t("progress_empty")}
        table={{ summary: t("progress_table"), label: t("progress_what"), value: t("progress_count") }}
      />
      <p data-testid={`${id}-sentence`}>
        {t("progress_sentence", {
          done: unit(p.retrofitted),
          total: unit(p.total),
          target: unit(p.target),
          gap: p.toTarget > 0 ? t("progress_gap", { n: unit(p.toTarget) }) : t("progress_reached"),
        })}{" "}
        {t("progress_pipeline", {
          building: unit(p.underConstruction),
          planned: unit(p.planned),
          gone: unit(p.decommissioned),
        })}
      </p>
    </>
  );
}

function daysWords(t: T, days: number): string {
  if (days > 0) return t("days_left", { n: days });
  if (days === 0) return t("days_today");
  return t("days_overdue", { n: -days });
}

dashboardPages.get("/dashboard", signedIn, async (c) => {
  const lang: Lang = c.var.lang;
  const t: T = translator(dashboardMessages, lang);
  const ctx = personContext(c);
  const streetId = ctx.principal.streetId;
  if (!streetId) throw ApiError.notFound("The street");
  // First: the service asks the command table whether this person may read the dashboard.
  const d = await streetDashboard(ctx, streetId);
  const [weeks, communities, arrears] = await Promise.all([
    incidentWeeks(ctx, d.today, INCIDENT_WEEKS),
    communitiesOf(ctx, d.streetId),
    arrearsByCommunity(ctx),
  ]);
  const communityName = new Map(communities.map((x) => [x.id, x.name]));

  const garages = (n: number) => t("unit_garage", { n });
  const elevators = (n: number) => t("unit_elevator", { n });
  const times = (v: string) => t("unit_times", { n: v });
  const minutes = (v: string) => t("unit_minutes", { n: v });
  const { garages: g, elevators: e } = d.facilities;

  const contractTotal = CONTRACT_STATES.reduce((n, s) => n + d.contractsByState[s], 0);
  const byState = contractTotal
    ? CONTRACT_STATES.map((s) => ({ label: t(`state_${s}`), value: d.contractsByState[s] }))
    : [];

  const soon = d.transfersDue.items.filter((x) => x.daysUntilTransfer <= TRANSFER_HORIZON_DAYS);
  const later = d.transfersDue.items.length - soon.length;

  const weekLabel = (w: { from: string; to: string }) =>
    t("week_of", { from: formatDate(w.from, lang), to: formatDate(w.to, lang) });
  const incidentsTotal = weeks.weeks.reduce((n, w) => n + w.incidents, 0);
  // Nothing to draw only when no elevator has a sensor and none reported (a revoked sensor's
  // incidents still count).
  const weekly = weeks.elevators || incidentsTotal ? weeks.weeks : [];
  const minutesTotal = weeks.weeks.reduce((n, w) => n.plus(w.haltMinutes), new Decimal(0)).toFixed(2);
  const firstWeek = weeks.weeks[0];
  const lastWeek = weeks.weeks[weeks.weeks.length - 1];

  const inc = d.incidents;
  return c.html(
    <Layout c={c} title={t("title", { street: d.streetName })} current="dashboard" styles={["charts.css"]}>
      <p class="lead">{t("lead", { today: formatDate(d.today, lang) })}</p>

      <section aria-labelledby="progress-heading">
        <h2 id="progress-heading">{t("progress_heading")}</h2>
        <div class="grid">
          <div class="card">
            <h3>{t("garages_heading")}</h3>
            <Progress id="garages" t={t} p={g} unit={garages} title={t("garages_chart")} />
            <p data-testid="garages-by-size">
              {t("garages_by_size", {
                largeDone: garages(g.bySize.large.retrofitted),
                largeTotal: garages(g.bySize.large.total),
                miniDone: garages(g.bySize.mini.retrofitted),
                miniTotal: garages(g.bySize.mini.total),
              })}
            </p>
          </div>
          <div class="card">
            <h3>{t("elevators_heading")}</h3>
            <Progress id="elevators" t={t} p={e} unit={elevators} title={t("elevators_chart")} />
          </div>
          <div class="card">
            <h3>{t("funds_heading")}</h3>
            <dl class="facts" data-testid="funds">
              <dt>{t("funds_committed")}</dt>
              <dd>{formatYuan(d.guidanceFunds.committed)}</dd>
              <dt>{t("funds_paid")}</dt>
              <dd>{formatYuan(d.guidanceFunds.paid)}</dd>
              <dt>{t("funds_remaining")}</dt>
              <dd>{formatYuan(d.guidanceFunds.remaining)}</dd>
            </dl>
          </div>
        </div>
      </section>

      <section aria-labelledby="contracts-heading">
        <h2 id="contracts-heading">{t("contracts_heading")}</h2>
        <div class="card">
          <HorizontalBarChart
            id="contracts-by-state"
            title={t("contracts_chart")}
            desc={t("contracts_desc", { n: contractTotal })}
            data={byState}
            empty={t("contracts_empty")}
            format={(v) => t("unit_contract", { n: v })}
            table={{
              summary: t("contracts_table"),
              label: t("contracts_state"),
              value: t("contracts_count"),
            }}
          />
        </div>
      </section>

      <section aria-labelledby="transfers-heading">
        <h2 id="transfers-heading">{t("transfers_heading", { days: TRANSFER_HORIZON_DAYS })}</h2>
        {soon.length ? (
          <>
            <p>{t("transfers_lead", { days: TRANSFER_HORIZON_DAYS })}</p>
            <section class="table-wrap" tabindex={0} aria-labelledby="transfers-heading">
              <table data-testid="transfers">
                <thead>
                  <tr>
                    <th scope="col">{t("transfers_contract")}</th>
                    <th scope="col">{t("transfers_community")}</th>
                    <th scope="col">{t("transfers_date")}</th>
                    <th scope="col">{t("transfers_left")}</th>
                  </tr>
                </thead>
                <tbody>
                  {soon.map((x) => (
                    <tr>
                      <th scope="row">
                        <a href={`/contracts/${x.contractId}`}>{x.title}</a>
                      </th>
                      <td>{communityName.get(x.communityId) ?? t("other_community")}</td>
                      <td>{formatDate(x.transferDate, lang)}</td>
                      <td class={x.overdue ? "nowrap fail" : "nowrap"}>
                        {daysWords(t, x.daysUntilTransfer)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          </>
        ) : (
          <p class="empty">{t("transfers_empty", { days: TRANSFER_HORIZON_DAYS })}</p>
        )}
        {later > 0 ? <p>{t("transfers_later", { n: later })}</p> : null}
      </section>

      <section aria-labelledby="incidents-heading">
        <h2 id="incidents-heading">{t("incidents_heading")}</h2>
        <p data-testid="incidents-summary">
          {t("incidents_lead", {
            elevators: elevators(inc.monitoredElevators),
            incidents: times(String(inc.ebikeIncidents)),
            halts: times(String(inc.halts)),
          })}{" "}
          {inc.falseAlarmRate === null
            ? t("incidents_unclassified")
            : t("incidents_false", {
                rate: percent(inc.falseAlarmRate),
                falseAlarms: inc.falseAlarms,
                classified: inc.classified,
              })}
        </p>
        <div class="grid">
          <div class="card">
            <BarChart
              id="incidents-weekly"
              title={t("incidents_weekly_chart", { weeks: INCIDENT_WEEKS })}
              desc={t("incidents_weekly_desc", {
                weeks: INCIDENT_WEEKS,
                n: times(String(incidentsTotal)),
                from: firstWeek ? formatDate(firstWeek.from, lang) : "",
                to: lastWeek ? formatDate(lastWeek.to, lang) : "",
              })}
              data={weekly.map((w) => ({ label: weekLabel(w), tick: monthDay(w.from), value: w.incidents }))}
              empty={t("incidents_empty")}
              format={times}
              short={(v) => v}
              table={{ summary: t("incidents_table"), label: t("week"), value: t("incidents_count") }}
            />
          </div>
          <div class="card">
            <BarChart
              id="halts-weekly"
              title={t("halts_weekly_chart", { weeks: INCIDENT_WEEKS })}
              desc={t("halts_weekly_desc", { weeks: INCIDENT_WEEKS, n: minutes(minutesTotal) })}
              data={weekly.map((w) => ({
                label: weekLabel(w),
                tick: monthDay(w.from),
                value: w.haltMinutes,
              }))}
              empty={t("incidents_empty")}
              format={minutes}
              short={(v) => new Decimal(v).toFixed(0, Decimal.ROUND_HALF_UP)}
              table={{ summary: t("incidents_table"), label: t("week"), value: t("halt_minutes") }}
            />
          </div>
        </div>
      </section>

      <section aria-labelledby="arrears-heading">
        <h2 id="arrears-heading">{t("arrears_heading")}</h2>
        <p data-testid="arrears-summary">
          {t("arrears_lead", {
            outstanding: formatYuan(d.receivables.outstanding),
            overdue: formatYuan(d.receivables.overdue),
            invoices: d.receivables.invoicesOverdue,
          })}
        </p>
        {arrears.length ? (
          <>
            <section class="table-wrap" tabindex={0} aria-labelledby="arrears-heading">
              <table data-testid="arrears">
                <thead>
                  <tr>
                    <th scope="col">{t("arrears_community")}</th>
                    <th scope="col" class="num">
                      {t("arrears_billed")}
                    </th>
                    <th scope="col" class="num">
                      {t("arrears_collected")}
                    </th>
                    <th scope="col" class="num">
                      {t("arrears_outstanding")}
                    </th>
                    <th scope="col" class="num">
                      {t("arrears_overdue")}
                    </th>
                    <th scope="col" class="num">
                      {t("arrears_rate")}
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {arrears.map((a) => (
                    <tr data-community={a.communityId}>
                      <th scope="row">{a.name || t("other_community")}</th>
                      <td class="num">{formatYuan(formatMoney(a.billed))}</td>
                      <td class="num">{formatYuan(formatMoney(a.collected))}</td>
                      <td class="num">{formatYuan(formatMoney(a.outstanding))}</td>
                      <td class={a.overdue.isZero() ? "num" : "num fail"}>
                        {formatYuan(formatMoney(a.overdue))}
                      </td>
                      <td class="num">
                        {a.collectionRate ? percent(a.collectionRate) : t("arrears_rate_none")}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            <p class="hint">{t("arrears_hint")}</p>
            <div class="card">
              <HorizontalBarChart
                id="arrears-by-community"
                title={t("arrears_chart")}
                desc={t("arrears_desc")}
                data={arrears.map((a) => ({
                  label: a.name || t("other_community"),
                  value: formatMoney(a.overdue),
                }))}
                empty={t("arrears_empty")}
                format={formatYuan}
                table={{
                  summary: t("arrears_table"),
                  label: t("arrears_community"),
                  value: t("arrears_overdue"),
                }}
              />
            </div>
          </>
        ) : (
          <p class="empty">{t("arrears_empty")}</p>
        )}
      </section>
    </Layout>,
  );
});
