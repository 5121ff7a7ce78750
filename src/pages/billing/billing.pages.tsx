/**
 * The enterprise's billing desk (`/billing`): per signed contract, its 包月/包年 subscriptions,
 * billing runs (run one for a month), invoices with what is outstanding, and payments received
 * (record one against an invoice). Money is shown to the fen with `formatYuan` and summed with
 * Decimal; the billing and payments services decide everything.
 */
import { randomUUID } from "node:crypto";
import { type Context, Hono } from "hono";
import {
  COMMAND_PARTIES,
  checkMoney,
  compareDates,
  type Decimal,
  formatMoney,
  isCommitted,
  isPeriod,
  outstandingOf,
  periodOfInstant,
  sumMoney,
} from "../../../contracts/index.js";
import { ApiError, type FieldError, fieldErrors } from "../../errors.js";
import { PAYMENT_METHODS } from "../../routes/fees.schemas.js";
import { NewPayment, SINGLE_AMOUNT_MAX } from "../../routes/payments/payments.schemas.js";
import { getContract, listContracts } from "../../services/contracts/reads.js";
import { partyOf } from "../../services/contracts/store.js";
import { getInvoice, listInvoices, listRuns, runBillingPeriod } from "../../services/fees/billing.js";
import { listContractPayments, recordPayment } from "../../services/fees/payments.js";
import type { InvoiceRow } from "../../services/fees/store.js";
import { listSubscriptions } from "../../services/fees/subscriptions.js";
import { listBuildings, listHouseholds } from "../../services/places/places.js";
import { drafting } from "../drafting/messages.js";

import { formatDate, formatInstant, formatYuan } from "../format.js";
import { signedIn } from "../guards.js";
import { type Lang, translator } from "../i18n.js";
import { Field, Form, Layout, TableWrap } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { billing } from "./messages.js";

export const billingPages = new Hono<PortalEnv>();
billingPages.use("/billing", signedIn);
billingPages.use("/billing/*", signedIn);

type Ctx = Context<PortalEnv>;
const yuan = (d: Decimal) => formatYuan(formatMoney(d));

/** A billing month 'YYYY-MM' as a reader says it: "2026年11月" / "November 2026". */
function monthWords(period: string, lang: Lang): string {
  const [y, m] = period.split("-").map(Number);
  if (!y || !m) return period;
  return lang === "en"
    ? new Intl.DateTimeFormat("en", { year: "numeric", month: "long", timeZone: "UTC" }).format(
        Date.UTC(y, m - 1, 1),
      )
    : `${y}年${m}月`;
}

/** A payment form shown again: the invoice it was for, what was typed, and each field's message. */
interface PaymentAttempt {
  invoiceId: string;
  values: Record<string, string>;
  errors: Record<string, string>;
}

/** A billing run refused: the contract and why (in the reader's words). */
interface RunAttempt {
  period: string;
  error: string;
}

/** Households of the contract's community by id, as a clerk reads them: "3号楼 1单元 501". */
async function householdNames(c: Ctx, communityId: string): Promise<Map<string, string>> {
  const ctx = personContext(c);
  const names = new Map<string, string>();
  try {
    for (const b of (await listBuildings(ctx, communityId)).items) {
      const page = await listHouseholds(ctx, b.id, { limit: 2000, offset: 0 });
      for (const h of page.items) names.set(h.id, `${b.name} ${h.unit}单元 ${h.room}`);
    }
  } catch (err) {
    // Not allowed to read the register: the subscriber's key stands for the household.
    if (!(err instanceof ApiError)) throw err;
  }
  return names;
}

async function billingPage(
  c: Ctx,
  opts: { pay?: PaymentAttempt; run?: RunAttempt } = {},
  status: 200 | 400 | 409 = 200,
  contractId?: string,
) {
  const t = translator(billing, c.var.lang);
  const td = translator(drafting, c.var.lang);
  const lang = c.var.lang;
  const ctx = personContext(c);
  const page = await listContracts(ctx, { limit: 100, offset: 0 });
  const signed = page.items.filter((k) => isCommitted(k.state));
  const chosenId = contractId ?? c.req.query("contract");
  const chosen = chosenId ? signed.find((k) => k.id === chosenId) : signed[0];
  // A contract asked for by id that this person may not bill or see: the not-found page.
  if (chosenId && !chosen) throw ApiError.notFound("The contract");
  if (!chosen) {
    return c.html(
      <Layout c={c} title={t("title")} current="billing">
        <p class="lead">{t("lead")}</p>
        <p class="empty">{t("empty")}</p>
      </Layout>,
      status,
    );
  }
  const [detail, subs, runs, invoicePage, names, payments] = await Promise.all([
    getContract(ctx, chosen.id),
    listSubscriptions(ctx, chosen.id, { limit: 500, offset: 0 }),
    listRuns(ctx, chosen.id).then((runs) => runs.items),
    listInvoices(ctx, chosen.id, { limit: 500, offset: 0 }),
    householdNames(c, chosen.communityId),
    listContractPayments(ctx, chosen.id),
  ]);
  const invoices = invoicePage.items;
  const today = invoicePage.today;
  const canRun = detail.allowedActions.includes("run_billing");
  const party = c.var.session ? partyOf(ctx.principal, detail.contract) : null;
  const canPay = party !== null && COMMAND_PARTIES.record_payment.includes(party);
  const who = (key: string, householdId: string | null) =>
    (householdId && names.get(householdId)) || key.replace(/^(household|slot):/, "");
  const outstandingTotal = sumMoney(invoices.map((i) => outstandingOf(i)));

  const ranId = c.req.query("ran");
  const ran = ranId ? runs.find((r) => r.id === ranId) : undefined;
  const paidId = c.req.query("paid");
  const justPaid = paidId ? payments.find((p) => p.payment.id === paidId) : undefined;
  const periodWords = (p: string) => monthWords(p, lang);

  return c.html(
    <Layout c={c} title={t("title")} current="billing">
      <p class="lead">{t("lead")}</p>
      {ran ? (
        <p class="notice ok" role="status">
          {c.req.query("existing") === "1"
            ? t("ran_existing", { period: periodWords(ran.period) })
            : t("ran_notice", {
                period: periodWords(ran.period),
                count: ran.invoicesCreated,
                total: formatYuan(ran.totalAmount),
              })}
        </p>
      ) : null}
      {justPaid ? (
        <p class="notice ok" role="status">
          {t("paid_notice", {
            amount: formatYuan(justPaid.payment.amount),
            number: justPaid.invoice.number,
            outstanding: yuan(outstandingOf(justPaid.invoice)),
          })}
        </p>
      ) : null}
      {signed.length > 1 ? (
        <nav aria-label={t("choose_contract")} class="card">
          <h2>{t("choose_contract")}</h2>
          <ul>
            {signed.map((k) => (
              <li>
                <a href={`/billing?contract=${k.id}`} aria-current={k.id === chosen.id ? "page" : undefined}>
                  {k.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      ) : null}
      <section class="card" aria-labelledby="contract-title">
        <h2 id="contract-title">
          <a href={`/contracts/${chosen.id}`}>{chosen.title}</a>
        </h2>
        <dl class="facts">
          <dt>{t("state")}</dt>
          <dd>{td(`state_${chosen.state}`)}</dd>
          {chosen.transferDate ? (
            <>
              <dt>{t("transfer_date")}</dt>
              <dd>{formatDate(chosen.transferDate, lang)}</dd>
            </>
          ) : null}
          <dt>{t("invoiced_total")}</dt>
          <dd>{yuan(sumMoney(invoices.map((i) => i.total)))}</dd>
          <dt>{t("outstanding_total")}</dt>
          <dd data-testid="outstanding-total">{yuan(outstandingTotal)}</dd>
        </dl>
      </section>

      <section aria-labelledby="subs">
        <h2 id="subs">{t("subs_title")}</h2>
        {subs.items.length ? (
          <TableWrap label={t("subs_title")}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col_household")}</th>
                  <th scope="col">{t("col_fee")}</th>
                  <th scope="col">{t("col_kind")}</th>
                  <th scope="col" class="num">
                    {t("col_price")}
                  </th>
                  <th scope="col">{t("col_start")}</th>
                  <th scope="col">{t("col_state")}</th>
                </tr>
              </thead>
              <tbody>
                {subs.items.map((s) => (
                  <tr>
                    <th scope="row">{who(s.subscriberKey, s.householdId)}</th>
                    <td>{s.feeCode}</td>
                    <td>{t(`sub_${s.kind}`)}</td>
                    <td class="num">{formatYuan(s.unitPrice)}</td>
                    <td>{formatDate(s.startDate, lang)}</td>
                    <td>
                      <span class={s.state === "suspended" ? "badge alert" : "badge"}>
                        {t(`sub_${s.state}`)}
                      </span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : (
          <p class="empty">{t("subs_empty")}</p>
        )}
      </section>

      <section aria-labelledby="runs">
        <h2 id="runs">{t("runs_title")}</h2>
        <p class="hint">{t("runs_lead")}</p>
        {canRun ? (
          <Form c={c} action={`/billing/${chosen.id}/runs`}>
            <input type="hidden" name="key" value={randomUUID()} />
            <Field
              name="period"
              label={t("run_period")}
              hint={t("run_period_hint")}
              value={opts.run?.period ?? periodOfInstant(c.var.deps.clock())}
              error={opts.run?.error}
              type="month"
            />
            <div>
              <button type="submit">{t("run_button")}</button>
            </div>
          </Form>
        ) : (
          <p class="hint">{t("run_not_now")}</p>
        )}
        {runs.length ? (
          <TableWrap label={t("runs_title")}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col_period")}</th>
                  <th scope="col" class="num">
                    {t("col_invoices")}
                  </th>
                  <th scope="col" class="num">
                    {t("col_total")}
                  </th>
                  <th scope="col">{t("col_run_at")}</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr>
                    <th scope="row">{periodWords(r.period)}</th>
                    <td class="num">{r.invoicesCreated}</td>
                    <td class="num">{formatYuan(r.totalAmount)}</td>
                    <td>{formatInstant(r.createdAt, lang)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : (
          <p class="empty">{t("runs_empty")}</p>
        )}
      </section>

      <section aria-labelledby="invoices">
        <h2 id="invoices">{t("invoices_title")}</h2>
        {opts.pay ? (
          <p class="notice error" role="alert">
            {t("errors_title")} {Object.values(opts.pay.errors).join(" ")}
          </p>
        ) : null}
        {invoices.length ? (
          <TableWrap label={t("invoices_title")}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col_number")}</th>
                  <th scope="col">{t("col_household")}</th>
                  <th scope="col">{t("col_period")}</th>
                  <th scope="col">{t("col_due")}</th>
                  <th scope="col" class="num">
                    {t("col_total")}
                  </th>
                  <th scope="col" class="num">
                    {t("col_outstanding")}
                  </th>
                  <th scope="col">{t("col_state")}</th>
                </tr>
              </thead>
              <tbody>
                {invoices.map((i) => {
                  const rest = outstandingOf(i);
                  const state = !rest.gt(0)
                    ? "paid"
                    : compareDates(i.dueDate, today) < 0
                      ? "overdue"
                      : "open";
                  return (
                    <tr id={`invoice-${i.id}`}>
                      <th scope="row">{i.number}</th>
                      <td>{who(i.subscriberKey, i.householdId)}</td>
                      <td>{periodWords(i.period)}</td>
                      <td>{formatDate(i.dueDate, lang)}</td>
                      <td class="num">{formatYuan(i.total)}</td>
                      <td class="num" data-testid={`outstanding-${i.number}`}>
                        {yuan(rest)}
                      </td>
                      <td>
                        <span
                          class={
                            state === "overdue" ? "badge alert" : state === "paid" ? "badge ok" : "badge"
                          }
                        >
                          {t(`inv_${state}`)}
                        </span>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableWrap>
        ) : (
          <p class="empty">{t("invoices_empty")}</p>
        )}
        {canPay
          ? invoices
              .filter((i) => outstandingOf(i).gt(0))
              .map((i) => (
                <PaymentForm
                  c={c}
                  invoice={i}
                  today={today}
                  attempt={opts.pay?.invoiceId === i.id ? opts.pay : undefined}
                />
              ))
          : null}
      </section>

      <section aria-labelledby="payments">
        <h2 id="payments">{t("payments_title")}</h2>
        {payments.length ? (
          <TableWrap label={t("payments_title")}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{t("col_received_on")}</th>
                  <th scope="col">{t("col_invoice")}</th>
                  <th scope="col" class="num">
                    {t("col_amount")}
                  </th>
                  <th scope="col">{t("col_method")}</th>
                  <th scope="col">{t("col_ref")}</th>
                </tr>
              </thead>
              <tbody>
                {payments.map(({ invoice, payment }) => (
                  <tr>
                    <th scope="row">{formatDate(payment.receivedOn, lang)}</th>
                    <td>{invoice.number}</td>
                    <td class="num">{formatYuan(payment.amount)}</td>
                    <td>{t(`method_${payment.method}`)}</td>
                    <td>{payment.externalRef}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        ) : (
          <p class="empty">{t("payments_empty")}</p>
        )}
      </section>
    </Layout>,
    status,
  );
}

function PaymentForm({
  c,
  invoice,
  today,
  attempt,
}: {
  c: Ctx;
  invoice: InvoiceRow;
  today: string;
  attempt: PaymentAttempt | undefined;
}) {
  const t = translator(billing, c.var.lang);
  const v = attempt?.values ?? {};
  const e = attempt?.errors ?? {};
  const prefix = `pay-${invoice.number}`;
  const method = v.method ?? "wechat";
  return (
    <details open={attempt ? true : undefined} class="card">
      <summary>{t("pay_summary", { number: invoice.number })}</summary>
      <Form c={c} action={`/billing/invoices/${invoice.id}/payments`}>
        <Field
          name={`${prefix}-amount`}
          label={t("pay_amount")}
          value={v.amount ?? formatMoney(outstandingOf(invoice))}
          error={e.amount}
          inputmode="decimal"
        />
        <div>
          <label for={`f-${prefix}-method`}>{t("pay_method")}</label>
          <select id={`f-${prefix}-method`} name={`${prefix}-method`}>
            {PAYMENT_METHODS.map((m) => (
              <option value={m} selected={m === method}>
                {t(`method_${m}`)}
              </option>
            ))}
          </select>
          {e.method ? <p class="fail">{e.method}</p> : null}
        </div>
        <Field
          name={`${prefix}-externalRef`}
          label={t("pay_ref")}
          hint={t("pay_ref_hint")}
          value={v.externalRef ?? ""}
          error={e.externalRef}
        />
        <Field
          name={`${prefix}-receivedOn`}
          label={t("pay_received_on")}
          type="date"
          value={v.receivedOn ?? today}
          error={e.receivedOn}
        />
        <input type="hidden" name="prefix" value={prefix} />
        <div>
          <button type="submit">{t("pay_button")}</button>
        </div>
      </Form>
    </details>
  );
}

billingPages.get("/billing", (c) => billingPage(c));

billingPages.post("/billing/:id/runs", async (c) => {
  const t = translator(billing, c.var.lang);
  const id = c.req.param("id");
  const body = await c.req.parseBody();
  const period = typeof body.period === "string" ? body.period.trim() : "";
  const key = typeof body.key === "string" && body.key ? body.key : undefined;
  if (!isPeriod(period)) return billingPage(c, { run: { period, error: t("run_bad_period") } }, 400, id);
  try {
    const outcome = await runBillingPeriod(personContext(c), id, { period }, key);
    const existing = outcome.outcome === "existing" ? "&existing=1" : "";
    return c.redirect(`/billing?contract=${id}&ran=${outcome.run.id}${existing}#runs`, 303);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.code !== "idempotency_key_reused") {
      return billingPage(c, { run: { period, error: t("run_refused") } }, 409, id);
    }
    throw err;
  }
});

const PAYMENT_FIELDS = ["amount", "method", "externalRef", "receivedOn"] as const;

function paymentWords(c: Ctx, errors: FieldError[], values: Record<string, string>): Record<string, string> {
  const t = translator(billing, c.var.lang);
  const out: Record<string, string> = {};
  for (const e of errors) {
    const name = e.field.replace(/^body\./, "");
    const typed = values[name] ?? "";
    let words: string;
    if (name === "amount") {
      const reason = checkMoney(typed, { max: SINGLE_AMOUNT_MAX, allowZero: false });
      words =
        typed === ""
          ? t("err_required")
          : reason === "must not be negative"
            ? t("err_negative")
            : reason === "must be greater than 0"
              ? t("err_zero")
              : reason?.startsWith("must be at most")
                ? t("err_money_max", { max: formatYuan(formatMoney(SINGLE_AMOUNT_MAX)) })
                : t("err_money");
    } else if (name === "receivedOn") {
      words = /future/.test(e.message) ? t("err_future") : t("err_date");
    } else if (name === "externalRef") {
      words = typed.trim() === "" ? t("err_required") : t("err_other", { detail: e.message });
    } else if (name === "method") {
      words = t("err_method");
    } else {
      words = t("err_other", { detail: e.message });
    }
    out[(PAYMENT_FIELDS as readonly string[]).includes(name) ? name : "amount"] = words;
  }
  return out;
}

billingPages.post("/billing/invoices/:invoiceId/payments", async (c) => {
  const t = translator(billing, c.var.lang);
  const invoiceId = c.req.param("invoiceId");
  const body = await c.req.parseBody();
  const prefix = typeof body.prefix === "string" ? body.prefix : "";
  const values: Record<string, string> = {};
  for (const f of PAYMENT_FIELDS) {
    const v = body[`${prefix}-${f}`];
    values[f] = typeof v === "string" ? v.trim() : "";
  }
  const ctx = personContext(c);
  const again = async (errors: Record<string, string>, status: 400 | 409) => {
    // The page of the invoice's contract, with this form open again.
    const { invoice } = await getInvoice(ctx, invoiceId);
    return billingPage(c, { pay: { invoiceId, values, errors } }, status, invoice.contractId);
  };
  const parsed = NewPayment.safeParse(values);
  if (!parsed.success) return again(paymentWords(c, fieldErrors(parsed.error, "body"), values), 400);
  try {
    const outcome = await recordPayment(ctx, invoiceId, parsed.data);
    return c.redirect(
      `/billing?contract=${outcome.invoice.contractId}&paid=${outcome.payment.id}#payments`,
      303,
    );
  } catch (err) {
    if (err instanceof ApiError && err.code === "validation_failed") {
      return again(paymentWords(c, (err.extra.errors as FieldError[] | undefined) ?? [], values), 400);
    }
    if (err instanceof ApiError && err.code === "payment_reference_used") {
      return again({ externalRef: t("err_ref_used") }, 409);
    }
    throw err;
  }
});
