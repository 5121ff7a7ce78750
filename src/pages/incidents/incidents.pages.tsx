/**
 * The live incident board (电梯告警) of the property company, also read by the owners committee and
 * the street office (each in the scope the incidents service gives them): open incidents first,
 * e-bike halts marked by a badge, a colour and words; one or two taps to acknowledge and classify.
 * A script asset keeps the board live over the incident feed (./board.assets.ts).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { isUuid } from "../../../contracts/ids.js";
import { decidePermission } from "../../../contracts/permissions.js";
import { isOrgPrincipal, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import { openIncidentFeed } from "../../services/incidents/feed.js";
import {
  type Acknowledgement,
  acknowledgeIncident,
  getIncident,
  type IncidentRow,
  listIncidents,
} from "../../services/incidents/incidents.js";
import { type DeviceCommandRow, incidentReleases } from "../../services/sensors/commands.js";
import { formatInstant } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { type Translate, translator } from "../i18n.js";
import { Form, Layout } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { incidentWords } from "./messages.js";
import { type ElevatorName, elevatorNames } from "./places.js";
import { IncidentReleases, releasedNotice, releasePages } from "./release.js";
import { IncidentSnapshots } from "./snapshots.js";

export const incidentPages = new Hono<PortalEnv>();
incidentPages.use("/incidents", signedIn);
incidentPages.use("/incidents/*", signedIn);
incidentPages.route("/", releasePages);

type Words = Translate<keyof (typeof incidentWords)["zh-CN"]>;
type Reason = NonNullable<IncidentRow["falseAlarmReason"]>;

/** The reasons a false alarm is given with (the service's type checks the list). */
const REASONS = ["stroller", "wheelchair", "bicycle", "other"] as const satisfies readonly Reason[];

/** Open incidents shown at most (an open incident is rare: a halt lasts minutes). */
const OPEN_MAX = 100;
/** Ended incidents shown below them. */
const CLOSED_MAX = 30;

const words = (c: Context<PortalEnv>): Words => translator(incidentWords, c.var.lang);

/** The incident id of the path; an id that can not be one is an incident that does not exist. */
function incidentId(c: Context<PortalEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!isUuid(id)) throw ApiError.notFound("The incident");
  return id;
}

/** Whether the permission table lets this person acknowledge the incident now (the buttons shown). */
function mayAcknowledge(p: Principal, incident: IncidentRow): boolean {
  return decidePermission(
    {
      type: "acknowledge_incident",
      incident: { kind: incident.kind, acknowledged: incident.acknowledgedAt !== null },
      classification: "confirmed",
      hasReason: false,
    },
    { role: p.role, organization: isOrgPrincipal(p) },
  ).ok;
}

function kindLabel(t: Words, i: IncidentRow): string {
  if (i.kind === "sensor_offline") return t("kind_sensor_offline");
  return t(i.closedAt ? "kind_ebike_closed" : "kind_ebike_open");
}

function statusLabel(t: Words, i: IncidentRow): string {
  if (i.kind !== "ebike") return t("status_not_classified");
  if (!i.acknowledgedAt) return t("status_waiting");
  const status =
    i.classification === "false_alarm"
      ? t("status_false_alarm", { reason: t(`reason_${i.falseAlarmReason ?? "other"}`) })
      : t("status_confirmed");
  return i.acknowledgedByName ? t("status_by", { status, name: i.acknowledgedByName }) : status;
}

function placeOf(t: Words, name: ElevatorName | undefined): { title: string; line: string } {
  if (!name) return { title: t("place_unknown"), line: "" };
  return {
    title: name.name,
    line: [name.community, name.building].filter(Boolean).join(" · "),
  };
}

function IncidentCard({
  c,
  incident: i,
  name,
  headingLevel = 3,
  releases = [],
}: {
  c: Context<PortalEnv>;
  incident: IncidentRow;
  name: ElevatorName | undefined;
  headingLevel?: 2 | 3;
  releases?: readonly DeviceCommandRow[];
}) {
  const t = words(c);
  const lang = c.var.lang;
  const open = i.closedAt === null;
  const halt = i.kind === "ebike" && open;
  const place = placeOf(t, name);
  const kind = kindLabel(t, i);
  const status = statusLabel(t, i);
  const opened = formatInstant(i.openedAt, lang);
  const session = c.var.session;
  const acknowledge = session ? mayAcknowledge(session.principal, i) : false;
  const Heading = headingLevel === 2 ? "h2" : "h3";
  const minutes = i.haltSeconds === null ? null : Math.floor(i.haltSeconds / 60);
  return (
    <li
      id={`incident-${i.id}`}
      class={`card incident${halt ? " halt" : ""}${i.kind === "sensor_offline" ? " offline" : ""}`}
      data-state={open ? "open" : "closed"}
      data-announce-opened={t("announce_opened", { kind, place: place.title, at: opened })}
      data-announce-changed={t("announce_changed", { kind, place: place.title, status })}
    >
      <Heading>
        <span class={`badge${halt ? " alert" : ""}`}>
          {halt ? "⚠ " : ""}
          {kind}
        </span>{" "}
        <a href={`/incidents/${i.id}`}>{place.title}</a>
      </Heading>
      {place.line ? <p class="place">{place.line}</p> : null}
      {halt ? <p class="halt-now">{t("halt_now")}</p> : null}
      {open && i.kind === "sensor_offline" ? <p class="place">{t("offline_now")}</p> : null}
      <dl class="facts">
        <dt>{t("opened_at")}</dt>
        <dd>{opened}</dd>
        <dt>{t("closed_at")}</dt>
        <dd>{i.closedAt ? formatInstant(i.closedAt, lang) : t("still_open")}</dd>
        {i.kind === "ebike" ? (
          <>
            <dt>{t("halt_time")}</dt>
            <dd>
              {minutes === null || i.haltSeconds === null
                ? t("still_open")
                : t("halt_duration", { m: minutes, s: i.haltSeconds % 60 })}
            </dd>
            <dt>{t("detections")}</dt>
            <dd>{t("detections_n", { n: i.detections })}</dd>
          </>
        ) : null}
        <dt>{t("status")}</dt>
        <dd>{status}</dd>
      </dl>
      <IncidentSnapshots c={c} incident={i} />
      {acknowledge ? (
        <div class="actions">
          <Form c={c} action={`/incidents/${i.id}/acknowledge`} class="inline">
            <input type="hidden" name="classification" value="confirmed" />
            <button type="submit">{t("confirm_button")}</button>
          </Form>
          <Form c={c} action={`/incidents/${i.id}/acknowledge`} class="classify">
            <input type="hidden" name="classification" value="false_alarm" />
            <div>
              <label for={`reason-${i.id}`}>{t("false_alarm_reason")}</label>
              <select id={`reason-${i.id}`} name="reason" required>
                <option value="">{t("false_alarm_pick")}</option>
                {REASONS.map((r) => (
                  <option value={r}>{t(`reason_${r}`)}</option>
                ))}
              </select>
            </div>
            <div>
              <label for={`note-${i.id}`}>{t("note")}</label>
              <input id={`note-${i.id}`} name="note" type="text" maxlength={2000} autocomplete="off" />
            </div>
            <div>
              <button class="secondary" type="submit">
                {t("false_alarm_button")}
              </button>
            </div>
          </Form>
        </div>
      ) : null}
      <IncidentReleases c={c} incident={i} releases={releases} />
    </li>
  );
}

async function boardPage(
  c: Context<PortalEnv>,
  notice?: { ok: boolean; text: string },
  status: 200 | 400 | 403 | 409 = 200,
) {
  const t = words(c);
  const ctx = personContext(c);
  // The feed's cursor first: a change committed while the lists are read is sent by the feed.
  const feed = await openIncidentFeed(ctx, {});
  const [open, closed] = await Promise.all([
    listIncidents(ctx, { state: "open", limit: OPEN_MAX, offset: 0 }),
    listIncidents(ctx, { state: "closed", limit: CLOSED_MAX, offset: 0 }),
  ]);
  const names = await elevatorNames(
    ctx,
    [...open.items, ...closed.items].map((i) => i.facilityId),
  );
  const releases = await incidentReleases(
    ctx,
    [...open.items, ...closed.items].map((i) => i.id),
  );
  const list = (items: IncidentRow[], id: string, empty: string) => (
    <>
      <p class="empty" id={`${id}-empty`} hidden={items.length > 0}>
        {empty}
      </p>
      <ol class="incidents" id={id} hidden={items.length === 0}>
        {items.map((i) => (
          <IncidentCard c={c} incident={i} name={names.get(i.facilityId)} releases={releases.get(i.id)} />
        ))}
      </ol>
    </>
  );
  return c.html(
    <Layout
      c={c}
      title={t("board_title")}
      current="incidents"
      scripts={["incidents-board.js"]}
      styles={["incidents.css"]}
    >
      <div
        data-incident-board
        data-feed={`/v1/incidents/stream?lastEventId=${feed.cursor}`}
        data-live-on={t("board_live_on")}
        data-live-off={t("board_live_off")}
      >
        <p class="lead">{t("board_lead")}</p>
        <p id="board-status" class="hint" hidden />
        <p id="board-announce" class="visually-hidden" aria-live="polite" />
        {notice ? (
          <p class={`notice ${notice.ok ? "ok" : "error"}`} role={notice.ok ? "status" : "alert"}>
            {notice.text}
          </p>
        ) : null}
        <h2>{t("open_heading")}</h2>
        {list(open.items, "open-incidents", t("open_none"))}
        <h2>{t("closed_heading")}</h2>
        {list(closed.items, "closed-incidents", t("closed_none"))}
      </div>
    </Layout>,
    status,
  );
}

incidentPages.get("/incidents", (c) => {
  const t = words(c);
  const done = c.req.query("classified");
  const notice =
    done === "confirmed" || done === "false_alarm"
      ? { ok: true, text: t(done === "confirmed" ? "classified_confirmed" : "classified_false_alarm") }
      : undefined;
  return boardPage(c, notice);
});

/** One incident's card alone: what the board's script puts in place when the feed says it changed. */
incidentPages.get("/incidents/:id/card", async (c) => {
  const ctx = personContext(c);
  const incident = await getIncident(ctx, incidentId(c));
  const names = await elevatorNames(ctx, [incident.facilityId]);
  const releases = await incidentReleases(ctx, [incident.id]);
  return c.html(
    <IncidentCard
      c={c}
      incident={incident}
      name={names.get(incident.facilityId)}
      releases={releases.get(incident.id)}
    />,
  );
});

incidentPages.get("/incidents/:id", async (c) => {
  const t = words(c);
  const ctx = personContext(c);
  const incident = await getIncident(ctx, incidentId(c));
  const names = await elevatorNames(ctx, [incident.facilityId]);
  const releases = await incidentReleases(ctx, [incident.id]);
  return c.html(
    <Layout c={c} title={t("detail_title")} current="incidents" styles={["incidents.css"]}>
      {releasedNotice(c)}
      <ol class="incidents">
        <IncidentCard
          c={c}
          incident={incident}
          name={names.get(incident.facilityId)}
          headingLevel={2}
          releases={releases.get(incident.id)}
        />
      </ol>
      <p>
        <a href="/incidents">{t("back_to_board")}</a>
      </p>
    </Layout>,
  );
});

/** The table's refusals in the reader's words, shown on the board (a 404 stays the 404 page). */
function refusalText(t: Words, err: ApiError): string {
  if (err.status === 403) return t("refused_forbidden");
  if (err.code === "already_acknowledged") return t("refused_already");
  if (err.code === "not_classifiable") return t("refused_not_classifiable");
  if (err.status === 400) return t("refused_reason");
  return t("refused_other", { detail: err.detail ?? err.title });
}

incidentPages.post("/incidents/:id/acknowledge", async (c) => {
  const t = words(c);
  const body = await formOf(c);
  const classification = field(body, "classification") === "confirmed" ? "confirmed" : "false_alarm";
  const reason = REASONS.find((r) => r === field(body, "reason"));
  const note = field(body, "note").trim();
  const input: Acknowledgement = {
    classification,
    ...(reason ? { reason } : {}),
    ...(note ? { note: note.slice(0, 2000) } : {}),
  };
  try {
    await acknowledgeIncident(personContext(c), incidentId(c), input);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 400 || err.status === 403 || err.status === 409)) {
      return boardPage(c, { ok: false, text: refusalText(t, err) }, err.status);
    }
    throw err;
  }
  return c.redirect(`/incidents?classified=${classification}`, 303);
});
