import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

const run = promisify(execFile);

describe("configuration from the environment", () => {
  it("takes the documented defaults when nothing is set", () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 3000,
      DATA_DIR: "./data",
      MQTT_PORT: 1883,
      LOG_LEVEL: "info",
    });
  });

  it("names each bad variable and what is wrong, one line each, without echoing secrets", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "eighty",
        DATABASE_URL: "mysql://root:hunter2@db/x",
        LOG_LEVEL: "loud",
        ADMIN_TOKEN: "short",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const lines = (error as Error).message.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines).toContainEqual(
      expect.stringMatching(/^invalid configuration: PORT must be a port number \(got "eighty"\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^invalid configuration: DATABASE_URL must be a URL starting with postgres:\/\//),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^invalid configuration: LOG_LEVEL /));
    expect(lines).toContainEqual(
      expect.stringMatching(/^invalid configuration: ADMIN_TOKEN must be at least 24 characters/),
    );
    expect((error as Error).message).not.toContain("hunter2");
    expect((error as Error).message).not.toContain("short");
  });

  it("stops `npm start` with that line and exit code 1", async () => {
    const failed = await run(process.execPath, ["--import", "tsx", "src/node.ts"], {
      env: { PATH: process.env.PATH, PORT: "99999" },
    }).then(
      () => null,
      (err: { code: number; stderr: string }) => err,
    );
    expect(failed?.code).toBe(1);
    expect(failed?.stderr.trim()).toBe(
      'invalid configuration: PORT must be between 1 and 65535 (got "99999")',
    );
  });

  it("stops `npm start` in one line when the embedded broker's port is taken, before seeding anything", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "bot-start-"));
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const address = taken.address();
    const mqttPort = typeof address === "object" && address ? address.port : 0;
    const apiPort = mqttPort + 1; // never reached: start-up stops before the API listens
    try {
      const failed = await run(process.execPath, ["--import", "tsx", "src/node.ts"], {
        env: {
          PATH: process.env.PATH,
          DATA_DIR: dataDir,
          MQTT_PORT: String(mqttPort),
          PORT: String(apiPort),
        },
      }).then(
        () => null,
        (err: { code: number; stdout: string; stderr: string }) => err,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stderr.trim()).toBe(
        `MQTT port ${mqttPort} is taken: set MQTT_PORT to a free port, or MQTT_URL=mqtt://host:port to use an existing broker`,
      );
      expect(failed?.stdout).not.toContain("Demo API keys");
      expect(existsSync(join(dataDir, "demo-keys.json"))).toBe(false);
    } finally {
      taken.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
