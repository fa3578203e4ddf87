/** The module's structured logger (pino, JSON lines). One child per component. */
import { pino } from "pino";

export const log = pino({
  name: "crossway",
  level: process.env.CROSSWAY_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "info",
  base: { component: "crossway" },
});

export type Logger = typeof log;

/**
 * kubernetes-fluent-client throws the raw fetch response ({ status, statusText, data }) rather
 * than an Error, so `${e}` prints "[object Object]". This turns anything thrown into log fields.
 */
export function describeError(e: unknown): { status?: number; error: string } {
  if (e instanceof Error) return { error: e.message };
  if (e && typeof e === "object") {
    const r = e as { status?: unknown; statusText?: unknown; data?: unknown; e?: unknown };
    const status = typeof r.status === "number" ? r.status : undefined;
    const data = r.data as { message?: unknown } | string | undefined;
    const body =
      typeof data === "string"
        ? data
        : typeof data?.message === "string"
          ? data.message
          : data !== undefined
            ? JSON.stringify(data)
            : undefined;
    // on a network failure kfc keeps the underlying error (with its cause) in `e`
    const inner = r.e instanceof Error ? (r.e.cause instanceof Error ? r.e.cause.message : r.e.message) : "";
    const text = [typeof r.statusText === "string" ? r.statusText : "", body ?? "", inner].filter(Boolean).join(": ");
    return { status, error: text || JSON.stringify(e) };
  }
  return { error: String(e) };
}

/** HTTP status of a kubernetes-fluent-client error, if it is one. */
export const errorStatus = (e: unknown): number | undefined => describeError(e).status;
