/**
 * The portal's inline SVG charts: the drawing matches the data (bar lengths in proportion, every
 * bar labelled with its value), the same figures are in a table, money stays exact, and no data
 * is an empty state in words — never NaN.
 */
import { describe, expect, it } from "vitest";
import {
  BarChart,
  type ChartText,
  HorizontalBarChart,
  LineChart,
  ProgressBar,
} from "../../src/pages/charts.js";
import { formatYuan } from "../../src/pages/format.js";
import { textOf } from "../support/portal.js";

const text = (id: string): ChartText => ({
  id,
  title: `图表 ${id}`,
  desc: `说明 ${id}`,
  empty: "还没有数据。",
  table: { summary: "查看数字", label: "项目", value: "数量" },
});

async function html(node: { toString(): string | Promise<string> }): Promise<string> {
  return String(await node.toString());
}

/** The bars of a chart: label, value and the rect's geometry. */
function bars(svg: string) {
  return [...svg.matchAll(/<g class="bar" data-label="([^"]*)" data-value="([^"]*)">([\s\S]*?)<\/g>/g)].map(
    (m) => {
      const rect = /<rect ([^>]*)>/.exec(m[3] ?? "")?.[1] ?? "";
      const attr = (name: string) => Number(new RegExp(`\\b${name}="([^"]*)"`).exec(rect)?.[1]);
      return {
        label: m[1],
        value: m[2],
        x: attr("x"),
        y: attr("y"),
        width: attr("width"),
        height: attr("height"),
      };
    },
  );
}

/** The rows of the data table: [label, written value]. */
function tableRows(out: string): string[][] {
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(out)?.[1] ?? "";
  return [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...(row[1] ?? "").matchAll(/<t[hd][^>]*>([\s\S]*?)<\/t[hd]>/g)].map((cell) => textOf(cell[1] ?? "")),
  );
}

describe("the bar chart", () => {
  it("draws bars whose heights are in proportion to the values, each labelled, and tables the same figures", async () => {
    const out = await html(
      BarChart({
        ...text("weekly"),
        data: [
          { label: "第一周", value: 10, tick: "11/3" },
          { label: "第二周", value: "20" },
          { label: "第三周", value: 5 },
          { label: "第四周", value: 0 },
        ],
        format: (v) => `${v} 次`,
      }),
    );
    const drawn = bars(out);
    expect(drawn.map((b) => [b.label, b.value])).toEqual([
      ["第一周", "10"],
      ["第二周", "20"],
      ["第三周", "5"],
      ["第四周", "0"],
    ]);
    const [a, b, c, d] = drawn.map((x) => x.height);
    expect(b).toBeGreaterThan(100);
    expect(a).toBeCloseTo((b ?? 0) / 2, 1);
    expect(c).toBeCloseTo((b ?? 0) / 4, 1);
    expect(d).toBe(0);
    // Every bar stands on the same baseline.
    expect(new Set(drawn.map((x) => Number((x.y + x.height).toFixed(2)))).size).toBe(1);
    // Values are written on the drawing (not only by colour), ticks under the bars.
    expect(out).toMatch(/<text[^>]*>20 次<\/text>/);
    expect(out).toMatch(/<text[^>]*>11\/3<\/text>/);
    expect(tableRows(out)).toEqual([
      ["第一周", "10 次"],
      ["第二周", "20 次"],
      ["第三周", "5 次"],
      ["第四周", "0 次"],
    ]);
    expect(out).not.toContain("NaN");
  });

  it("is an image named by its title and described by its desc, with no script", async () => {
    const out = await html(BarChart({ ...text("named"), data: [{ label: "甲", value: 1 }] }));
    const svg = /<svg[^>]*>/.exec(out)?.[0] ?? "";
    expect(svg).toContain('role="img"');
    expect(svg).toContain('aria-labelledby="named-title"');
    expect(svg).toContain('aria-describedby="named-desc"');
    expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
    expect(out).toContain('<title id="named-title">图表 named</title>');
    expect(out).toContain('<desc id="named-desc">说明 named</desc>');
    expect(out).toContain('<th scope="row">甲</th>');
    expect(out).toContain('<th scope="col">项目</th>');
    expect(out).not.toMatch(/<script|\son\w+=/i);
  });

  it("with no data shows the empty state in words: no drawing, no table, no NaN", async () => {
    const out = await html(BarChart({ ...text("none"), data: [] }));
    expect(out).toContain('<p class="empty">还没有数据。</p>');
    expect(out).not.toContain("<svg");
    expect(out).not.toContain("<table");
    expect(out).not.toContain("NaN");
  });

  it("with only zeros draws flat bars, not NaN", async () => {
    const out = await html(
      BarChart({
        ...text("zeros"),
        data: [
          { label: "甲", value: "0.00" },
          { label: "乙", value: 0 },
        ],
      }),
    );
    expect(bars(out).map((b) => b.height)).toEqual([0, 0]);
    expect(out).not.toContain("NaN");
  });

  it("refuses a value that is not a number rather than drawing NaN", async () => {
    await expect(async () =>
      html(BarChart({ ...text("bad"), data: [{ label: "甲", value: "abc" }] })),
    ).rejects.toThrow();
    await expect(async () =>
      html(BarChart({ ...text("bad"), data: [{ label: "甲", value: Number.NaN }] })),
    ).rejects.toThrow(/not a number/);
  });
});

describe("the bar chart lying down", () => {
  it("scales money strings exactly and writes them to the fen", async () => {
    const out = await html(
      HorizontalBarChart({
        ...text("money"),
        data: [
          { label: "国伟新苑", value: "1280.50" },
          { label: "一个名字非常非常长的小区", value: "640.25" },
          { label: "市光一村", value: "0.00" },
        ],
        format: formatYuan,
      }),
    );
    const drawn = bars(out);
    const [a, b, c] = drawn.map((x) => x.width);
    expect(a).toBeGreaterThan(100);
    expect(b).toBeCloseTo((a ?? 0) / 2, 1);
    expect(c).toBe(0);
    expect(out).toContain("¥1,280.50");
    expect(out).toContain("¥640.25");
    // A long name is cut on the drawing, whole in the table.
    expect(out).toContain("一个名字非…");
    expect(tableRows(out)).toEqual([
      ["国伟新苑", "¥1,280.50"],
      ["一个名字非常非常长的小区", "¥640.25"],
      ["市光一村", "¥0.00"],
    ]);
  });

  it("with no data shows the empty state", async () => {
    const out = await html(HorizontalBarChart({ ...text("none"), data: [] }));
    expect(out).toContain("还没有数据。");
    expect(out).not.toContain("<svg");
  });
});

describe("the line chart", () => {
  it("draws a point per value, below the dashed zero line when negative (a cash flow)", async () => {
    const out = await html(
      LineChart({
        ...text("cash"),
        data: [
          { label: "第1年", value: "-650000.00" },
          { label: "第2年", value: "-520000.00" },
          { label: "第3年", value: "130000.00" },
        ],
        format: formatYuan,
      }),
    );
    const points = [
      ...out.matchAll(
        /<g class="point" data-label="([^"]*)" data-value="([^"]*)"><circle cx="([^"]*)" cy="([^"]*)"/g,
      ),
    ].map((m) => ({ label: m[1], value: m[2], x: Number(m[3]), y: Number(m[4]) }));
    expect(points.map((p) => p.value)).toEqual(["-650000.00", "-520000.00", "130000.00"]);
    const [first, second, third] = points;
    // Left to right in order; a larger value is higher (a smaller y).
    expect((first?.x ?? 0) < (second?.x ?? 0) && (second?.x ?? 0) < (third?.x ?? 0)).toBe(true);
    expect((first?.y ?? 0) > (second?.y ?? 0) && (second?.y ?? 0) > (third?.y ?? 0)).toBe(true);
    // The zero line lies between the lowest and the highest point, in proportion.
    const zeroY = Number(/<line[^>]*y1="([^"]*)"[^>]*stroke-dasharray/.exec(out)?.[1]);
    const share = ((first?.y ?? 0) - zeroY) / ((first?.y ?? 0) - (third?.y ?? 0));
    expect(share).toBeCloseTo(650000 / 780000, 2);
    expect(out).toContain("¥130,000.00");
    expect(tableRows(out)[0]).toEqual(["第1年", "-¥650,000.00"]);
    expect(out).not.toContain("NaN");
  });

  it("with one value or no value draws no NaN", async () => {
    const one = await html(LineChart({ ...text("one"), data: [{ label: "甲", value: 3 }] }));
    expect(one).toContain("<circle");
    expect(one).not.toContain("NaN");
    const none = await html(LineChart({ ...text("none"), data: [] }));
    expect(none).toContain("还没有数据。");
    expect(none).not.toContain("NaN");
  });
});

describe("the progress bar", () => {
  const words = (done: number, total: number, target: number) => ({
    done: `已改造 ${done} 个`,
    total: `共 ${total} 个`,
    target: `目标 ${target} 个`,
  });

  it("fills as far as is done of the total and marks the target in words", async () => {
    const out = await html(
      ProgressBar({
        ...text("garages"),
        done: 137,
        total: 177,
        target: 153,
        words: words(137, 177, 153),
      }),
    );
    const width = (cls: string) => Number(new RegExp(`class="${cls}"[^>]*width="([^"]*)"`).exec(out)?.[1]);
    const track = width("track");
    expect(width("done") / track).toBeCloseTo(137 / 177, 3);
    const targetX = Number(/class="target" x1="([^"]*)"/.exec(out)?.[1]);
    expect((targetX - 8) / track).toBeCloseTo(153 / 177, 3);
    expect(out).toContain("目标 153 个");
    expect(out).toContain("已改造 137 个");
    expect(tableRows(out)).toEqual([
      ["已改造 137 个", "137"],
      ["共 177 个", "177"],
      ["目标 153 个", "153"],
    ]);
  });

  it("with nothing to count shows the empty state", async () => {
    const out = await html(
      ProgressBar({ ...text("none"), done: 0, total: 0, target: 0, words: words(0, 0, 0) }),
    );
    expect(out).toContain("还没有数据。");
    expect(out).not.toContain("<svg");
    expect(out).not.toContain("NaN");
  });
});
