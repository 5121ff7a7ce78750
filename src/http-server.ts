/**
 * The Node HTTP server of `npm start`, with the limits a slow or greedy client meets before the app
 * sees its request. Node's defaults hold a body sent a byte at a time for 300 s and slow headers
 * for 60 s, and take connections without bound.
 */
import type { Server } from "node:http";
import { serve } from "@hono/node-server";

export interface HttpLimits {
  /** The request line and headers must arrive within this (HTTP_HEADERS_TIMEOUT_S). */
  headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (HTTP_REQUEST_TIMEOUT_S). */
  requestTimeoutMs: number;
  /** Open connections at most; one more is closed at once (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
}

export interface HttpServerOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  port: number;
  hostname?: string;
  limits: HttpLimits;
}

/**
 * How often Node looks for requests over their time-outs: its default (30 s) would let a request
 * outlive a 30 s limit by as much again.
 */
const TIMEOUT_CHECK_MS = 1_000;

/** Starts listening; resolves with the server and its port once it listens. */
export function startHttpServer({ fetch, port, hostname, limits }: HttpServerOptions): Promise<{
  server: Server;
  port: number;
}> {
  return new Promise((resolve, reject) => {
    const server = serve(
      {
        fetch,
        port,
        ...(hostname ? { hostname } : {}),
        serverOptions: {
          headersTimeout: limits.headersTimeoutMs,
          requestTimeout: limits.requestTimeoutMs,
          connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, limits.headersTimeoutMs),
        },
      },
      (info) => resolve({ server: server as Server, port: info.port }),
    ) as Server;
    server.maxConnections = limits.maxConnections;
    server.once("error", reject);
  });
}
