/**
 * The shipped deployment (deploy/: the compose file, EMQX's config and ACL file, HAProxy's config,
 * the app's Dockerfile) parses, and its parts agree with each other and with the app: every
 * setting the app instances get is one src/config.ts reads and accepts, every host and port one
 * file names is a service and a port another file opens, the broker's logins and rules are the
 * ones the app and its protocol expect. Docker is not needed: nothing here starts a container.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RECEIVE_MAXIMUM } from "../../iot/consumer.js";
import { ingestRole } from "../../iot/dynsec.js";
import {
  COMMAND_RESULTS_FILTER,
  COMMANDS_FILTER,
  EVENTS_FILTER,
  SHARED_GROUP,
  STATUS_FILTER,
} from "../../iot/protocol.js";
import { ConfigSchema, loadConfig } from "../../src/config.js";
import { readyz } from "../../src/routes/health/health.index.js";
import { at, type Compose, compose, emqxConf, envExample, findIn, readDeployFile, text } from "./support.js";

const env = envExample();
const stack: Compose = compose(env);
const services: Record<string, Compose> = stack.services;
const conf = emqxConf();

/** HAProxy's sections (`frontend http`, `backend api`, …) and their directives, comments dropped. */
function haproxySections(cfg: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const raw of cfg.split("\n")) {
    const line = raw.replace(/#.*$/, "").trimEnd();
    if (!line.trim()) continue;
    if (!/^\s/.test(line)) {
      if (!/^(global|defaults|frontend \S+|backend \S+)$/.test(line))
        throw new Error(`unknown section: ${line}`);
      if (sections.has(line)) throw new Error(`section twice: ${line}`);
      current = [];
      sections.set(line, current);
    } else if (current) {
      current.push(line.trim().replace(/\s+/g, " "));
    } else {
      throw new Error(`directive outside a section: ${line}`);
    }
  }
  return sections;
}
const haproxy = haproxySections(readDeployFile("haproxy/haproxy.cfg"));
const directives = (section: string) => {
  const found = haproxy.get(section);
  if (!found) throw new Error(`haproxy.cfg has no ${section}`);
  return found;
};
const servers = (backend: string) =>
  directives(backend)
    .filter((d) => d.startsWith("server "))
    .map((d) => {
      const [, name, address] = d.split(" ");
      const [host, port] = (address ?? "").split(":");
      return { name, host, port: Number(port) };
    });
const bindPort = (frontend: string) => {
  const bind = directives(frontend).find((d) => d.startsWith("bind "));
  return Number(bind?.split(":").pop());
};

/** EMQX's file ACL (Erlang terms): each rule as { permission, username, action, topics }. */
function aclRules(acl: string) {
  const terms = acl
    .split("\n")
    .map((l) => l.replace(/%.*$/, ""))
    .join("\n")
    .split(/\.\s*(?:\n|$)/)
    .map((t) => t.trim())
    .filter(Boolean);
  return terms.map((term) => {
    const m = /^\{(allow|deny), \{username, "([^"]+)"\}, (publish|subscribe|all), \[(.*)\]\}$/s.exec(term);
    if (!m) throw new Error(`acl.conf: a rule not of the expected shape: ${term}`);
    const topics = [...(m[4] ?? "").matchAll(/\{eq, "([^"]+)"\}|"([^"]+)"/g)].map((t) =>
      t[1] ? { eq: true, topic: t[1] } : { eq: false, topic: t[2] ?? "" },
    );
    return { permission: m[1], username: m[2], action: m[3], topics };
  });
}

const appServices = ["app1", "app2"] as const;
const emqxServices = ["emqx1", "emqx2"] as const;

describe("deploy/docker-compose.yml", () => {
  it("has the topology of docs/SCALING.md: PostgreSQL, a migration, two app instances, two EMQX nodes, a load balancer", () => {
    expect(Object.keys(services).sort()).toEqual([
      "app1",
      "app2",
      "emqx1",
      "emqx2",
      "lb",
      "migrate",
      "postgres",
    ]);
    for (const name of [...appServices, "migrate"]) {
      expect(services[name].build).toEqual({ context: "..", dockerfile: "deploy/app.Dockerfile" });
      expect(services[name].depends_on).toBeDefined();
    }
    expect(services.app1.depends_on.migrate).toEqual({ condition: "service_completed_successfully" });
    expect(services.migrate.depends_on.postgres).toEqual({ condition: "service_healthy" });
    expect(services.migrate.command).toEqual(["npm", "run", "db:migrate"]);
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(pkg.scripts["db:migrate"]).toBeDefined();
  });

  it("fails loudly on a secret left unset", () => {
    expect(() => compose({ ...env, POSTGRES_PASSWORD: "" })).toThrow(/POSTGRES_PASSWORD is not set/);
  });

  it("gives each app instance only settings src/config.ts reads, and values it accepts", () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    for (const name of [...appServices, "migrate"]) {
      const environment: Record<string, string> = services[name].environment;
      for (const key of Object.keys(environment)) expect(known, `${name}: ${key}`).toContain(key);
      expect(() => loadConfig(environment)).not.toThrow();
    }
    const configs = appServices.map((name) => loadConfig(services[name].environment));
    for (const config of configs) {
      expect(config.MQTT_SHARED).toBe(true);
      expect(config.SENSOR_LOGINS).toBe("database");
      expect(config.HTTP_TRUSTED_PROXIES).toBe(1);
      expect(config.ADMIN_TOKEN).toBeDefined();
    }
    // Each instance's consumer sessions are named after its client id: one name, one instance.
    expect(new Set(configs.map((c) => c.MQTT_CLIENT_ID)).size).toBe(appServices.length);
  });

  it("points the apps, the migration and EMQX at the same PostgreSQL database and user", () => {
    const pg = services.postgres;
    const database = pg.environment.POSTGRES_DB;
    const user = pg.environment.POSTGRES_USER;
    const secretPath = pg.environment.POSTGRES_PASSWORD_FILE;
    expect(secretPath).toMatch(/^\/run\/secrets\//);
    const secret = secretPath.replace("/run/secrets/", "");
    expect(stack.secrets[secret]).toEqual({ environment: "POSTGRES_PASSWORD" });
    expect(pg.secrets).toContain(secret);
    for (const name of [...appServices, "migrate"]) {
      const url = new URL(loadConfig(services[name].environment).DATABASE_URL ?? "");
      expect([url.hostname, url.port, url.username, url.pathname]).toEqual([
        "postgres",
        "5432",
        user,
        `/${database}`,
      ]);
      expect(decodeURIComponent(url.password)).toBe(env.POSTGRES_PASSWORD);
    }
    const emqxDatabases = [
      findIn(at(conf, "authentication"), "backend", "postgresql"),
      findIn(at(conf, "authorization", "sources"), "type", "postgresql"),
    ];
    for (const source of emqxDatabases) {
      expect(text(at(source, "server"))).toBe("postgres:5432");
      expect(text(at(source, "database"))).toBe(database);
      expect(text(at(source, "username"))).toBe(user);
      expect(text(at(source, "password"))).toBe(`file://${secretPath}`);
    }
    for (const name of emqxServices) expect(services[name].secrets).toContain(secret);
  });

  it("sends the apps' MQTT through the load balancer to the EMQX nodes' listener", () => {
    for (const name of appServices) {
      const url = new URL(loadConfig(services[name].environment).MQTT_URL ?? "");
      expect(url.hostname).toBe("lb");
      expect(Number(url.port)).toBe(bindPort("frontend mqtt"));
    }
    const listener = Number(
      text(at(conf, "listeners", "tcp", "default", "bind"))
        .split(":")
        .pop(),
    );
    expect(servers("backend emqx")).toEqual(
      emqxServices.map((name) => ({ name, host: name, port: listener })),
    );
    expect(directives("frontend mqtt")).toContain("mode tcp");
    expect(directives("frontend mqtt")).toContain("default_backend emqx");
  });

  it("balances HTTP over the app instances, checked by their readiness route", () => {
    expect(servers("backend api")).toEqual(
      appServices.map((name) => ({ name, host: name, port: loadConfig(services[name].environment).PORT })),
    );
    expect(directives("frontend http")).toContain("default_backend api");
    expect(directives("frontend http")).toContain("option forwardfor");
    expect(directives("backend api")).toContain(`option httpchk GET ${readyz.path}`);
    for (const section of ["backend api", "backend emqx"]) {
      for (const server of directives(section).filter((d) => d.startsWith("server ")))
        expect(server).toContain(" check");
    }
    // The live incident feed sends a heartbeat every 15 s: HAProxy's idle time-outs must be longer.
    const defaults = directives("defaults");
    for (const t of ["timeout client 60s", "timeout server 60s"]) expect(defaults).toContain(t);
    // What the load balancer listens on is what the compose file publishes.
    expect(services.lb.ports).toEqual([
      `${bindPort("frontend http")}:${bindPort("frontend http")}`,
      `${bindPort("frontend mqtt")}:${bindPort("frontend mqtt")}`,
    ]);
    expect(services.lb.volumes).toContain("./haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro");
  });

  it("makes the EMQX nodes one cluster named by the shipped config, with the shipped config and ACL mounted", () => {
    const seeds = at(conf, "cluster", "static", "seeds");
    expect(text(at(conf, "cluster", "discovery_strategy"))).toBe("static");
    const names = emqxServices.map((name) => services[name].environment.EMQX_NODE__NAME);
    expect(names).toEqual(seeds);
    const aclPath = text(at(findIn(at(conf, "authorization", "sources"), "type", "file"), "path"));
    for (const name of emqxServices) {
      const node = services[name];
      const host = node.environment.EMQX_NODE__NAME.split("@")[1];
      // Erlang long node names need a dotted host that resolves to the node.
      expect(host).toContain(".");
      expect(node.networks.default.aliases).toContain(host);
      expect(node.environment.EMQX_NODE__COOKIE).toBe(env.EMQX_COOKIE);
      expect(node.volumes).toContain("./emqx/emqx.conf:/opt/emqx/etc/emqx.conf:ro");
      expect(node.volumes).toContain(`./emqx/acl.conf:${aclPath}:ro`);
      expect(node.image).toMatch(/^emqx\/emqx:5\.8\.\d+$/);
    }
  });

  it("gives EMQX the app's own broker login, the one the app instances log in with", () => {
    const builtIn = findIn(at(conf, "authentication"), "backend", "built_in_database");
    const file = text(at(builtIn, "bootstrap_file"));
    expect(text(at(builtIn, "bootstrap_type"))).toBe("plain");
    for (const name of emqxServices) {
      const node = services[name];
      const script: string = node.command.at(-1);
      expect(script).toContain(`> ${file} && exec /opt/emqx/bin/emqx foreground`);
      expect(script).toContain(
        `printf 'user_id,password,is_superuser\\n%s,%s,false\\n' "$MQTT_USERNAME" "$MQTT_PASSWORD"`,
      );
      for (const app of appServices) {
        expect(node.environment.MQTT_USERNAME).toBe(services[app].environment.MQTT_USERNAME);
        expect(node.environment.MQTT_PASSWORD).toBe(services[app].environment.MQTT_PASSWORD);
      }
    }
  });

  it("declares every named volume and secret it uses", () => {
    for (const [name, service] of Object.entries(services)) {
      for (const volume of (service.volumes ?? []) as string[]) {
        const source = volume.split(":")[0] ?? "";
        if (source.startsWith(".")) {
          expect(() => readDeployFile(source.slice(2)), `${name}: ${source}`).not.toThrow();
        } else {
          expect(Object.keys(stack.volumes), `${name}: ${source}`).toContain(source);
        }
      }
      for (const secret of (service.secrets ?? []) as string[])
        expect(Object.keys(stack.secrets)).toContain(secret);
    }
  });
});

describe("deploy/emqx/emqx.conf", () => {
  it("dispatches the share group by the publishing sensor's client id, with the in-flight window the ingest asks for", () => {
    expect(text(at(conf, "mqtt", "shared_subscription_strategy"))).toBe("hash_clientid");
    expect(Number(text(at(conf, "mqtt", "max_inflight")))).toBeGreaterThanOrEqual(RECEIVE_MAXIMUM);
    expect(text(at(conf, "mqtt", "max_mqueue_len"))).toBe("infinity");
    // The same packet limit as the shipped Mosquitto config.
    const mosquitto = readFileSync(new URL("../../iot/mosquitto.conf", import.meta.url), "utf8");
    const limit = Number(/^max_packet_size (\d+)$/m.exec(mosquitto)?.[1]);
    expect(text(at(conf, "mqtt", "max_packet_size"))).toBe(`${limit / 1024}KB`);
  });

  it("checks the app's login first, then the sensors table, and denies what no source allows", () => {
    const chain = at(conf, "authentication") as { backend: string; mechanism: string }[];
    expect(chain.map((a) => [a.mechanism, a.backend])).toEqual([
      ["password_based", "built_in_database"],
      ["password_based", "postgresql"],
    ]);
    const sources = at(conf, "authorization", "sources") as { type: string }[];
    expect(sources.map((s) => s.type)).toEqual(["file", "postgresql"]);
    expect(text(at(conf, "authorization", "no_match"))).toBe("deny");
  });

  it("keeps the connections it opens to PostgreSQL within the budget docs/SCALING.md gives it", () => {
    const pools = [
      findIn(at(conf, "authentication"), "backend", "postgresql"),
      findIn(at(conf, "authorization", "sources"), "type", "postgresql"),
    ].map((source) => Number(text(at(source, "pool_size"))));
    expect(pools).toEqual([4, 4]);
    const scaling = readFileSync(new URL("../../docs/SCALING.md", import.meta.url), "utf8");
    expect(scaling).toContain("2 × 4 = 8 connections per EMQX node");
  });
});

describe("deploy/emqx/acl.conf", () => {
  it("lets the app's login do what Mosquitto's ingest role lets it do on the sensors' topics, and nothing else", () => {
    const rules = aclRules(readDeployFile("emqx/acl.conf"));
    const username = services.app1.environment.MQTT_USERNAME;
    for (const rule of rules) {
      expect(rule.permission).toBe("allow");
      expect(rule.username).toBe(username);
    }
    const of = (action: string) =>
      rules
        .filter((r) => r.action === action)
        .flatMap((r) => r.topics.map((t) => t.topic))
        .sort();
    // Mosquitto's role (iot/dynsec.ts) with its Mosquitto-only topics left out: the plugin's
    // $CONTROL and the $SYS notices. EMQX checks `$share/<group>/<filter>` as `<filter>`.
    const role = ingestRole().acls;
    const mosquittoOnly = (topic: string) => topic.startsWith("$CONTROL/") || topic.startsWith("$SYS/");
    const unshared = (topic: string) => topic.replace(`$share/${SHARED_GROUP}/`, "");
    const subscribes = [
      ...new Set(
        role
          .filter((a) => a.acltype === "subscribePattern" && !mosquittoOnly(a.topic))
          .map((a) => unshared(a.topic)),
      ),
    ].sort();
    const publishes = role
      .filter((a) => a.acltype === "publishClientSend" && !mosquittoOnly(a.topic))
      .map((a) => a.topic);
    expect(of("subscribe")).toEqual(subscribes);
    expect(of("subscribe")).toEqual([COMMAND_RESULTS_FILTER, EVENTS_FILTER, STATUS_FILTER].sort());
    expect(of("publish")).toEqual(publishes);
    expect(of("publish")).toEqual([COMMANDS_FILTER]);
    // Subscriptions are matched exactly ({eq, …}): the filter itself, not any filter it covers.
    for (const rule of rules.filter((r) => r.action === "subscribe"))
      for (const t of rule.topics) expect(t.eq).toBe(true);
    // No trailing {deny, all}: it would end the chain before the sensors' PostgreSQL source.
    expect(rules.map((r) => r.action)).not.toContain("all");
  });
});

describe("deploy/app.Dockerfile", () => {
  it("runs what `npm start` runs, without npm in between, and leaves dependencies and data out of the build context", () => {
    const dockerfile = readDeployFile("app.Dockerfile");
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1];
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
    expect(JSON.parse(cmd ?? "[]").join(" ")).toBe(pkg.scripts.start);
    expect(dockerfile).toMatch(/^FROM node:20[-.]/m);
    expect(dockerfile).toContain("node db/patch-postgres-js.mjs");
    const ignored = readDeployFile("app.Dockerfile.dockerignore").split("\n");
    for (const path of ["node_modules", "data", ".git"]) expect(ignored).toContain(path);
    // What the image runs must not be left out of it.
    for (const path of ["src", "db", "iot", "contracts", "package.json"]) expect(ignored).not.toContain(path);
  });
});
