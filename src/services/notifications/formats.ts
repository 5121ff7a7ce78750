/**
 * What a notification looks like on each channel: one zh-CN message per type (from the cause's
 * payload, `NotificationPayloads`), then the channel's shape: a signed Standard Webhooks JSON
 * body, a WeChat Work group robot's markdown message, or a DingTalk robot's (with its signed URL).
 * Pure but for Web Crypto, so it runs on Node and Workers alike.
 */
import type {
  NotificationChannel,
  NotificationPayloads,
  NotificationType,
} from "../../../contracts/notifications.js";
import { dingtalkSignedUrl, signWebhook } from "./signing.js";

/** A message before it takes a channel's shape. */
export interface Message {
  title: string;
  lines: { label?: string; text: string }[];
}

const SHANGHAI = new Intl.DateTimeFormat("sv-SE", {
  timeZone: "Asia/Shanghai",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
});

/**
 * A payload's value as one line of text: a cause recorded by an older producer may lack a field,
 * and the message is still sent (with "—"); line breaks are flattened so that a name cannot add
 * lines of its own to the markdown.
 */
function show(value: unknown): string {
  if (value === undefined || value === null || value === "") return "—";
  return String(value)
    .replace(/[\r\n]+/g, " ")
    .slice(0, 200);
}

/** An ISO instant as Shanghai wall time, "2025-03-01 10:00"; the text itself if it is not one. */
function when(value: unknown): string {
  if (typeof value !== "string") return show(value);
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? show(value) : SHANGHAI.format(d);
}

const COMMAND_NAMES: Record<string, string> = {
  release: "远程放行",
  set_blocking: "阻止开关",
  set_heartbeat: "心跳间隔",
};
const COMMITTEE_ACTIONS: Record<string, string> = { review: "审阅", vote: "业主表决", sign: "签署" };

type Renderer<T extends NotificationType> = (p: Partial<NotificationPayloads[T]>) => Message;

const RENDERERS: { [T in NotificationType]: Renderer<T> } = {
  ebike_halt_opened: (p) => ({
    title: "电动车进入电梯，轿厢已停运",
    lines: [
      { label: "小区", text: show(p.communityName) },
      { label: "电梯", text: show(p.facilityName) },
      { label: "发生时间", text: when(p.openedAt) },
      { text: "请尽快到场处理，并在平台上确认告警。" },
    ],
  }),
  halt_unacknowledged: (p) => ({
    title: `电动车告警 ${show(p.afterMinutes)} 分钟无人处理`,
    lines: [
      { label: "小区", text: show(p.communityName) },
      { label: "电梯", text: show(p.facilityName) },
      { label: "发生时间", text: when(p.openedAt) },
      { text: "告警仍未确认，已逐级上报。" },
    ],
  }),
  sensor_offline: (p) => ({
    title: "电梯传感器离线",
    lines: [
      { label: "小区", text: show(p.communityName) },
      { label: "电梯", text: show(p.facilityName) },
      { label: "传感器", text: show(p.sensorName) },
      { label: "离线时间", text: when(p.since) },
    ],
  }),
  command_failed: (p) => ({
    title: "设备指令未执行",
    lines: [
      { label: "指令", text: show(COMMAND_NAMES[p.commandType ?? ""] ?? p.commandType) },
      { label: "电梯", text: show(p.facilityName) },
      { label: "传感器", text: show(p.sensorName) },
      {
        label: "结果",
        text: p.result === "refused" ? "设备拒绝" : p.result === "expired" ? "超时未执行" : show(p.result),
      },
      ...(p.reason ? [{ label: "原因", text: show(p.reason) }] : []),
    ],
  }),
  subscription_suspended: (p) => ({
    title: "住户欠费，使用权已暂停",
    lines: [
      { label: "小区", text: show(p.communityName) },
      { label: "住户", text: show(p.householdLabel) },
      { label: "欠费金额", text: p.overdueAmount ? `¥${show(p.overdueAmount)}` : "—" },
    ],
  }),
  contract_awaiting_committee: (p) => ({
    title: "合同等待业委会处理",
    lines: [
      { label: "合同", text: show(p.title) },
      { label: "待办", text: show(COMMITTEE_ACTIONS[p.action ?? ""] ?? p.action) },
    ],
  }),
  transfer_due: (p) => ({
    title: `合同将于 ${show(p.daysLeft)} 天后移交`,
    lines: [
      { label: "合同", text: show(p.title) },
      { label: "移交日期", text: show(p.transferDate) },
    ],
  }),
  report_filed: (p) => ({
    title: "运营报告已提交",
    lines: [
      { label: "合同", text: show(p.title) },
      { label: "期间", text: show(p.period) },
      { label: "企业", text: show(p.enterpriseName) },
    ],
  }),
  daily_digest: (p) => {
    const offline = Array.isArray(p.sensorsOffline) ? p.sensorsOffline : [];
    const shown = offline.slice(0, 20).map((s) => `${show(s?.facilityName)}（${show(s?.sensorName)}）`);
    if (offline.length > shown.length) shown.push(`等 ${offline.length} 个`);
    return {
      title: `电梯电动车日报 ${show(p.date)}`,
      lines: [
        { label: "有电动车进入的电梯", text: `${show(p.elevatorsWithEntries)} 部` },
        { label: "停梯", text: `${show(p.halts)} 次` },
        { label: "误报", text: `${show(p.falseAlarms)} 次` },
        { label: "离线传感器", text: shown.length ? shown.join("、") : "无" },
      ],
    };
  },
  test_ping: () => ({
    title: "测试消息",
    lines: [{ text: "这是一条测试消息：收到即说明提醒渠道配置正确。" }],
  }),
};

/** The zh-CN message of a notification; a payload of the wrong shape still renders (with "—"). */
export function renderMessage(type: NotificationType, payload: unknown): Message {
  const p = (payload && typeof payload === "object" ? payload : {}) as Record<string, unknown>;
  return (RENDERERS[type] as Renderer<NotificationType>)(p);
}

const lineText = (l: Message["lines"][number]) => (l.label ? `${l.label}：${l.text}` : l.text);

/** WeChat Work group robot: `{"msgtype":"markdown","markdown":{"content":…}}` (content ≤ 4096 bytes). */
export function wecomBody(m: Message): { msgtype: "markdown"; markdown: { content: string } } {
  const content = [`### ${m.title}`, ...m.lines.map((l) => `> ${lineText(l)}`)].join("\n");
  return { msgtype: "markdown", markdown: { content: truncateUtf8(content, 4000) } };
}

/** DingTalk robot: `{"msgtype":"markdown","markdown":{"title":…,"text":…}}` (title: the notice's preview). */
export function dingtalkBody(m: Message): { msgtype: "markdown"; markdown: { title: string; text: string } } {
  // DingTalk's markdown needs a blank line between paragraphs.
  const text = [`### ${m.title}`, ...m.lines.map((l) => `- ${lineText(l)}`)].join("\n\n");
  return { msgtype: "markdown", markdown: { title: m.title, text: truncateUtf8(text, 4000) } };
}

function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  // Cut at a character boundary: decode what fits, drop a broken last character.
  return `${new TextDecoder().decode(bytes.slice(0, maxBytes - 3)).replace(/\uFFFD$/, "")}…`;
}

/** What is sent for one attempt: where, with which headers, which body. */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface OutboundNotification {
  /** The delivery id (`notifications.id`). */
  id: string;
  type: NotificationType;
  payload: unknown;
  occurredAt: Date;
}

/** The request of one attempt; signed at `now` (a retry is signed again, with its own timestamp). */
export async function buildRequest(
  n: OutboundNotification,
  endpoint: { channel: NotificationChannel; url: string; secret: string | null },
  now: Date,
): Promise<OutboundRequest> {
  const json = { "content-type": "application/json" };
  switch (endpoint.channel) {
    case "webhook": {
      const body = JSON.stringify({
        id: n.id,
        type: n.type,
        occurredAt: n.occurredAt.toISOString(),
        data: n.payload,
      });
      if (!endpoint.secret) throw new Error("a webhook endpoint has no signing secret");
      const signed = await signWebhook(endpoint.secret, n.id, Math.floor(now.getTime() / 1000), body);
      return { url: endpoint.url, headers: { ...json, ...signed }, body };
    }
    case "wecom":
      return {
        url: endpoint.url,
        headers: json,
        body: JSON.stringify(wecomBody(renderMessage(n.type, n.payload))),
      };
    case "dingtalk":
      return {
        url: endpoint.secret
          ? await dingtalkSignedUrl(endpoint.url, endpoint.secret, now.getTime())
          : endpoint.url,
        headers: json,
        body: JSON.stringify(dingtalkBody(renderMessage(n.type, n.payload))),
      };
  }
}
