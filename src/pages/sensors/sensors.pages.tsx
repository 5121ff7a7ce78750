/**
 * The sensors page (传感器): each sensor's health in the person's scope (online or offline, last
 * seen, heartbeat, open offline alerts); for the enterprise that owns the sensors, registering one
 * and rotating its key (the key shown this once, like an invitation link).
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { isUuid } from "../../../contracts/ids.js";
import { decidePermission } from "../../../contracts/permissions.js";
import { isOrgPrincipal, type Principal } from "../../auth/principal.js";
import { ApiError } from "../../errors.js";
import { Name } from "../../openapi.js";
import { listFacilities } from "../../services/facilities.js";
import { listIncidents } from "../../services/incidents/incidents.js";
import {
  listSensors,
  registerSensor,
  rotateSensorKey,
  type SensorPorts,
  type SensorRow,
  type SensorWithKey,
} from "../../services/sensors/sensors.js";
import { formatInstant } from "../format.js";
import { field, formOf, signedIn } from "../guards.js";
import { type Translate, translator } from "../i18n.js";
import { elevatorNames } from "../incidents/places.js";
import { Field, Form, Layout, TableWrap } from "../layout.js";
import { type PortalEnv, personContext } from "../portal-env.js";
import { CommandsLink, sensorCommandPages } from "./commands.js";
import { sensorWords } from "./messages.js";

export const sensorPages = new Hono<PortalEnv>();
sensorPages.use("/sensors", signedIn);
sensorPages.use("/sensors/*", signedIn);
sensorPages.route("/", sensorCommandPages);

type Words = Translate<keyof (typeof sensorWords)["zh-CN"]>;

/** Sensors listed on one page (a street's elevators). */
const SENSORS_MAX = 500;

const words = (c: Context<PortalEnv>): Words => translator(sensorWords, c.var.lang);

/** What a change of a sensor's login tells besides the database: the broker, the ingest's cache. */
function ports(c: Context<PortalEnv>): SensorPorts {
  const { devices, ingest, sensorHeartbeatS } = c.var.deps;
  return { devices, ingest, logger: c.var.logger, defaultHeartbeatS: sensorHeartbeatS };
}

function allowed(p: Principal, command: Parameters<typeof decidePermission>[0]): boolean {
  return decidePermission(command, { role: p.role, organization: isOrgPrincipal(p) }).ok;
}

interface Shown {
  issued?: { sensor: SensorWithKey["sensor"]; key: string; rotated: boolean };
  problems?: Record<string, string>;
  values?: { facilityId?: string; name?: string; heartbeat?: string };
  refusal?: string;
}

async function sensorsPage(
  c: Context<PortalEnv>,
  shown: Shown = {},
  status: 200 | 400 | 403 | 409 | 503 = 200,
) {
  const t = words(c);
  const lang = c.var.lang;
  const ctx = personContext(c);
  const p = ctx.principal;
  const [sensors, offline] = await Promise.all([
    listSensors(ctx, { limit: SENSORS_MAX, offset: 0 }),
    listIncidents(ctx, { kind: "sensor_offline", state: "open", limit: SENSORS_MAX, offset: 0 }),
  ]);
  const openOffline = new Map<string, number>();
  for (const i of offline.items) openOffline.set(i.sensorId, (openOffline.get(i.sensorId) ?? 0) + 1);
  // The elevators a sensor may be registered on, as the permission table says (enterprise only).
  const mayRegister = allowed(p, {
    type: "register_sensor",
    facility: { isElevator: true, operatedByActor: true },
  });
  const elevators = mayRegister
    ? (await listFacilities(ctx, { kind: "elevator", limit: SENSORS_MAX, offset: 0 })).items.filter((f) =>
        allowed(p, {
          type: "register_sensor",
          facility: { isElevator: f.kind === "elevator", operatedByActor: f.operatorOrgId === p.orgId },
        }),
      )
    : [];
  const names = await elevatorNames(ctx, [
    ...sensors.items.map((s) => s.facilityId),
    ...elevators.map((e) => e.id),
  ]);
  const elevatorLabel = (facilityId: string) => {
    const n = names.get(facilityId);
    return n ? [n.name, n.building, n.community].filter(Boolean).join(" · ") : t("unknown_elevator");
  };
  const mayRotate = (s: SensorRow) =>
    allowed(p, { type: "rotate_sensor_key", sensor: { revoked: s.revokedAt !== null } });
  const rotateColumn = sensors.items.some(mayRotate);
  const values = shown.values ?? {};
  const problems = shown.problems ?? {};
  return c.html(
    <Layout c={c} title={t("title")} current="sensors" styles={["incidents.css"]}>
      <p class="lead">{t("lead")}</p>
      {shown.refusal ? (
        <p class="notice error" role="alert">
          {shown.refusal}
        </p>
      ) : null}
      {shown.issued ? (
        <div class="notice ok" role="status">
          <h2>{t("key_title")}</h2>
          {shown.issued.rotated ? <p>{t("rotated")}</p> : null}
          <p>{t("key_sensor_id", { id: shown.issued.sensor.id })}</p>
          <p class="secret" data-testid="sensor-key">
            {shown.issued.key}
          </p>
          <p>{t("key_hint", { name: shown.issued.sensor.name })}</p>
        </div>
      ) : null}
      {sensors.items.length ? (
        // Focusable, so a keyboard can scroll the table sideways on a phone (it has no link to tab to).
        <TableWrap label={t("title")}>
          <table>
            <thead>
              <tr>
                <th scope="col">{t("col_sensor")}</th>
                <th scope="col">{t("col_elevator")}</th>
                <th scope="col">{t("col_state")}</th>
                <th scope="col">{t("col_last_seen")}</th>
                <th scope="col">{t("col_heartbeat")}</th>
                <th scope="col">{t("col_offline")}</th>
                {rotateColumn ? (
                  <th scope="col">
                    <span class="visually-hidden">{t("col_key")}</span>
                  </th>
                ) : null}
              </tr>
            </thead>
            <tbody>
              {sensors.items.map((s) => {
                const open = openOffline.get(s.id) ?? 0;
                return (
                  <tr id={`sensor-${s.id}`}>
                    <th scope="row">
                      {s.name} <CommandsLink c={c} sensorId={s.id} name={s.name} />
                    </th>
                    <td>{elevatorLabel(s.facilityId)}</td>
                    <td>
                      {s.revokedAt ? (
                        <span class="badge">{t("revoked")}</span>
                      ) : s.online ? (
                        <span class="badge ok">✓ {t("online")}</span>
                      ) : (
                        <span class="badge alert">✕ {t("offline")}</span>
                      )}
                    </td>
                    <td>{s.lastSeenAt ? formatInstant(s.lastSeenAt, lang) : t("never")}</td>
                    <td>{t("every_s", { s: s.heartbeatIntervalS })}</td>
                    <td>
                      {open ? <span class="fail">{t("offline_open", { n: open })}</span> : t("offline_none")}
                    </td>
                    {rotateColumn ? (
                      <td>
                        {mayRotate(s) ? (
                          <Form c={c} action={`/sensors/${s.id}/rotate-key`} class="inline">
                            <button
                              class="secondary"
                              type="submit"
                              aria-label={`${t("rotate_button")}：${s.name}`}
                            >
                              {t("rotate_button")}
                            </button>
                          </Form>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </TableWrap>
      ) : (
        <p class="empty">{t("none")}</p>
      )}
      {mayRegister ? (
        <section class="card">
          <h2>{t("register_heading")}</h2>
          <p>{t("register_lead")}</p>
          {elevators.length ? (
            <Form c={c} action="/sensors">
              <div>
                <label for="f-facilityId">{t("field_elevator")}</label>
                <select
                  id="f-facilityId"
                  name="facilityId"
                  required
                  aria-invalid={problems.facilityId ? "true" : undefined}
                  aria-describedby={problems.facilityId ? "f-facilityId-error" : undefined}
                >
                  {elevators.map((e) => (
                    <option value={e.id} selected={values.facilityId === e.id}>
                      {elevatorLabel(e.id)}
                    </option>
                  ))}
                </select>
                {problems.facilityId ? (
                  <p class="fail" id="f-facilityId-error">
                    {problems.facilityId}
                  </p>
                ) : null}
              </div>
              <Field
                name="name"
                label={t("field_name")}
                hint={t("field_name_hint")}
                value={values.name}
                error={problems.name}
                required
                autocomplete="off"
              />
              <Field
                name="heartbeatIntervalS"
                label={t("field_heartbeat")}
                hint={t("field_heartbeat_hint")}
                type="number"
                inputmode="numeric"
                min="5"
                step="1"
                value={values.heartbeat}
                error={problems.heartbeatIntervalS}
              />
              <div>
                <button type="submit">{t("register_button")}</button>
              </div>
            </Form>
          ) : (
            <p class="empty">{t("register_none")}</p>
          )}
        </section>
      ) : null}
    </Layout>,
    status,
  );
}

/** A refusal of the services in words on the page (403, 409, 503); a 404 stays the 404 page. */
async function orRefusal(c: Context<PortalEnv>, act: () => Promise<Response>): Promise<Response> {
  try {
    return await act();
  } catch (err) {
    if (err instanceof ApiError && (err.status === 403 || err.status === 409 || err.status === 503)) {
      return sensorsPage(
        c,
        { refusal: words(c)("refused", { detail: err.detail ?? err.title }) },
        err.status,
      );
    }
    throw err;
  }
}

sensorPages.get("/sensors", (c) => sensorsPage(c));

sensorPages.post("/sensors", async (c) => {
  const t = words(c);
  const body = await formOf(c);
  const facilityId = field(body, "facilityId");
  const name = Name.safeParse(field(body, "name").trim());
  const heartbeat = field(body, "heartbeatIntervalS").trim();
  const seconds = heartbeat === "" ? undefined : Number(heartbeat);
  const problems: Record<string, string> = {};
  if (!isUuid(facilityId)) problems.facilityId = t("problem_elevator");
  if (!name.success || !name.data) problems.name = t("problem_name");
  if (seconds !== undefined && !(Number.isInteger(seconds) && seconds >= 5 && seconds <= 3600)) {
    problems.heartbeatIntervalS = t("problem_heartbeat");
  }
  const values = { facilityId, name: field(body, "name"), heartbeat };
  if (Object.keys(problems).length || !name.success) return sensorsPage(c, { problems, values }, 400);
  return orRefusal(c, async () => {
    try {
      const issued = await registerSensor(
        personContext(c),
        {
          facilityId,
          name: name.data,
          ...(seconds !== undefined ? { heartbeatIntervalSeconds: seconds } : {}),
        },
        ports(c),
      );
      return sensorsPage(c, { issued: { ...issued, rotated: false } });
    } catch (err) {
      // The table's 400: not an elevator this enterprise operates.
      if (err instanceof ApiError && err.status === 400) {
        return sensorsPage(c, { problems: { facilityId: t("problem_elevator") }, values }, 400);
      }
      throw err;
    }
  });
});

sensorPages.post("/sensors/:id/rotate-key", async (c) => {
  const id = c.req.param("id");
  if (!isUuid(id)) throw ApiError.notFound("The sensor");
  return orRefusal(c, async () => {
    const issued = await rotateSensorKey(personContext(c), id, ports(c));
    return sensorsPage(c, { issued: { ...issued, rotated: true } });
  });
});
