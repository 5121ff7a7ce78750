/**
 * The portal's charts: inline SVG drawn on the server from plain data, no library and no script.
 *
 * - Values are strings or numbers; they are scaled with decimal.js (money stays a string to the
 *   end), and a chart of no data is an empty state in words, never NaN.
 * - Each chart is a `<figure>`: the SVG has `role="img"` named by its `<title>` and described by
 *   its `<desc>`, and a `<details>` table below holds the same figures for a screen reader or a
 *   reader who wants the exact amounts.
 * - Colour is never the only carrier: every bar and point is labelled with its value in text, a
 *   target is a dashed line with its own label.
 * - The drawing scales with its viewBox (`svg.chart` of the portal's style sheet keeps it within
 *   the page), sized so that its text stays readable on a 360 px phone.
 */
import { Decimal } from "decimal.js";
import type { Child } from "hono/jsx";

/** One figure of a chart: what it is and how much. */
export interface Datum {
  label: string;
  value: string | number;
  /** The label on the drawing, where room is short ("11/3"); default the label, cut short. */
  tick?: string;
}

/** What every chart is told besides its data. */
export interface ChartText {
  /** Unique on the page: the ids of the title and description are made from it. */
  id: string;
  /** The chart's accessible name, shown as its caption. */
  title: string;
  /** What it shows, in a sentence (read by a screen reader with the name). */
  desc: string;
  /** What to say when there is no data. */
  empty: string;
  /** The data table's words: its disclosure, and the headers of its two columns. */
  table: { summary: string; label: string; value: string };
  /** How a value is written in the table (with its unit: "12 次", "¥1,280.50"); default as given. */
  format?: (value: string) => string;
  /** How a value is written on the drawing, where room is short; default `format`. */
  short?: (value: string) => string;
}

/**
 * The charts' style sheet (the `charts.css` asset: pass `styles={["charts.css"]}` to `Layout`): a
 * figure without the browser's wide margins, its caption as a small heading.
 */
export const CHARTS_CSS = `
figure.chart { margin: 0 0 12px; }
figure.chart figcaption { font-weight: 600; margin: 0 0 4px; }
figure.chart svg.chart { display: block; width: 100%; max-width: 480px; height: auto; }
figure.chart details.chart-data { margin-top: 4px; }
td.nowrap { white-space: nowrap; }
figure.chart details.chart-data summary { cursor: pointer; color: var(--brand); padding: 10px 0; }
`;

const INK = "#1b1f24";
const MUTED = "#4d5660";
const LINE = "#c9d1d9";
const BAR = "#0b5cad";
const NEGATIVE = "#b42318";
const FONT = 14;

/** A number string of SVG coordinates: two places at most, no "-0". */
function coord(d: Decimal): string {
  const s = d.toDecimalPlaces(2, Decimal.ROUND_HALF_UP).toString();
  return s === "-0" ? "0" : s;
}

function asDecimal(value: string | number): Decimal {
  const d = new Decimal(typeof value === "number" ? value : value.trim());
  if (!d.isFinite()) throw new Error(`a chart value is not a number: ${String(value)}`);
  return d;
}

/** The span a chart shows: from min(0, values) to max(0, values); never empty. */
interface Domain {
  lo: Decimal;
  hi: Decimal;
  span: Decimal;
}

function domainOf(values: readonly Decimal[]): Domain {
  let lo = new Decimal(0);
  let hi = new Decimal(0);
  for (const v of values) {
    if (v.lt(lo)) lo = v;
    if (v.gt(hi)) hi = v;
  }
  return { lo, hi, span: hi.minus(lo) };
}

/** Where `v` falls along `length` units of the domain, from its low end (0 when all values are 0). */
function along(domain: Domain, v: Decimal, length: number): Decimal {
  if (domain.span.isZero()) return new Decimal(0);
  return v.minus(domain.lo).div(domain.span).times(length);
}

/** A label cut to `max` characters, with an ellipsis (the table keeps the whole of it). */
function clip(label: string, max: number): string {
  const chars = [...label];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : label;
}

const asText = (v: string | number) => (typeof v === "number" ? String(v) : v.trim());

function writers(text: ChartText) {
  const format = text.format ?? ((v: string) => v);
  const short = text.short ?? format;
  return { format, short };
}

/** The figures of a chart as a table in a disclosure. */
function DataTable({ text, data }: { text: ChartText; data: readonly Datum[] }) {
  const { format } = writers(text);
  return (
    <details class="chart-data">
      <summary>{text.table.summary}</summary>
      {/* A table wider than a phone scrolls: the region is focusable, so a keyboard can scroll it. */}
      <section class="table-wrap" tabindex={0} aria-label={text.title}>
        <table>
          <caption class="visually-hidden">{text.title}</caption>
          <thead>
            <tr>
              <th scope="col">{text.table.label}</th>
              <th scope="col" class="num">
                {text.table.value}
              </th>
            </tr>
          </thead>
          <tbody>
            {data.map((d) => (
              <tr>
                <th scope="row">{d.label}</th>
                <td class="num">{format(asText(d.value))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </details>
  );
}

/** The frame of every chart: the caption, the drawing (or the empty state) and the table. */
function Figure({
  text,
  data,
  width,
  height,
  children,
}: {
  text: ChartText;
  data: readonly Datum[];
  width: number;
  height: number;
  children?: Child;
}) {
  const titleId = `${text.id}-title`;
  const descId = `${text.id}-desc`;
  return (
    <figure class="chart" id={text.id}>
      <figcaption>{text.title}</figcaption>
      {data.length === 0 ? (
        <p class="empty">{text.empty}</p>
      ) : (
        <>
          <svg
            class="chart"
            role="img"
            aria-labelledby={titleId}
            aria-describedby={descId}
            viewBox={`0 0 ${width} ${height}`}
            width={width}
            height={height}
            xmlns="http://www.w3.org/2000/svg"
            font-size={FONT}
            font-family="inherit"
          >
            <title id={titleId}>{text.title}</title>
            <desc id={descId}>{text.desc}</desc>
            {children}
          </svg>
          <DataTable text={text} data={data} />
        </>
      )}
    </figure>
  );
}

// ---- bar chart: one bar per label, upright (a series over time) -------------------------------

const BAR_W = 320;
const BAR_H = 220;
const BAR_TOP = 20;
const BAR_BOTTOM = 36;
const BAR_SIDE = 8;

export interface BarChartProps extends ChartText {
  data: readonly Datum[];
}

/** Upright bars, one per label, each with its value written above it (or below, when negative). */
export function BarChart(props: BarChartProps) {
  const { data } = props;
  const { short } = writers(props);
  const values = data.map((d) => asDecimal(d.value));
  const domain = domainOf(values);
  const plotH = BAR_H - BAR_TOP - BAR_BOTTOM;
  const plotW = BAR_W - 2 * BAR_SIDE;
  const slot = data.length ? plotW / data.length : plotW;
  const barW = Math.max(2, slot * 0.7);
  const base = new Decimal(BAR_TOP + plotH).minus(along(domain, new Decimal(0), plotH));
  // Labels need about 40 units each: with many bars, every n-th one is written (the table has all).
  const every = Math.max(1, Math.ceil(40 / slot));
  return (
    <Figure text={props} data={data} width={BAR_W} height={BAR_H}>
      <line
        x1={BAR_SIDE}
        x2={BAR_W - BAR_SIDE}
        y1={coord(base)}
        y2={coord(base)}
        stroke={MUTED}
        stroke-width="1"
      />
      {data.map((d, i) => {
        const v = values[i] ?? new Decimal(0);
        const top = new Decimal(BAR_TOP + plotH).minus(along(domain, v, plotH));
        const y = Decimal.min(top, base);
        const h = top.minus(base).abs();
        const x = new Decimal(BAR_SIDE + i * slot + (slot - barW) / 2);
        const cx = coord(x.plus(barW / 2));
        const negative = v.isNegative();
        return (
          <g class="bar" data-label={d.label} data-value={asText(d.value)}>
            <rect
              x={coord(x)}
              y={coord(y)}
              width={coord(new Decimal(barW))}
              height={coord(h)}
              fill={negative ? NEGATIVE : BAR}
            />
            <text
              x={cx}
              y={coord(negative ? y.plus(h).plus(FONT) : y.minus(4))}
              text-anchor="middle"
              fill={INK}
            >
              {short(asText(d.value))}
            </text>
            {i % every === 0 ? (
              <text x={cx} y={BAR_H - BAR_BOTTOM + 18} text-anchor="middle" fill={MUTED}>
                {d.tick ?? clip(d.label, 6)}
              </text>
            ) : null}
          </g>
        );
      })}
    </Figure>
  );
}

// ---- bar chart lying down: categories with words for names -------------------------------------

const ROW_H = 30;
const HBAR_W = 320;
const HBAR_LABEL_W = 100;
const HBAR_VALUE_W = 88;

/** Bars lying down, one row per label (names in words read best this way on a phone). */
export function HorizontalBarChart(props: BarChartProps) {
  const { data } = props;
  const { short } = writers(props);
  const values = data.map((d) => asDecimal(d.value));
  const domain = domainOf(values);
  const plotW = HBAR_W - HBAR_LABEL_W - HBAR_VALUE_W;
  const height = data.length * ROW_H + 8;
  const zero = new Decimal(HBAR_LABEL_W).plus(along(domain, new Decimal(0), plotW));
  return (
    <Figure text={props} data={data} width={HBAR_W} height={height}>
      <line x1={coord(zero)} x2={coord(zero)} y1="4" y2={height - 4} stroke={MUTED} stroke-width="1" />
      {data.map((d, i) => {
        const v = values[i] ?? new Decimal(0);
        const end = new Decimal(HBAR_LABEL_W).plus(along(domain, v, plotW));
        const x = Decimal.min(end, zero);
        const w = end.minus(zero).abs();
        const y = 4 + i * ROW_H;
        return (
          <g class="bar" data-label={d.label} data-value={asText(d.value)}>
            <text x={HBAR_LABEL_W - 6} y={y + ROW_H / 2 + 4} text-anchor="end" fill={INK}>
              {d.tick ?? clip(d.label, 6)}
            </text>
            <rect
              x={coord(x)}
              y={y + 5}
              width={coord(w)}
              height={ROW_H - 10}
              fill={v.isNegative() ? NEGATIVE : BAR}
            />
            <text x={coord(Decimal.max(end, zero).plus(6))} y={y + ROW_H / 2 + 4} fill={INK}>
              {short(asText(d.value))}
            </text>
          </g>
        );
      })}
    </Figure>
  );
}

// ---- line chart: a series over time, values that may go below zero (a cash flow) ---------------

const LINE_W = 320;
const LINE_H = 220;
const LINE_LEFT = 88;
const LINE_RIGHT = 16;
const LINE_TOP = 20;
const LINE_BOTTOM = 36;

export interface LineChartProps extends ChartText {
  data: readonly Datum[];
}

/**
 * A line through the values in order, a dot at each; the axis is written at its highest and lowest
 * value (and zero when the line crosses it, dashed), the last value beside its dot.
 */
export function LineChart(props: LineChartProps) {
  const { data } = props;
  const { short } = writers(props);
  const values = data.map((d) => asDecimal(d.value));
  const domain = domainOf(values);
  const plotH = LINE_H - LINE_TOP - LINE_BOTTOM;
  const plotW = LINE_W - LINE_LEFT - LINE_RIGHT;
  const yOf = (v: Decimal) => new Decimal(LINE_TOP + plotH).minus(along(domain, v, plotH));
  const xOf = (i: number) =>
    new Decimal(LINE_LEFT).plus(
      data.length > 1 ? new Decimal(plotW).times(i).div(data.length - 1) : plotW / 2,
    );
  const points = values.map((v, i) => ({ x: xOf(i), y: yOf(v) }));
  const every = Math.max(1, Math.ceil((40 * data.length) / plotW));
  const zeroY = yOf(new Decimal(0));
  const crossesZero = domain.lo.isNegative() && domain.hi.isPositive();
  const last = data.length - 1;
  return (
    <Figure text={props} data={data} width={LINE_W} height={LINE_H}>
      <line
        x1={LINE_LEFT}
        x2={LINE_W - LINE_RIGHT}
        y1={coord(yOf(domain.hi))}
        y2={coord(yOf(domain.hi))}
        stroke={LINE}
      />
      <line
        x1={LINE_LEFT}
        x2={LINE_W - LINE_RIGHT}
        y1={coord(yOf(domain.lo))}
        y2={coord(yOf(domain.lo))}
        stroke={LINE}
      />
      <text x={LINE_LEFT - 4} y={coord(yOf(domain.hi).plus(4))} text-anchor="end" fill={MUTED}>
        {short(domain.hi.toString())}
      </text>
      <text x={LINE_LEFT - 4} y={coord(yOf(domain.lo).plus(4))} text-anchor="end" fill={MUTED}>
        {short(domain.lo.toString())}
      </text>
      {crossesZero ? (
        <>
          <line
            x1={LINE_LEFT}
            x2={LINE_W - LINE_RIGHT}
            y1={coord(zeroY)}
            y2={coord(zeroY)}
            stroke={MUTED}
            stroke-dasharray="4 3"
          />
          <text x={LINE_LEFT - 4} y={coord(zeroY.plus(4))} text-anchor="end" fill={MUTED}>
            0
          </text>
        </>
      ) : null}
      <polyline
        points={points.map((p) => `${coord(p.x)},${coord(p.y)}`).join(" ")}
        fill="none"
        stroke={BAR}
        stroke-width="2"
      />
      {data.map((d, i) => {
        const p = points[i] ?? { x: new Decimal(0), y: new Decimal(0) };
        return (
          <g class="point" data-label={d.label} data-value={asText(d.value)}>
            <circle cx={coord(p.x)} cy={coord(p.y)} r="3.5" fill={values[i]?.isNegative() ? NEGATIVE : BAR} />
            {i % every === 0 || i === last ? (
              <text x={coord(p.x)} y={LINE_H - LINE_BOTTOM + 18} text-anchor="middle" fill={MUTED}>
                {d.tick ?? clip(d.label, 6)}
              </text>
            ) : null}
            {i === last ? (
              <text x={coord(p.x)} y={coord(p.y.minus(8))} text-anchor="end" fill={INK}>
                {short(asText(d.value))}
              </text>
            ) : null}
          </g>
        );
      })}
    </Figure>
  );
}

// ---- progress against a target: done of a total, a marker at the target -----------------------

export interface ProgressBarProps {
  id: string;
  title: string;
  desc: string;
  done: number;
  total: number;
  target: number;
  /** The words under the bar, each with its unit ("已改造 137 个"). */
  words: { done: string; total: string; target: string };
  /** What to say when there is nothing to count (no facility and no target). */
  empty: string;
  table: { summary: string; label: string; value: string };
}

const PROGRESS_W = 280;
const PROGRESS_H = 72;
const PROGRESS_SIDE = 8;

/**
 * One bar as long as the larger of the total and the target, filled as far as is done; the target
 * is a dashed line with its words, so the bar reads without its colours.
 */
export function ProgressBar(props: ProgressBarProps) {
  const { done, total, target, words } = props;
  const data: Datum[] = [
    { label: words.done, value: done },
    { label: words.total, value: total },
    { label: words.target, value: target },
  ];
  const text: ChartText = { ...props };
  const full = Math.max(total, target, done);
  if (full === 0) {
    return (
      <figure class="chart" id={props.id}>
        <figcaption>{props.title}</figcaption>
        <p class="empty">{props.empty}</p>
      </figure>
    );
  }
  const domain = domainOf([new Decimal(full)]);
  const plotW = PROGRESS_W - 2 * PROGRESS_SIDE;
  const at = (n: number) => new Decimal(PROGRESS_SIDE).plus(along(domain, new Decimal(n), plotW));
  const targetX = at(target);
  return (
    <Figure text={text} data={data} width={PROGRESS_W} height={PROGRESS_H}>
      <rect
        class="track"
        x={PROGRESS_SIDE}
        y="22"
        width={coord(at(total).minus(PROGRESS_SIDE))}
        height="22"
        fill="#ffffff"
        stroke={MUTED}
      />
      <rect
        class="done"
        x={PROGRESS_SIDE}
        y="22"
        width={coord(at(done).minus(PROGRESS_SIDE))}
        height="22"
        fill={BAR}
      />
      <line
        class="target"
        x1={coord(targetX)}
        x2={coord(targetX)}
        y1="16"
        y2="50"
        stroke={INK}
        stroke-width="2"
        stroke-dasharray="4 2"
      />
      <text
        x={coord(targetX)}
        y="66"
        text-anchor={
          targetX.gt(PROGRESS_W * 0.75) ? "end" : targetX.lt(PROGRESS_W * 0.25) ? "start" : "middle"
        }
        fill={INK}
      >
        {words.target}
      </text>
      <text x={PROGRESS_SIDE} y="15" fill={INK}>
        {words.done}
      </text>
    </Figure>
  );
}
