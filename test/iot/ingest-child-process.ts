/**
 * The ingest runtime as a child process (test/iot/ingest-child.ts), for tests that SIGKILL it:
 * its committed batches (from its logs), readiness, stored events counted on demand.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { RATE_LIMIT_OUT_OF_THE_WAY } from "./support.js";

type Readiness = Record<string, { ok: boolean; reason?: string }>;

const CHILD = fileURLToPath(new URL("./ingest-child.ts", import.meta.url));

/** The ingest child process: its committed batches (from its logs), readiness, counts on demand. */
export class IngestChild {
  readonly proc: ChildProcess;
  stored = 0;
  ready: Promise<void>;
  readonly exited: Promise<number | null>;
  private output = "";
  private counts: ((n: number) => void)[] = [];
  private readinessWaiters: ((checks: Readiness) => void)[] = [];
  /** How many times each log message was written. */
  private readonly messages = new Map<string, number>();
  /** Its last log lines, for a failing test to show what the ingest was doing. */
  private readonly lastLines: string[] = [];

  constructor(env: Record<string, string>) {
    this.proc = spawn(process.execPath, ["--import", "tsx", CHILD], {
      env: {
        ...process.env,
        DATABASE_URL: "",
        LOG_LEVEL: "debug",
        ...Object.fromEntries(Object.entries(RATE_LIMIT_OUT_OF_THE_WAY).map(([k, v]) => [k, String(v)])),
        ...env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.exited = new Promise((resolve) => this.proc.once("exit", (code) => resolve(code)));
    let onReady = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      void this.exited.then((code) => reject(new Error(`ingest child exited (${code}): ${this.output}`)));
    });
    this.ready.catch(() => {});
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-4000);
    });
    if (!this.proc.stdout) throw new Error("no stdout");
    createInterface({ input: this.proc.stdout }).on("line", (line) => {
      if (process.env.DUR_TRACE) appendFileSync(`/tmp/dur-child-${this.proc.pid}.log`, `${line}\n`);
      this.lastLines.push(line.slice(0, 400));
      if (this.lastLines.length > 40) this.lastLines.shift();
      let msg: {
        msg?: string;
        stored?: number;
        ready?: boolean;
        count?: number;
        readiness?: Readiness;
        level?: number;
      };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        this.output = (this.output + line).slice(-4000);
        return;
      }
      if (msg.msg) this.messages.set(msg.msg, (this.messages.get(msg.msg) ?? 0) + 1);
      if (msg.msg === "ingest batch committed") this.stored += msg.stored ?? 0;
      if (msg.ready) onReady();
      if (typeof msg.count === "number") this.counts.shift()?.(msg.count);
      if (msg.readiness) this.readinessWaiters.shift()?.(msg.readiness);
      if ((msg.level ?? 0) >= 50) this.output = (this.output + line).slice(-4000);
    });
  }

  /** Stored events of these sensors, counted by the child (in PGlite mode only it can open the database). */
  count(ids: readonly string[]): Promise<number> {
    return new Promise((resolve) => {
      this.counts.push(resolve);
      this.proc.stdin?.write(`count ${ids.join(",")}\n`);
    });
  }

  /** The child's /readyz checks (the ingest runtime's: mqtt, brokerAdmin, ingest). */
  readiness(): Promise<Readiness> {
    return new Promise((resolve) => {
      this.readinessWaiters.push(resolve);
      this.proc.stdin?.write("readiness\n");
    });
  }

  /** Its last 40 log lines (each cut at 400 characters), oldest first. */
  recentLog(): string {
    return this.lastLines.join("\n");
  }

  /** How many times the child logged this message. */
  logged(message: string): number {
    return this.messages.get(message) ?? 0;
  }

  /** SIGKILLs it if it still runs; resolves when it is gone. */
  kill(): Promise<number | null> {
    if (this.alive) this.proc.kill("SIGKILL");
    return this.exited;
  }

  get alive() {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
}
