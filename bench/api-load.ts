/**
 * The load generator of bench/api.ts, in a process of its own: autocannon against one route.
 * BENCH_LOAD (JSON): { url, paths: string[], connections, duration, headers }. Each request
 * takes the next path of `paths` (round robin). Prints one JSON line: the figures.
 */
import { createRequire } from "node:module";
import { say } from "./lib.js";

interface Histogram {
  average: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface Result {
  requests: Histogram & { total: number };
  latency: Histogram;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface RawRequest {
  path?: string;
}
type Autocannon = (opts: {
  url: string;
  connections: number;
  duration: number;
  headers?: Record<string, string>;
  requests?: { setupRequest?: (req: RawRequest) => RawRequest }[];
}) => Promise<Result>;

const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
const config = JSON.parse(process.env.BENCH_LOAD ?? "{}") as {
  url: string;
  paths: string[];
  connections: number;
  duration: number;
  headers?: Record<string, string>;
};

let next = 0;
const result = await autocannon({
  url: config.url,
  connections: config.connections,
  duration: config.duration,
  headers: config.headers ?? {},
  requests: [
    {
      setupRequest: (req) => {
        req.path = config.paths[next++ % config.paths.length] ?? "/";
        return req;
      },
    },
  ],
});
say({
  result: {
    rps: result.requests.average,
    total: result.requests.total,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
    max: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  },
});
