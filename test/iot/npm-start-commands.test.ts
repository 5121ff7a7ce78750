/**
 * A device command through `npm start` as a user runs it (the Node entry on its embedded defaults,
 * a fresh DATA_DIR): issued over HTTP, delivered by the process's own broker, answered by the
 * device, and counted on the process's /metrics at every step (issued, sent, answered) — the
 * counters the operators' dashboards read come from one place in the entry's wiring.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandResultsTopic, commandsTopic } from "../../iot/protocol.js";
import { createSensorOnAnElevator, type NodeEntry, startNodeEntry } from "../support/node-entry.js";
import { device, freePort, waitFor } from "./support.js";

let app: NodeEntry;
let base: string;
let mqttUrl: string;
let dataDir: string;
let enterpriseKey: string;

async function api(path: string, init: RequestInit = {}) {
  const res = await fetch(`${base}${path}`, {
    ...init,
    headers: { "content-type": "application/json", authorization: `Bearer ${enterpriseKey}` },
  });
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected field by field
  return { status: res.status, body: (await res.json()) as any };
}

/** One sample of /metrics, by its whole name with labels (0 when absent). */
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1)) : 0;
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "bot-start-commands-"));
  const port = await freePort();
  const mqttPort = await freePort();
  base = `http://127.0.0.1:${port}`;
  mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  app = await startNodeEntry({ dataDir, port, mqttPort });
  base = app.base;
  enterpriseKey = app.keys.enterprise ?? "";
}, 90_000);

afterAll(async () => {
  await app?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe("a device command through npm start", () => {
  it("is delivered by the embedded broker, answered, and counted on /metrics as issued, sent and applied", async () => {
    const { id, key } = await createSensorOnAnElevator(base, enterpriseKey, "metrics test");
    const before = {
      issued: await metric('bot_device_commands_issued_total{type="set_heartbeat"}'),
      sent: await metric("bot_commands_sent_total"),
      applied: await metric('bot_command_results_total{result="applied"}'),
    };

    const dev = await device(mqttUrl, id, key);
    dev.on("message", (topic, payload) => {
      if (topic !== commandsTopic(id)) return;
      const { commandId } = JSON.parse(payload.toString()) as { commandId: string };
      void dev.publishAsync(commandResultsTopic(id), JSON.stringify({ commandId, result: "applied" }), {
        qos: 1,
      });
    });
    await dev.subscribeAsync(commandsTopic(id), { qos: 1 });

    const issued = await api(`/v1/sensors/${id}/commands`, {
      method: "POST",
      body: JSON.stringify({ type: "set_heartbeat", intervalSeconds: 60, reason: "省电" }),
    });
    expect(issued.status).toBe(201);
    const commandId = issued.body.id as string;
    await waitFor(
      async () => (await api(`/v1/sensors/${id}/commands/${commandId}`)).body.state === "applied",
      15_000,
      "the command applied",
    );
    // The answer is committed before its counter moves: wait for the count, then compare.
    await waitFor(
      async () => (await metric('bot_command_results_total{result="applied"}')) > before.applied,
      5_000,
      "the answer counted",
    );
    expect({
      issued: await metric('bot_device_commands_issued_total{type="set_heartbeat"}'),
      sent: await metric("bot_commands_sent_total"),
      applied: await metric('bot_command_results_total{result="applied"}'),
    }).toEqual({ issued: before.issued + 1, sent: before.sent + 1, applied: before.applied + 1 });
    await dev.endAsync();
  }, 60_000);
});
