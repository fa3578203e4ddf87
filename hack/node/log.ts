/**
 * The agent's structured logger: one JSON line per transition, to stderr. Its own level variable
 * (CROSSWAY_NODE_LOG_LEVEL, default info), so a parent's LOG_LEVEL (jest sets warn) does not mute it.
 */
import pino from "pino";

export const log = pino(
  { name: "crossway-node", level: process.env.CROSSWAY_NODE_LOG_LEVEL ?? "info", base: undefined },
  pino.destination(2),
);
export type Log = typeof log;

/** Errors from the API client carry status + body; everything else is an Error or a value. */
export const errInfo = (err: unknown): Record<string, unknown> => {
  if (err && typeof err === "object") {
    const e = err as { status?: unknown; body?: unknown; message?: unknown };
    if (e.status !== undefined) return { status: e.status, body: e.body, msg: e.message };
    if (e.message !== undefined) return { msg: e.message };
  }
  return { msg: String(err) };
};
