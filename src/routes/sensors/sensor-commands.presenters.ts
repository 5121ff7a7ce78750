import type { z } from "@hono/zod-openapi";
import type { DeviceCommandState } from "../../../contracts/device-commands.js";
import type { CommandMessage } from "../../../iot/protocol.js";
import type { CommandResultAnswer, DeviceCommandMessage } from "./sensor-commands.routes.js";

type Message = z.infer<typeof DeviceCommandMessage>;

/** A command message, field by field (a stored parameter the protocol does not name is not sent). */
export function deviceCommandJson(m: CommandMessage): Message {
  return {
    commandId: m.commandId,
    type: m.type as Message["type"],
    issuedAt: m.issuedAt,
    expiresAt: m.expiresAt,
    ...(typeof m.enabled === "boolean" ? { enabled: m.enabled } : {}),
    ...(typeof m.until === "string" ? { until: m.until } : {}),
    ...(typeof m.intervalS === "number" ? { intervalS: m.intervalS } : {}),
  };
}

export function commandResultJson(a: {
  commandId: string;
  state: DeviceCommandState;
  outcome: "recorded" | "duplicate";
  resultAt: Date | null;
}): z.infer<typeof CommandResultAnswer> {
  return {
    commandId: a.commandId,
    state: a.state,
    outcome: a.outcome,
    resultAt: a.resultAt ? a.resultAt.toISOString() : null,
  };
}
