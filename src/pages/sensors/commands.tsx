/**
 * A sensor's commands (设备指令): what was sent to it and what became of each, for everyone who sees
 * the sensor; for the roles the device command table lets issue them, switching e-bike blocking off
 * until a time (moving day) or on again, and the heartbeat interval. The forms call the same
 * service as POST /v1/sensors/{id}/commands, so scope, table and audit are the API's.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import {
  COMMAND_REASON_MAX,
  HEARTBEAT_INTERVAL_MAX_S,
  HEARTBEAT_INTERVAL_MIN_S,
  mayIssueDeviceCommands,
} from "../../../contracts/device-commands.js";
import { isUuid } from "../../../contracts/ids.js";
import { ApiError } from "../../errors.js";
import {
  commandPorts,
  type DeviceCommandRow,
  type IssueCommand,
  issueDeviceCommand,
  listDeviceCommands,
} from "../../services/sensors/commands.js";
import { getSensor } from "../../services/sensors/sensors.js";
import { formatInstant } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { defineMessages, translator } from "../i18n.js";
import { Form, Layout, TableWrap } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { problemWords } from "../problem-messages.js";

export const commandWords = defineMessages(
  {
    title: "设备指令：{name}",
    lead: "发给这个传感器的指令和设备的回应。指令在 {ttl} 秒内没有回应就会过期。",
    link: "设备指令",
    col_type: "指令",
    col_state: "状态",
    col_by: "发出人",
    col_reason: "理由",
    col_at: "时间",
    none: "还没有发过指令。",
    type_release: "远程放行",
    type_blocking_off: "关闭电动车拦截，直到 {until}",
    type_blocking_on: "恢复电动车拦截",
    type_heartbeat: "心跳间隔改为 {s} 秒",
    state_pending: "等待发送",
    state_sent: "已发送",
    state_applied: "已执行",
    state_refused: "设备拒绝：{reason}",
    state_expired: "未回应，已过期",
    by_key: "接口",
    reason: "理由（必填，记入审计日志）",
    off_heading: "临时关闭电动车拦截",
    off_lead: "例如搬家当天。到时间会自动恢复，最长 {h} 小时。",
    off_until: "恢复时间（北京时间）",
    off_button: "关闭拦截",
    on_heading: "恢复电动车拦截",
    on_button: "恢复拦截",
    heartbeat_heading: "心跳间隔",
    heartbeat_field: "间隔（秒，{min}–{max}）",
    heartbeat_button: "修改间隔",
    sent: "指令已发出，等待设备回应。",
    problem_reason: "请写明理由（1 到 {max} 个字）。",
    problem_until: "请选择恢复时间。",
    problem_heartbeat: "间隔必须是 {min} 到 {max} 之间的整数秒。",
    back: "返回传感器列表",
  },
  {
    title: "Device commands: {name}",
    lead: "Commands sent to this sensor and the device's answers. A command not answered within {ttl} s expires.",
    link: "Commands",
    col_type: "Command",
    col_state: "State",
    col_by: "Sent by",
    col_reason: "Reason",
    col_at: "Time",
    none: "No command was sent yet.",
    type_release: "Remote release",
    type_blocking_off: "E-bike blocking off until {until}",
    type_blocking_on: "E-bike blocking back on",
    type_heartbeat: "Heartbeat every {s} s",
    state_pending: "waiting to be sent",
    state_sent: "sent",
    state_applied: "applied",
    state_refused: "refused by the device: {reason}",
    state_expired: "no answer; expired",
    by_key: "API",
    reason: "Reason (required; goes into the audit log)",
    off_heading: "Switch e-bike blocking off for a while",
    off_lead: "For example on moving day. It comes back on by itself, after {h} hours at most.",
    off_until: "Back on at (Beijing time)",
    off_button: "Switch blocking off",
    on_heading: "Switch e-bike blocking on again",
    on_button: "Switch blocking on",
    heartbeat_heading: "Heartbeat interval",
    heartbeat_field: "Interval (seconds, {min}–{max})",
    heartbeat_button: "Change the interval",
    sent: "The command was sent; waiting for the device's answer.",
    problem_reason: "Give a reason (1 to {max} characters).",
    problem_until: "Choose when blocking comes back on.",
    problem_heartbeat: "The interval must be a whole number of seconds from {min} to {max}.",
    back: "Back to the sensors",
  },
);

type Words = ReturnType<typeof words>;
const words = (c: Context<PortalEnv>) => translator(commandWords, c.var.lang);

/** Commands listed on the page. */
const COMMANDS_SHOWN = 50;

function sensorId(c: Context<PortalEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw ApiError.notFound("The sensor");
  return id;
}

function typeText(t: Words, c: Context<PortalEnv>, r: DeviceCommandRow): string {
  const p = (r.params ?? {}) as { enabled?: boolean; until?: string; intervalS?: number };
  if (r.type === "release") return t("type_release");
  if (r.type === "set_heartbeat") return t("type_heartbeat", { s: p.intervalS ?? "—" });
  if (p.enabled === false && p.until) {
    return t("type_blocking_off", { until: formatInstant(new Date(p.until), c.var.lang) });
  }
  return t("type_blocking_on");
}

function stateText(t: Words, r: DeviceCommandRow): string {
  return r.state === "refused"
    ? t("state_refused", { reason: r.resultReason ?? "—" })
    : t(`state_${r.state}`);
}

function ReasonField({ t, id }: { t: Words; id: string }) {
  return (
    <div>
      <label for={id}>{t("reason")}</label>
      <input id={id} name="reason" type="text" required maxlength={COMMAND_REASON_MAX} autocomplete="off" />
    </div>
  );
}

async function commandsPage(
  c: Context<PortalEnv>,
  notice?: { ok: boolean; text: string },
  status: 200 | 400 | 403 | 409 | 422 = 200,
) {
  const t = words(c);
  const ctx = personContext(c);
  const sensor = await getSensor(ctx, sensorId(c));
  const page = await listDeviceCommands(ctx, sensor.id, { limit: COMMANDS_SHOWN, offset: 0 });
  const deps = c.var.deps;
  const maxH = deps.deviceBlockingOffMaxH ?? 24;
  const offer = mayIssueDeviceCommands(ctx.principal.role) && sensor.revokedAt === null;
  const action = `/sensors/${sensor.id}/commands`;
  return c.html(
    <Layout c={c} title={t("title", { name: sensor.name })} current="sensors" styles={["incidents.css"]}>
      <p class="lead">{t("lead", { ttl: deps.deviceCommandTtlS ?? 120 })}</p>
      {notice ? (
        <p class={`notice ${notice.ok ? "ok" : "error"}`} role={notice.ok ? "status" : "alert"}>
          {notice.text}
        </p>
      ) : null}
      {page.items.length ? (
        <TableWrap label={t("title", { name: sensor.name })}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("col_at")}</th>
                <th scope="col">{t("col_type")}</th>
                <th scope="col">{t("col_state")}</th>
                <th scope="col">{t("col_by")}</th>
                <th scope="col">{t("col_reason")}</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((r) => (
                <tr id={`command-${r.id}`} data-state={r.state}>
                  <td>{formatInstant(r.issuedAt, c.var.lang)}</td>
                  <th scope="row">{typeText(t, c, r)}</th>
                  <td>{stateText(t, r)}</td>
                  <td>{r.issuedByName ?? t("by_key")}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      ) : (
        <p class="empty">{t("none")}</p>
      )}
      {offer ? (
        <>
          <section class="card">
            <h2>{t("off_heading")}</h2>
            <p>{t("off_lead", { h: maxH })}</p>
            <Form c={c} action={action}>
              <input type="hidden" name="type" value="blocking_off" />
              <div>
                <label for="f-until">{t("off_until")}</label>
                <input id="f-until" name="until" type="datetime-local" required />
              </div>
              <ReasonField t={t} id="f-off-reason" />
              <div>
                <button type="submit">{t("off_button")}</button>
              </div>
            </Form>
          </section>
          <section class="card">
            <h2>{t("on_heading")}</h2>
            <Form c={c} action={action}>
              <input type="hidden" name="type" value="blocking_on" />
              <ReasonField t={t} id="f-on-reason" />
              <div>
                <button type="submit">{t("on_button")}</button>
              </div>
            </Form>
          </section>
          <section class="card">
            <h2>{t("heartbeat_heading")}</h2>
            <Form c={c} action={action}>
              <input type="hidden" name="type" value="heartbeat" />
              <div>
                <label for="f-interval">
                  {t("heartbeat_field", { min: HEARTBEAT_INTERVAL_MIN_S, max: HEARTBEAT_INTERVAL_MAX_S })}
                </label>
                <input
                  id="f-interval"
                  name="intervalS"
                  type="number"
                  inputmode="numeric"
                  min={String(HEARTBEAT_INTERVAL_MIN_S)}
                  max={String(HEARTBEAT_INTERVAL_MAX_S)}
                  step="1"
                  required
                  value={String(sensor.heartbeatIntervalS)}
                />
              </div>
              <ReasonField t={t} id="f-heartbeat-reason" />
              <div>
                <button type="submit">{t("heartbeat_button")}</button>
              </div>
            </Form>
          </section>
        </>
      ) : null}
      <p>
        <a href="/sensors">{t("back")}</a>
      </p>
    </Layout>,
    status,
  );
}

/** A `datetime-local` value (no zone) read as Beijing time: the portal's times are Asia/Shanghai. */
function shanghaiInstant(local: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return null;
  const at = new Date(`${local.length === 16 ? `${local}:00` : local}+08:00`);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

export const sensorCommandPages = new Hono<PortalEnv>();
sensorCommandPages.use("/sensors/*", signedIn);

sensorCommandPages.get("/sensors/:id/commands", (c) =>
  commandsPage(c, c.req.query("sent") === "1" ? { ok: true, text: words(c)("sent") } : undefined),
);

sensorCommandPages.post("/sensors/:id/commands", async (c) => {
  const t = words(c);
  const id = sensorId(c);
  const body = await formOf(c);
  const reason = field(body, "reason").trim();
  if (!reason || reason.length > COMMAND_REASON_MAX) {
    return commandsPage(c, { ok: false, text: t("problem_reason", { max: COMMAND_REASON_MAX }) }, 400);
  }
  let input: IssueCommand;
  switch (field(body, "type")) {
    case "blocking_off": {
      const until = shanghaiInstant(field(body, "until"));
      if (!until) return commandsPage(c, { ok: false, text: t("problem_until") }, 400);
      input = { type: "set_blocking", enabled: false, until, reason };
      break;
    }
    case "blocking_on":
      input = { type: "set_blocking", enabled: true, reason };
      break;
    case "heartbeat": {
      const s = Number(field(body, "intervalS"));
      if (!Number.isInteger(s) || s < HEARTBEAT_INTERVAL_MIN_S || s > HEARTBEAT_INTERVAL_MAX_S) {
        const bounds = { min: HEARTBEAT_INTERVAL_MIN_S, max: HEARTBEAT_INTERVAL_MAX_S };
        return commandsPage(c, { ok: false, text: t("problem_heartbeat", bounds) }, 400);
      }
      input = { type: "set_heartbeat", intervalSeconds: s, reason };
      break;
    }
    default:
      throw new ApiError(400, "bad_request", "Bad request", "The form names no command.");
  }
  try {
    await issueDeviceCommand(personContext(c), id, input, commandPorts(c.var.deps));
  } catch (err) {
    if (
      err instanceof ApiError &&
      (err.status === 400 || err.status === 403 || err.status === 409 || err.status === 422)
    ) {
      return commandsPage(c, { ok: false, text: translator(problemWords, c.var.lang)(err.code) }, err.status);
    }
    throw err;
  }
  return c.redirect(`/sensors/${id}/commands?sent=1`, 303);
});

/** The link from the sensors list to a sensor's commands. */
export function CommandsLink({
  c,
  sensorId: id,
  name,
}: {
  c: Context<PortalEnv>;
  sensorId: string;
  name: string;
}) {
  const t = words(c);
  return (
    <a href={`/sensors/${id}/commands`} aria-label={`${t("link")}：${name}`}>
      {t("link")}
    </a>
  );
}
