/**
 * Operation reports: the enterprise files a month's report with the platform's own figures
 * prefilled; the owners committee reads each report beside the platform's figures (differences
 * beyond tolerance marked) and accepts or queries it. The review buttons are offered only where
 * the command table gives the person's party `review_report` and the report's status allows it.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { isUuid } from "../../../contracts/ids.js";
import {
  addPeriods,
  COMMAND_PARTIES,
  decideReportReview,
  type FeeItem,
  periodOf,
  shanghaiDate,
} from "../../../contracts/index.js";
import { ApiError, type FieldError } from "../../errors.js";
import { getContract, listContracts } from "../../services/contracts/reads.js";
import { partyOf } from "../../services/contracts/store.js";
import { Figures, type ReportFigures } from "../../services/reports/figures.js";
import {
  acceptReport,
  fileReport,
  listReportComments,
  listReports,
  queryReport,
  reportDetailOf,
  reviseReport,
} from "../../services/reports/reports.js";
import type { ComparedOut } from "../../services/reports/store.js";
import { formatDate, formatInstant, formatYuan } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { type Translate, translator } from "../i18n.js";
import { Field, Form, Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { reportWords } from "./messages.js";
import { platformFiguresFor } from "./platform.js";

export const reportPages = new Hono<PortalEnv>();

type Key = keyof (typeof reportWords)["zh-CN"];
type T = Translate<Key>;
const tOf = (c: Context<PortalEnv>): T => translator(reportWords, c.var.lang);
const MONTH_RE = /^\d{4}-(0[1-9]|1[0-2])$/;
/** A malformed id in a path or a query is a page that does not exist (not a database error). */
function requireId(id: string): string {
  if (!isUuid(id)) throw ApiError.notFound("The page");
  return id;
}

// ---- the list ---------------------------------------------------------------------------------

reportPages.get("/reports", signedIn, async (c) => {
  const t = tOf(c);
  const ctx = personContext(c);
  const lang = c.var.lang;
  const [operating, transferred] = await Promise.all([
    listContracts(ctx, { limit: 100, offset: 0, state: "operating" }),
    listContracts(ctx, { limit: 100, offset: 0, state: "transferred" }),
  ]);
  const contracts = [...operating.items, ...transferred.items];
  const rows = await Promise.all(
    contracts.map(async (k) => ({
      contract: k,
      reports: (await listReports(ctx, k.id, { includeSuperseded: false })).items,
      canFile: (await getContract(ctx, k.id)).allowedActions.includes("file_report"),
    })),
  );
  return c.html(
    <Layout c={c} title={t("reports_title")} current="reports">
      <p class="lead">{t("reports_lead")}</p>
      {rows.length ? null : <p class="empty">{t("reports_no_contracts")}</p>}
      {rows.map(({ contract, reports, canFile }) => (
        <section class="card" aria-labelledby={`k-${contract.id}`}>
          <h2 id={`k-${contract.id}`}>{contract.title}</h2>
          {canFile ? (
            <p>
              <a
                class="button"
                href={`/reports/new?contract=${contract.id}`}
                aria-label={t("file_for", { title: contract.title })}
              >
                {t("file_button")}
              </a>
            </p>
          ) : null}
          {reports.length ? (
            <section class="table-wrap" aria-label={contract.title} tabindex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t("col_period")}</th>
                    <th scope="col">{t("col_version")}</th>
                    <th scope="col">{t("col_status")}</th>
                    <th scope="col">{t("col_filed")}</th>
                    <th scope="col">{t("col_open")}</th>
                  </tr>
                </thead>
                <tbody>
                  {reports.map((r) => (
                    <tr>
                      <th scope="row">{r.period}</th>
                      <td>{t("version_no", { n: r.versionNo })}</td>
                      <td>
                        <StatusBadge t={t} status={r.status} />
                      </td>
                      <td>{formatInstant(r.createdAt, lang)}</td>
                      <td>
                        <a href={`/reports/${r.id}`} aria-label={t("open_report", { period: r.period })}>
                          {t("col_open")}
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
          ) : (
            <p class="empty">{t("reports_none")}</p>
          )}
        </section>
      ))}
    </Layout>,
  );
});

function StatusBadge({ t, status }: { t: T; status: "submitted" | "accepted" | "queried" | "superseded" }) {
  const cls = status === "accepted" ? "badge ok" : status === "queried" ? "badge alert" : "badge";
  return <span class={cls}>{t(`status_${status}`)}</span>;
}

// ---- filing -----------------------------------------------------------------------------------

/** The form's values as typed (strings), keyed by input name. */
type Values = Record<string, string>;

const COSTS = ["maintenance", "electricity", "insurance", "other"] as const;

/** The input a figure's path (zod's, or the service's `body.figures.…` field) belongs to. */
function inputOf(path: readonly (string | number)[]): string {
  const [head, second] = path;
  switch (head) {
    case "revenueByItem":
      return `rev_${String(second)}`;
    case "costs":
      return `cost_${String(second)}`;
    case "usage":
      return String(second);
    case "maintenanceRecords":
      return "maintenance";
    case "period":
      return "period";
    default:
      return String(head);
  }
}

function errorWord(t: T, input: string, serviceMessage?: string): string {
  if (input === "period") return t("error_period");
  if (input === "maintenance") return t("error_maintenance");
  if (input.startsWith("rev_")) {
    return serviceMessage?.includes("fee code") ? t("error_fee_code") : t("error_money");
  }
  if (input.startsWith("cost_")) return t("error_money");
  if (input === "kWh") return t("error_kwh");
  if (input === "availabilityPercent") return t("error_percent");
  return t("error_count");
}

/** Maintenance records typed one a line ("2026-11-03 月度保养"); a line that is not one stays as typed. */
function maintenanceOf(text: string): unknown[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = /^(\S+)\s+(.+)$/.exec(line);
      return m ? { date: m[1], description: m[2] } : { date: line, description: "" };
    });
}

/** The figures object the API's schema reads, from the form (numbers where the schema wants them). */
function figuresInput(values: Values, schedule: FeeItem[]): unknown {
  const count = (v: string | undefined) => (/^\d{1,10}$/.test(v ?? "") ? Number(v) : v);
  return {
    revenueByItem: Object.fromEntries(schedule.map((f) => [f.code, values[`rev_${f.code}`] ?? ""])),
    costs: Object.fromEntries(COSTS.map((k) => [k, values[`cost_${k}`] ?? ""])),
    usage: {
      rides: count(values.rides),
      kWh: values.kWh ?? "",
      chargingSessions: count(values.chargingSessions),
    },
    availabilityPercent: values.availabilityPercent ?? "",
    maintenanceRecords: maintenanceOf(values.maintenance ?? ""),
    safetyIncidents: count(values.safetyIncidents),
  };
}

async function newReportPage(
  c: Context<PortalEnv>,
  contractId: string,
  period: string,
  typed?: Values,
  errors: Record<string, string> = {},
  /** Answering a query: the queried version (the caller checked the table allows it). */
  revise?: { reportId: string },
) {
  requireId(contractId);
  const t = tOf(c);
  const ctx = personContext(c);
  const detail = await getContract(ctx, contractId);
  if (!revise && !detail.allowedActions.includes("file_report")) throw ApiError.forbidden(t("cannot_file"));
  const prefill = await platformFiguresFor(ctx, contractId, period);
  if (!prefill) return c.notFound();
  const { platform, schedule } = prefill;
  // Prefilled from the platform's records; costs, availability and maintenance are the operator's.
  const values: Values = typed ?? {
    ...Object.fromEntries(schedule.map((f) => [`rev_${f.code}`, platform.invoicedByItem[f.code] ?? "0.00"])),
    rides: String(Number.parseInt(platform.usage.rides, 10) || 0),
    kWh: platform.usage.kWh,
    chargingSessions: String(platform.usage.chargingSessions),
    safetyIncidents: String(platform.monitored ? platform.ebikeIncidents - platform.falseAlarms : 0),
  };
  const says = (value: string) => t("platform_says", { value });
  const errorCount = Object.keys(errors).length;
  const action = revise
    ? `/reports/${revise.reportId}/revise`
    : `/reports/new?contract=${encodeURIComponent(contractId)}`;
  return c.html(
    <Layout c={c} title={revise ? t("revise_title", { period }) : t("new_title")} current="reports">
      <p class="lead">{revise ? t("revise_lead") : t("new_lead")}</p>
      <dl class="facts">
        <dt>{t("contract")}</dt>
        <dd>{detail.contract.title}</dd>
      </dl>
      <form method="get" action="/reports/new" class="stack" hidden={revise ? true : undefined}>
        <input type="hidden" name="contract" value={contractId} />
        <Field
          name="period"
          label={t("period")}
          type="month"
          value={period}
          hint={t("period_hint")}
          error={errors.period}
          required
        />
        <div>
          <button type="submit" class="secondary">
            {t("change_period")}
          </button>
        </div>
      </form>
      {errorCount ? (
        <p class="notice error" role="alert">
          {t("error_summary", { n: errorCount })}
        </p>
      ) : null}
      <Form c={c} action={action}>
        <input type="hidden" name="period" value={period} />
        <h2>{t("section_revenue")}</h2>
        {schedule.map((f) => (
          <Field
            name={`rev_${f.code}`}
            label={t("revenue_item", { name: f.name, code: f.code })}
            value={values[`rev_${f.code}`]}
            hint={says(formatYuan(platform.invoicedByItem[f.code] ?? "0.00"))}
            error={errors[`rev_${f.code}`]}
            inputmode="decimal"
            required
          />
        ))}
        <h2>{t("section_costs")}</h2>
        {COSTS.map((k) => (
          <Field
            name={`cost_${k}`}
            label={t(`cost_${k}`)}
            value={values[`cost_${k}`]}
            hint={t("platform_none")}
            error={errors[`cost_${k}`]}
            inputmode="decimal"
            required
          />
        ))}
        <h2>{t("section_usage")}</h2>
        <Field
          name="rides"
          label={t("rides")}
          value={values.rides}
          hint={says(platform.usage.rides)}
          error={errors.rides}
          inputmode="numeric"
          required
        />
        <Field
          name="kWh"
          label={t("kWh")}
          value={values.kWh}
          hint={says(platform.usage.kWh)}
          error={errors.kWh}
          inputmode="decimal"
          required
        />
        <Field
          name="chargingSessions"
          label={t("chargingSessions")}
          value={values.chargingSessions}
          hint={says(String(platform.usage.chargingSessions))}
          error={errors.chargingSessions}
          inputmode="numeric"
          required
        />
        <Field
          name="availabilityPercent"
          label={t("availabilityPercent")}
          value={values.availabilityPercent}
          hint={t("platform_none")}
          error={errors.availabilityPercent}
          inputmode="decimal"
          required
        />
        <Field
          name="safetyIncidents"
          label={t("safetyIncidents")}
          value={values.safetyIncidents}
          hint={
            platform.monitored
              ? says(String(platform.ebikeIncidents - platform.falseAlarms))
              : t("platform_none")
          }
          error={errors.safetyIncidents}
          inputmode="numeric"
          required
        />
        <div>
          <label for="f-maintenance">
            {t("maintenance")}
            <span class="hint" id="f-maintenance-hint">
              {t("maintenance_hint")}
            </span>
          </label>
          <textarea
            id="f-maintenance"
            name="maintenance"
            rows={4}
            aria-describedby={
              errors.maintenance ? "f-maintenance-hint f-maintenance-error" : "f-maintenance-hint"
            }
            aria-invalid={errors.maintenance ? "true" : undefined}
          >
            {values.maintenance ?? ""}
          </textarea>
          {errors.maintenance ? (
            <p class="fail" id="f-maintenance-error">
              {errors.maintenance}
            </p>
          ) : null}
        </div>
        {revise ? (
          <div>
            <label for="f-comment">{t("revise_comment")}</label>
            <textarea id="f-comment" name="comment" rows={3} maxlength={4000}>
              {values.comment ?? ""}
            </textarea>
          </div>
        ) : null}
        <div>
          <button type="submit">{revise ? t("resubmit") : t("submit_report")}</button>
        </div>
      </Form>
    </Layout>,
    errorCount ? 400 : 200,
  );
}

reportPages.get("/reports/new", signedIn, (c) => {
  const contractId = c.req.query("contract") ?? "";
  const asked = c.req.query("period") ?? "";
  const lastMonth = addPeriods(periodOf(shanghaiDate(c.var.deps.clock())), -1);
  return newReportPage(c, contractId, MONTH_RE.test(asked) ? asked : lastMonth);
});

reportPages.post("/reports/new", signedIn, async (c) => {
  const t = tOf(c);
  const ctx = personContext(c);
  const contractId = requireId(c.req.query("contract") ?? "");
  const body = await formOf(c);
  const values: Values = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string" && k !== "_csrf") values[k] = v.trim();
  const period = field(body, "period");
  if (!MONTH_RE.test(period))
    return newReportPage(c, contractId, period, values, { period: t("error_period") });
  const checked = await checkFigures(c, contractId, period, values);
  if ("errors" in checked) return newReportPage(c, contractId, period, values, checked.errors);
  let filed: Awaited<ReturnType<typeof fileReport>>;
  try {
    filed = await fileReport(ctx, contractId, { period, figures: checked.figures });
  } catch (err) {
    const errors = serviceErrors(t, err);
    if (errors) return newReportPage(c, contractId, period, values, errors);
    if (err instanceof ApiError && err.code === "report_exists") {
      throw ApiError.conflict("report_exists", t("report_exists"));
    }
    throw err;
  }
  return c.redirect(`/reports/${filed.row.id}?done=filed`, 303);
});

/** The typed figures as the API's schema reads them, or the inputs to mark. */
async function checkFigures(
  c: Context<PortalEnv>,
  contractId: string,
  period: string,
  values: Values,
): Promise<{ figures: ReportFigures } | { errors: Record<string, string> }> {
  const t = tOf(c);
  const prefill = await platformFiguresFor(personContext(c), contractId, period);
  if (!prefill) return { errors: { period: t("error_period") } };
  const parsed = Figures.safeParse(figuresInput(values, prefill.schedule));
  if (parsed.success) return { figures: parsed.data };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const input = inputOf(issue.path as (string | number)[]);
    errors[input] ??= errorWord(t, input);
  }
  return { errors };
}

/** A refusal of the service naming fields, as the inputs to mark; null for any other error. */
function serviceErrors(t: T, err: unknown): Record<string, string> | null {
  if (!(err instanceof ApiError) || err.code !== "validation_failed") return null;
  const errors: Record<string, string> = {};
  for (const f of (err.extra.errors ?? []) as FieldError[]) {
    const input = inputOf(f.field.replace(/^(body|report)\.(figures\.)?/, "").split("."));
    errors[input] ??= errorWord(t, input, f.message);
  }
  return errors;
}

/** The form's values of stored figures (a queried version, to be revised). */
function valuesOf(figures: ReportFigures): Values {
  return {
    ...Object.fromEntries(Object.entries(figures.revenueByItem).map(([code, v]) => [`rev_${code}`, v])),
    ...Object.fromEntries(COSTS.map((k) => [`cost_${k}`, figures.costs[k]])),
    rides: String(figures.usage.rides),
    kWh: figures.usage.kWh,
    chargingSessions: String(figures.usage.chargingSessions),
    availabilityPercent: figures.availabilityPercent,
    safetyIncidents: String(figures.safetyIncidents),
    maintenance: figures.maintenanceRecords.map((m) => `${m.date} ${m.description}`).join("\n"),
  };
}

/**
 * The queried report the person may answer with a revision: the command table gives their party
 * `file_report` and the report's status allows `revise`; otherwise 403.
 */
async function revisable(c: Context<PortalEnv>, id: string) {
  const ctx = personContext(c);
  const { row } = await reportDetailOf(ctx, requireId(id));
  const contract = await getContract(ctx, row.contractId);
  const party = partyOf(ctx.principal, contract.contract);
  if (
    party === null ||
    !COMMAND_PARTIES.file_report.includes(party) ||
    !decideReportReview(row, "revise").ok
  ) {
    throw ApiError.forbidden(tOf(c)("cannot_revise"));
  }
  return row;
}

reportPages.get("/reports/:id/revise", signedIn, async (c) => {
  const row = await revisable(c, c.req.param("id"));
  const values = valuesOf(Figures.parse(row.figures));
  return newReportPage(c, row.contractId, row.period, values, {}, { reportId: row.id });
});

reportPages.post("/reports/:id/revise", signedIn, async (c) => {
  const t = tOf(c);
  const row = await revisable(c, c.req.param("id"));
  const body = await formOf(c);
  const values: Values = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === "string" && k !== "_csrf") values[k] = v.trim();
  const again = (errors: Record<string, string>) =>
    newReportPage(c, row.contractId, row.period, values, errors, { reportId: row.id });
  const checked = await checkFigures(c, row.contractId, row.period, values);
  if ("errors" in checked) return again(checked.errors);
  const comment = (values.comment ?? "").slice(0, 4000);
  try {
    const revised = await reviseReport(personContext(c), row.id, {
      figures: checked.figures,
      ...(comment ? { comment } : {}),
    });
    return c.redirect(`/reports/${revised.row.id}?done=revised`, 303);
  } catch (err) {
    const errors = serviceErrors(t, err);
    if (errors) return again(errors);
    throw err;
  }
});

// ---- one report -------------------------------------------------------------------------------

/** A figure's name in words: `revenueByItem.EL-M` → "收入：包月（EL-M）". */
function figureName(t: T, figure: string, feeNames: Map<string, string>): string {
  if (figure.startsWith("revenueByItem.")) {
    const code = figure.slice("revenueByItem.".length);
    return t("figure_revenue", { name: `${feeNames.get(code) ?? code}（${code}）` });
  }
  const key = `figure_${figure.replace(".", "_")}` as Key;
  return key in reportWords["zh-CN"] ? t(key) : figure;
}

/** A figure's value: money as ¥, the rest as the number it is. */
function figureValue(figure: string, value: string | null): string {
  if (value === null) return "—";
  return figure.startsWith("revenueByItem.") || figure.startsWith("costs.") ? formatYuan(value) : value;
}

function resultOf(t: T, f: ComparedOut): string {
  switch (f.reason) {
    case "within_tolerance":
      return t("result_ok");
    case "beyond_tolerance":
      return t("result_flagged");
    case "missing_reported":
      return t("result_missing_reported");
    case "missing_platform":
      return t("result_missing_platform");
    case "not_tracked":
      return t("result_not_tracked");
  }
}

async function reportPage(c: Context<PortalEnv>, id: string, queryError?: string) {
  requireId(id);
  const t = tOf(c);
  const ctx = personContext(c);
  const lang = c.var.lang;
  const detail = await reportDetailOf(ctx, id);
  const row = detail.row;
  const [contract, { items: comments }] = await Promise.all([
    getContract(ctx, row.contractId),
    listReportComments(ctx, id),
  ]);
  const figures = Figures.parse(row.figures);
  const feeNames = new Map(contract.document.terms.feeSchedule.map((f) => [f.code, f.name]));
  // The command table's answer for this person's party, and the report's status: nothing else.
  const party = partyOf(ctx.principal, contract.contract);
  const mayReview = party !== null && COMMAND_PARTIES.review_report.includes(party);
  const canAccept = mayReview && decideReportReview(row, "accept").ok;
  const canQuery = mayReview && decideReportReview(row, "query").ok;
  const canRevise =
    party !== null && COMMAND_PARTIES.file_report.includes(party) && decideReportReview(row, "revise").ok;
  const done = c.req.query("done");
  const doneNotice =
    done === "filed"
      ? t("filed_notice")
      : done === "accepted"
        ? t("accepted_notice")
        : done === "queried"
          ? t("queried_notice")
          : done === "revised"
            ? t("revised_notice")
            : null;
  return c.html(
    <Layout c={c} title={t("report_title", { period: row.period })} current="reports" styles={["cards.css"]}>
      <p>
        <a href="/reports">{t("back_to_reports")}</a>
      </p>
      {doneNotice ? (
        <p class="notice ok" role="status">
          {doneNotice}
        </p>
      ) : null}
      <dl class="facts">
        <dt>{t("fact_contract")}</dt>
        <dd>{contract.contract.title}</dd>
        <dt>{t("fact_version")}</dt>
        <dd>{t("version_no", { n: row.versionNo })}</dd>
        <dt>{t("fact_status")}</dt>
        <dd data-testid="report-status">
          <StatusBadge t={t} status={row.status} />
        </dd>
        <dt>{t("fact_filed")}</dt>
        <dd>{formatInstant(row.createdAt, lang)}</dd>
        {row.reviewedAt ? (
          <>
            <dt>{t("fact_reviewed")}</dt>
            <dd>{formatInstant(row.reviewedAt, lang)}</dd>
          </>
        ) : null}
      </dl>

      <h2>{t("totals_heading")}</h2>
      <dl class="facts">
        <dt>{t("total_reported")}</dt>
        <dd>{formatYuan(detail.revenue.reported)}</dd>
        <dt>{t("total_invoiced")}</dt>
        <dd>{formatYuan(detail.revenue.invoiced)}</dd>
        <dt>{t("total_collected")}</dt>
        <dd>{formatYuan(detail.revenue.collected)}</dd>
      </dl>

      <h2>{t("compare_heading")}</h2>
      <p>{t("compare_lead")}</p>
      <p class={detail.flaggedCount ? "notice error" : "notice ok"}>
        {detail.flaggedCount ? t("flagged_count", { n: detail.flaggedCount }) : t("no_flags")}
      </p>
      <section class="table-wrap" aria-label={t("compare_heading")} tabindex={0}>
        <table class="cards" data-testid="comparison">
          <thead>
            <tr>
              <th scope="col">{t("col_figure")}</th>
              <th scope="col" class="num">
                {t("col_reported")}
              </th>
              <th scope="col" class="num">
                {t("col_platform")}
              </th>
              <th scope="col" class="num">
                {t("col_difference")}
              </th>
              <th scope="col">{t("col_result")}</th>
            </tr>
          </thead>
          <tbody>
            {detail.figures.map((f) => (
              <tr class={f.flagged ? "flagged" : undefined}>
                <th scope="row">{figureName(t, f.figure, feeNames)}</th>
                <td class="num" data-label={t("col_reported")}>
                  {figureValue(f.figure, f.reported)}
                </td>
                <td class="num" data-label={t("col_platform")}>
                  {figureValue(f.figure, f.platform)}
                </td>
                <td class="num" data-label={t("col_difference")}>
                  {figureValue(f.figure, f.difference)}
                </td>
                <td
                  class={f.flagged ? "fail" : f.reason === "within_tolerance" ? "pass" : undefined}
                  data-label={t("col_result")}
                >
                  {f.flagged ? "⚠ " : ""}
                  {resultOf(t, f)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <h2>{t("maintenance_heading")}</h2>
      {figures.maintenanceRecords.length ? (
        <ul>
          {figures.maintenanceRecords.map((m) => (
            <li>
              {formatDate(m.date, lang)}：{m.description}
            </li>
          ))}
        </ul>
      ) : (
        <p class="empty">{t("maintenance_none")}</p>
      )}

      {comments.length ? (
        <>
          <h2>{t("comments_heading")}</h2>
          <ul>
            {comments.map(({ comment, versionNo }) => (
              <li>
                {t("version_no", { n: versionNo })} · {formatInstant(comment.createdAt, lang)}：{comment.body}
              </li>
            ))}
          </ul>
        </>
      ) : null}

      {canRevise ? (
        <p>
          <a class="button" href={`/reports/${row.id}/revise`}>
            {t("revise_button")}
          </a>
        </p>
      ) : null}
      {canAccept || canQuery ? (
        <section aria-labelledby="review">
          <h2 id="review">{t("review_heading")}</h2>
          {canAccept ? (
            <Form c={c} action={`/reports/${row.id}/accept`}>
              <div>
                <button type="submit">{t("accept_button")}</button>
              </div>
            </Form>
          ) : null}
          {canQuery ? (
            <Form c={c} action={`/reports/${row.id}/query`}>
              <div>
                <label for="f-comment">
                  {t("query_reason")}
                  <span class="hint" id="f-comment-hint">
                    {t("query_hint")}
                  </span>
                </label>
                <textarea
                  id="f-comment"
                  name="comment"
                  rows={3}
                  required
                  maxlength={4000}
                  aria-describedby={queryError ? "f-comment-hint f-comment-error" : "f-comment-hint"}
                  aria-invalid={queryError ? "true" : undefined}
                />
                {queryError ? (
                  <p class="fail" id="f-comment-error">
                    {queryError}
                  </p>
                ) : null}
              </div>
              <div>
                <button type="submit" class="secondary">
                  {t("query_button")}
                </button>
              </div>
            </Form>
          ) : null}
        </section>
      ) : null}
    </Layout>,
    queryError ? 400 : 200,
  );
}

reportPages.get("/reports/:id", signedIn, (c) => reportPage(c, c.req.param("id")));

reportPages.post("/reports/:id/accept", signedIn, async (c) => {
  const detail = await acceptReport(personContext(c), requireId(c.req.param("id")));
  return c.redirect(`/reports/${detail.row.id}?done=accepted`, 303);
});

reportPages.post("/reports/:id/query", signedIn, async (c) => {
  const comment = field(await formOf(c), "comment").trim();
  if (!comment || comment.length > 4000) return reportPage(c, c.req.param("id"), tOf(c)("query_required"));
  const detail = await queryReport(personContext(c), requireId(c.req.param("id")), comment);
  return c.redirect(`/reports/${detail.row.id}?done=queried`, 303);
});
