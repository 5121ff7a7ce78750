/**
 * Remote release on the incident board (远程放行): an open e-bike halt offers a form with a reason to
 * the roles the device command table lets issue commands, and every card shows the releases sent
 * for it — who, why, and what became of the command. The form posts with the session's token and
 * calls the same service as POST /v1/sensors/{id}/commands, so scope, table and audit are the API's.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { COMMAND_REASON_MAX, mayIssueDeviceCommands } from "../../../contracts/device-commands.js";
import { isUuid } from "../../../contracts/ids.js";
import { ApiError } from "../../errors.js";
import type { IncidentRow } from "../../services/incidents/incidents.js";
import { commandPorts, type DeviceCommandRow, releaseIncident } from "../../services/sensors/commands.js";
import { formatInstant } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { defineMessages, translator } from "../i18n.js";
import { Form, Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { problemWords } from "../problem-messages.js";

export const releaseWords = defineMessages(
  {
    releases: "远程放行",
    release_by: "由 {name} 远程放行（{reason}）",
    release_by_key: "通过接口远程放行（{reason}）",
    state_pending: "等待发给设备",
    state_sent: "已发给设备，等待回应",
    state_applied: "设备已放行",
    state_refused: "设备拒绝了：{reason}",
    state_expired: "设备没有回应，指令已过期",
    release_button: "远程放行",
    release_reason: "放行理由",
    release_hint: "例如：误报，是婴儿车。理由会记入审计日志。",
    released: "已发出远程放行指令，等待设备回应。",
    refused_title: "没能放行",
    refused_reason: "请写明放行理由（1 到 {max} 个字）。",
    back: "返回告警",
  },
  {
    releases: "Remote release",
    release_by: "Released remotely by {name} ({reason})",
    release_by_key: "Released remotely through the API ({reason})",
    state_pending: "waiting to be sent to the device",
    state_sent: "sent to the device, waiting for its answer",
    state_applied: "the device let the car go",
    state_refused: "the device refused: {reason}",
    state_expired: "the device did not answer; the command expired",
    release_button: "Release remotely",
    release_reason: "Reason for the release",
    release_hint: "For example: a false alarm, it is a stroller. The reason goes into the audit log.",
    released: "The remote release was sent; waiting for the device's answer.",
    refused_title: "Not released",
    refused_reason: "Give a reason for the release (1 to {max} characters).",
    back: "Back to the alert",
  },
);

const words = (c: Context<PortalEnv>) => translator(releaseWords, c.var.lang);

function stateText(t: ReturnType<typeof words>, r: DeviceCommandRow): string {
  if (r.state === "refused") return t("state_refused", { reason: r.resultReason ?? "—" });
  return t(`state_${r.state}`);
}

/** The releases of an incident, and for an open e-bike halt the form, when the person may send it. */
export function IncidentReleases({
  c,
  incident,
  releases,
}: {
  c: Context<PortalEnv>;
  incident: IncidentRow;
  releases: readonly DeviceCommandRow[];
}) {
  const t = words(c);
  const session = c.var.session;
  const offer =
    incident.kind === "ebike" &&
    incident.closedAt === null &&
    session !== null &&
    mayIssueDeviceCommands(session.principal.role);
  if (!releases.length && !offer) return null;
  return (
    <div class="releases">
      {releases.length ? (
        <ul class="release-list">
          {releases.map((r) => (
            <li id={`release-${r.id}`} data-state={r.state}>
              {r.issuedByName
                ? t("release_by", { name: r.issuedByName, reason: r.reason })
                : t("release_by_key", { reason: r.reason })}
              {" · "}
              {formatInstant(r.issuedAt, c.var.lang)}
              {" · "}
              <span
                class={
                  r.state === "applied" ? "ok" : r.state === "pending" || r.state === "sent" ? "" : "fail"
                }
              >
                {stateText(t, r)}
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {offer ? (
        <Form c={c} action={`/incidents/${incident.id}/release`} class="classify">
          <div>
            <label for={`release-reason-${incident.id}`}>{t("release_reason")}</label>
            <input
              id={`release-reason-${incident.id}`}
              name="reason"
              type="text"
              required
              maxlength={COMMAND_REASON_MAX}
              autocomplete="off"
              aria-describedby={`release-hint-${incident.id}`}
            />
            <p class="hint" id={`release-hint-${incident.id}`}>
              {t("release_hint")}
            </p>
          </div>
          <div>
            <button class="secondary" type="submit">
              {t("release_button")}
            </button>
          </div>
        </Form>
      ) : null}
    </div>
  );
}

export const releasePages = new Hono<PortalEnv>();
releasePages.use("/incidents/*", signedIn);

/** A refusal of the release, in the reader's words, with the way back to the incident. */
function refusedPage(c: Context<PortalEnv>, incidentId: string, text: string, status: 400 | 403 | 409 | 422) {
  const t = words(c);
  return c.html(
    <Layout c={c} title={t("refused_title")} current="incidents" styles={["incidents.css"]}>
      <p class="notice error" role="alert">
        {text}
      </p>
      <p>
        <a href={`/incidents/${incidentId}`}>{t("back")}</a>
      </p>
    </Layout>,
    status,
  );
}

releasePages.post("/incidents/:id/release", async (c) => {
  const t = words(c);
  const id = c.req.param("id");
  if (!isUuid(id)) throw ApiError.notFound("The incident");
  const reason = field(await formOf(c), "reason").trim();
  if (!reason || reason.length > COMMAND_REASON_MAX) {
    return refusedPage(c, id, t("refused_reason", { max: COMMAND_REASON_MAX }), 400);
  }
  try {
    await releaseIncident(personContext(c), id, reason, commandPorts(c.var.deps));
  } catch (err) {
    if (err instanceof ApiError && (err.status === 400 || err.status === 403 || err.status === 409)) {
      return refusedPage(c, id, translator(problemWords, c.var.lang)(err.code), err.status);
    }
    throw err;
  }
  return c.redirect(`/incidents/${id}?released=1`, 303);
});

/** The notice of the incident's page after a release was sent (`?released=1`). */
export function releasedNotice(c: Context<PortalEnv>) {
  if (c.req.query("released") !== "1") return null;
  return (
    <p class="notice ok" role="status">
      {words(c)("released")}
    </p>
  );
}
