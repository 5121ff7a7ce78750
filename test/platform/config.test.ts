import { execFile } from "node:child_process";
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
});
