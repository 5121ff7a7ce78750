/**
 * The app as Mosquitto's dynamic-security admin (MQTT_URL set): one MQTT connection of its own,
 * with the ingest's login (MQTT_USERNAME, whose role may administer the plugin, iot/dynsec.ts) and
 * the client id `<MQTT_CLIENT_ID>-admin`, apart from the consumer's connections.
 *
 * - Registration creates the sensor's role and client, bound to the client id = sensor id (the
 *   plugin then refuses the login under any other client id, so no sensor can take over another's
 *   session), rotate-key sets its password, revoke disables it. Mosquitto 2.0.11 drops the client's live connections itself on both
 *   setClientPassword and disableClient ("Client <id> been disconnected by administrative action").
 * - Each call waits for the plugin's answer (matched by correlationData) for `timeoutMs`; not
 *   connected, no answer or an error answer throws BrokerUnavailableError, and the caller rolls back.
 * - On every (re)connection it disables the clients of sensors revoked in the database (a revoke
 *   whose broker call was lost, or a file generated before it): no password needed for that. And
 *   it binds each sensor's login to its own client id where a file generated before that binding
 *   left it unbound (setClientId also drops those sensors' connections: they come back with the
 *   right client id, or are refused). And it brings roles made before commands existed up to
 *   date: a sensor's role that allowed its whole prefix (`bot/v1/sensors/<id>/#`) gets exactly
 *   sensorRole's ACLs (no publishing to its own `commands`), and the app's role gains what
 *   ingestRole now holds (publishing commands, reading command-results); its other ACLs stay.
 * - It reads Mosquitto's notices (`log_dest topic`) and counts refused logins. Mosquitto 2.0.11
 *   names neither the username nor the client id of a refused CONNECT ("Client <unknown>
 *   disconnected, not authorised."), so unknown, revoked and wrong-key logins are one reason here.
 */
import { randomUUID } from "node:crypto";
import { isNotNull } from "drizzle-orm";
import mqtt, { type MqttClient } from "mqtt";
import type { Logger } from "pino";
import type { Database } from "../db/database.js";
import { sensors } from "../db/schema.js";
import { BrokerUnavailableError, type DeviceBroker } from "./device-broker.js";
import {
  type Acl,
  BROKER_NOTICES_TOPIC,
  DYNSEC_RESPONSE_TOPIC,
  DYNSEC_TOPIC,
  INGEST_ROLE,
  ingestRole,
  sensorRole,
  sensorRoleName,
} from "./dynsec.js";
import { isSensorId } from "./protocol.js";
import { DEFAULT_BACKOFF, reconnectWithBackoff } from "./reconnect.js";

export interface DynsecAdminOptions {
  url: string;
  username: string;
  password: string;
  clientId: string;
  db: Database;
  logger: Logger;
  /** How long to wait for the plugin's answer (default 3 s). */
  timeoutMs?: number;
}

export interface DynsecAdmin extends DeviceBroker {
  /** Connected, subscribed to the plugin's answers: commands can be sent (for /readyz). */
  readonly connected: boolean;
  /** Resolves once connected and the revoked sensors are reconciled (the first time). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

type Command = Record<string, unknown> & { command: string };
interface Answer {
  command: string;
  error?: string;
  correlationData?: string;
  data?: unknown;
}

const REFUSED = /^\d+: Client \S+ disconnected, not authorised\.$/;
const RECONCILE_CHUNK = 200;

export function startDynsecAdmin(opts: DynsecAdminOptions): DynsecAdmin {
  const { db, logger, timeoutMs = 3_000 } = opts;
  const pending = new Map<
    string,
    { resolve: (answers: Answer[]) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }
  >();
  const refusedConnects: Record<string, number> = {};
  let subscribed = false;
  let closed = false;
  let markReady: () => void = () => {};
  const readyOnce = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const client: MqttClient = mqtt.connect(opts.url, {
    username: opts.username,
    password: opts.password,
    clientId: opts.clientId,
    clean: true,
    protocolVersion: 5,
    // Reconnects are ours (iot/reconnect.ts): MQTT.js gives up for good after a refused login.
    reconnectPeriod: 0,
    connectTimeout: 5_000,
  });
  reconnectWithBackoff(client, DEFAULT_BACKOFF, () => closed);

  client.on("connect", () => {
    if (down) logger.info("dynsec: admin connection back");
    down = false;
    subscribed = false;
    client
      .subscribeAsync([DYNSEC_RESPONSE_TOPIC, BROKER_NOTICES_TOPIC], { qos: 0 })
      .then(async (granted) => {
        const refused = granted.filter((g) => g.qos >= 0x80).map((g) => g.topic);
        if (refused.length) {
          throw new Error(
            `subscription refused: ${refused.join(", ")} (is ${opts.username} the plugin's admin?)`,
          );
        }
        subscribed = true;
        await reconcile();
        markReady();
      })
      .catch((err: unknown) => logger.error({ err }, "dynsec: setting up the admin connection failed"));
  });
  client.on("close", () => {
    subscribed = false;
  });
  // Logged once per outage, not once per reconnect attempt.
  let down = false;
  client.on("error", (err) => {
    if (down) return;
    down = true;
    logger.warn({ err: err.message }, "dynsec: admin connection down; retrying with back-off");
  });
  client.on("message", (topic, payload) => {
    if (topic === BROKER_NOTICES_TOPIC) {
      if (REFUSED.test(payload.toString("utf8").trim())) {
        refusedConnects.not_authorised = (refusedConnects.not_authorised ?? 0) + 1;
      }
      return;
    }
    if (topic !== DYNSEC_RESPONSE_TOPIC) return;
    let answers: Answer[];
    try {
      answers = (JSON.parse(payload.toString("utf8")) as { responses: Answer[] }).responses;
    } catch {
      return;
    }
    const batch = answers[0]?.correlationData?.split("/")[0];
    const waiting = batch ? pending.get(batch) : undefined;
    if (!batch || !waiting) return; // another admin's answer
    pending.delete(batch);
    clearTimeout(waiting.timer);
    waiting.resolve(answers);
  });

  /** Sends the commands in one message; resolves with the plugin's answer to each. */
  async function send(commands: Command[]): Promise<Answer[]> {
    if (!client.connected || !subscribed) throw new BrokerUnavailableError("not connected to the broker");
    const batch = randomUUID();
    const answers = new Promise<Answer[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(batch);
        reject(new BrokerUnavailableError(`no answer from the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(batch, { resolve, reject, timer });
    });
    const body = { commands: commands.map((c, i) => ({ ...c, correlationData: `${batch}/${i}` })) };
    client.publish(DYNSEC_TOPIC, JSON.stringify(body), { qos: 0 });
    return answers;
  }

  /** Throws unless every answer is a success or one of the `tolerated` errors. */
  function check(answers: Answer[], tolerated: readonly string[] = []) {
    const failed = answers.filter((a) => a.error && !tolerated.includes(a.error));
    if (failed.length) {
      throw new BrokerUnavailableError(failed.map((a) => `${a.command}: ${a.error}`).join("; "));
    }
  }

  async function createSensor(sensorId: string, key: string) {
    const role = sensorRole(sensorId);
    const answers = await send([
      { command: "createRole", rolename: role.rolename, acls: role.acls },
      {
        command: "createClient",
        username: sensorId,
        password: key,
        clientid: sensorId,
        roles: [{ rolename: role.rolename }],
      },
    ]);
    check(answers, ["Role already exists", "Client already exists"]);
    if (answers[0]?.error === "Role already exists") {
      // Perhaps made by an older version (its whole prefix allowed): give it this version's ACLs.
      const [got] = await send([{ command: "getRole", rolename: role.rolename }]);
      const acls = (got?.data as { role?: { acls?: Acl[] } })?.role?.acls ?? [];
      const changes = aclChanges(role.rolename, acls, role.acls, true);
      if (changes.length) check(await send(changes));
    }
    if (answers[1]?.error === "Client already exists") {
      // Left from an earlier attempt whose answer was lost: make it what was asked.
      check(
        await send([
          { command: "setClientPassword", username: sensorId, password: key },
          { command: "setClientId", username: sensorId, clientid: sensorId },
          { command: "addClientRole", username: sensorId, rolename: role.rolename },
          { command: "enableClient", username: sensorId },
        ]),
      );
    }
  }

  async function reconcile() {
    const revoked = await db.select({ id: sensors.id }).from(sensors).where(isNotNull(sensors.revokedAt));
    for (let i = 0; i < revoked.length; i += RECONCILE_CHUNK) {
      const chunk = revoked.slice(i, i + RECONCILE_CHUNK);
      check(await send(chunk.map((r) => ({ command: "disableClient", username: r.id }))), [
        "Client not found",
      ]);
    }
    logger.info({ revoked: revoked.length }, "dynsec: revoked sensors disabled on the broker");
    const unbound = await unboundSensors();
    for (let i = 0; i < unbound.length; i += RECONCILE_CHUNK) {
      const chunk = unbound.slice(i, i + RECONCILE_CHUNK);
      check(await send(chunk.map((id) => ({ command: "setClientId", username: id, clientid: id }))));
    }
    if (unbound.length) {
      logger.info({ sensors: unbound.length }, "dynsec: sensors' logins bound to their own client id");
    }
    const updated = await syncRoles();
    if (updated) logger.info({ roles: updated }, "dynsec: roles brought up to date (commands)");
  }

  /** Every role whose ACLs differ from what this version gives it, set right; how many changed. */
  async function syncRoles(): Promise<number> {
    let updated = 0;
    for (let offset = 0; ; offset += RECONCILE_CHUNK) {
      const [answer] = await send([{ command: "listRoles", verbose: true, count: RECONCILE_CHUNK, offset }]);
      check(answer ? [answer] : []);
      const roles = (answer?.data as { roles?: { rolename?: string; acls?: Acl[] }[] })?.roles ?? [];
      const commands: Command[] = [];
      for (const r of roles) {
        const name = r.rolename ?? "";
        const sensorId = name.startsWith("sensor:") ? name.slice("sensor:".length) : "";
        if (isSensorId(sensorId) && name === sensorRoleName(sensorId)) {
          const changes = aclChanges(name, r.acls ?? [], sensorRole(sensorId).acls, true);
          if (changes.length) updated += 1;
          commands.push(...changes);
        } else if (name === INGEST_ROLE) {
          // Only additions: the operator may have given it more (the benchmark's share group).
          const changes = aclChanges(name, r.acls ?? [], ingestRole().acls, false);
          if (changes.length) updated += 1;
          commands.push(...changes);
        }
      }
      for (let i = 0; i < commands.length; i += RECONCILE_CHUNK) {
        check(await send(commands.slice(i, i + RECONCILE_CHUNK)));
      }
      if (roles.length < RECONCILE_CHUNK) return updated;
    }
  }

  /** The broker's sensor logins whose client id is not the sensor id (one page at a time). */
  async function unboundSensors(): Promise<string[]> {
    const unbound: string[] = [];
    for (let offset = 0; ; offset += RECONCILE_CHUNK) {
      const [answer] = await send([
        { command: "listClients", verbose: true, count: RECONCILE_CHUNK, offset },
      ]);
      check(answer ? [answer] : []);
      const clients =
        (answer?.data as { clients?: { username?: string; clientid?: string }[] })?.clients ?? [];
      for (const c of clients) {
        if (c.username && isSensorId(c.username) && c.clientid !== c.username) unbound.push(c.username);
      }
      if (clients.length < RECONCILE_CHUNK) return unbound;
    }
  }

  return {
    refusedConnects,
    get connected() {
      return client.connected && subscribed;
    },
    ready: () => readyOnce,
    addSensor: createSensor,
    async setSensorKey(sensorId, key) {
      const answers = await send([{ command: "setClientPassword", username: sensorId, password: key }]);
      // A sensor registered before the broker's file was generated: give it its login now.
      if (answers[0]?.error === "Client not found") return createSensor(sensorId, key);
      check(answers);
    },
    async disableSensor(sensorId) {
      check(await send([{ command: "disableClient", username: sensorId }]), ["Client not found"]);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [batch, waiting] of pending) {
        clearTimeout(waiting.timer);
        pending.delete(batch);
        waiting.reject(new BrokerUnavailableError("the broker admin connection is closing"));
      }
      await client.endAsync();
    },
  };
}

/**
 * The plugin commands that turn a role's `current` ACLs into `desired` (each ACL is one per type
 * and topic): the missing added, the ones that differ replaced, and with `removeExtra` the others
 * removed.
 */
export function aclChanges(
  rolename: string,
  current: readonly Acl[],
  desired: readonly Acl[],
  removeExtra: boolean,
): Command[] {
  const key = (a: Acl) => `${a.acltype}\u0000${a.topic}`;
  const have = new Map(current.map((a) => [key(a), a]));
  const want = new Map(desired.map((a) => [key(a), a]));
  const changes: Command[] = [];
  for (const [k, a] of have) {
    const wanted = want.get(k);
    if ((!wanted && removeExtra) || (wanted && wanted.allow !== a.allow)) {
      changes.push({ command: "removeRoleACL", rolename, acltype: a.acltype, topic: a.topic });
    }
  }
  for (const [k, a] of want) {
    const had = have.get(k);
    if (!had || had.allow !== a.allow) {
      changes.push({ command: "addRoleACL", rolename, acltype: a.acltype, topic: a.topic, allow: a.allow });
    }
  }
  return changes;
}
