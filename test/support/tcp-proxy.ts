/**
 * A TCP proxy under a test's control, between the app and PostgreSQL or the broker: the faults an
 * operator's network and servers really produce, on demand.
 * - `refuse()`: every connection reset, nothing listens any more (a server down): refused, not
 *   accepted and closed, which postgres.js would answer by reconnecting for ever mid-handshake;
 * - `stall()`: bytes stop flowing both ways and new connections hang, with no reset (a partition,
 *   a frozen NAT or server); `restore()` lets what was held flow again;
 * - `refuseMqttLogins(reasonCode)`: the broker's answer to every new MQTT CONNECT is a refusal
 *   (CONNACK with that reason: 0x87 Not authorized, 0x88 Server unavailable, …), existing
 *   connections are dropped: what a consumer sees while its login is refused.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";
import mqttPacket from "mqtt-packet";

type Mode =
  | { kind: "open" }
  | { kind: "refuse" }
  | { kind: "stall" }
  | { kind: "mqtt-refuse"; reasonCode: number };

export interface TcpProxy {
  port: number;
  /** Connections accepted since the start (a client's reconnects show here). */
  readonly accepted: number;
  refuse(): Promise<void>;
  stall(): void;
  refuseMqttLogins(reasonCode: number): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: Mode = { kind: "open" };
  let accepted = 0;
  const pairs = new Set<{ client: Socket; upstream: Socket | null }>();
  /** Connections that arrived during a stall: joined to the target when it ends. */
  const held = new Set<Socket>();

  const drop = (pair: { client: Socket; upstream: Socket | null }) => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  const join = (client: Socket) => {
    const upstream = tcpConnect(target.port, target.host);
    const pair = { client, upstream };
    pairs.add(pair);
    client.on("error", () => drop(pair)).on("close", () => drop(pair));
    upstream.on("error", () => drop(pair)).on("close", () => drop(pair));
    client.pipe(upstream);
    upstream.pipe(client);
    if (mode.kind === "stall") pause(pair);
  };

  // Unpiped as well as paused: a piped stream resumes itself when its destination drains.
  const pause = (pair: { client: Socket; upstream: Socket | null }) => {
    if (!pair.upstream) return;
    pair.client.unpipe(pair.upstream);
    pair.upstream.unpipe(pair.client);
    pair.client.pause();
    pair.upstream.pause();
  };

  const refuseLogin = (client: Socket, reasonCode: number) => {
    const pair = { client, upstream: null };
    pairs.add(pair);
    client.on("error", () => drop(pair)).on("close", () => drop(pair));
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    parser.on("packet", (packet) => {
      if (packet.cmd !== "connect") return;
      const v5 = packet.protocolVersion === 5;
      // MQTT 3.1.1 has return codes 4 (bad credentials) and 5 (not authorized) and 3 (unavailable).
      const returnCode = reasonCode === 0x88 ? 3 : reasonCode === 0x86 ? 4 : 5;
      const ack = v5
        ? mqttPacket.generate({ cmd: "connack", sessionPresent: false, reasonCode }, { protocolVersion: 5 })
        : mqttPacket.generate({ cmd: "connack", sessionPresent: false, returnCode });
      client.end(ack);
    });
    parser.on("error", () => drop(pair));
    client.on("data", (d: Buffer) => parser.parse(d));
  };

  const server: Server = createServer((client) => {
    accepted += 1;
    if (mode.kind === "mqtt-refuse") {
      refuseLogin(client, mode.reasonCode);
      return;
    }
    if (mode.kind === "stall") {
      client.pause();
      held.add(client);
      client.on("error", () => held.delete(client)).on("close", () => held.delete(client));
      return;
    }
    join(client);
  });
  const listen = (at: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  await listen(0);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  const dropAll = () => {
    for (const pair of [...pairs]) {
      pair.client.resetAndDestroy();
      pair.upstream?.resetAndDestroy();
      pairs.delete(pair);
    }
    for (const client of held) client.resetAndDestroy();
    held.clear();
  };

  return {
    port,
    get accepted() {
      return accepted;
    },
    async refuse() {
      if (mode.kind === "refuse") return;
      const listening = server.listening;
      mode = { kind: "refuse" };
      dropAll();
      if (listening) await stopListening();
    },
    stall() {
      mode = { kind: "stall" };
      for (const pair of pairs) pause(pair);
    },
    refuseMqttLogins(reasonCode) {
      mode = { kind: "mqtt-refuse", reasonCode };
      dropAll();
    },
    async restore() {
      const was = mode.kind;
      mode = { kind: "open" };
      if (was === "refuse") await listen(port);
      if (was !== "stall") return;
      for (const { client, upstream } of pairs) {
        if (!upstream) continue;
        client.pipe(upstream);
        upstream.pipe(client);
      }
      for (const client of [...held]) {
        held.delete(client);
        client.removeAllListeners("error").removeAllListeners("close");
        join(client);
        client.resume();
      }
    },
    async close() {
      dropAll();
      if (server.listening) await stopListening();
    },
  };
}
