/** The module's structured logger (pino, JSON lines). One child per component. */
import { pino } from "pino";

export const log = pino({
  name: "crossway",
  level: process.env.CROSSWAY_LOG_LEVEL ?? process.env.LOG_LEVEL ?? "info",
  base: { component: "crossway" },
});

export type Logger = typeof log;

/** The API server's explanation in a response body (a Status object, JSON text or plain text). */
function bodyText(data: unknown): string | undefined {
  if (data === undefined || data === null || data === "") return undefined;
  if (typeof data === "string") {
    try {
      return bodyText(JSON.parse(data)) ?? data;
    } catch {
      return data;
    }
  }
  const message = (data as { message?: unknown }).message;
  return typeof message === "string" ? message : JSON.stringify(data);
}

/**
 * kubernetes-fluent-client throws the raw fetch response ({ status, statusText, data }) rather
 * than an Error, so `${e}` prints "[object Object]"; @kubernetes/client-node throws an ApiException
 * ({ code, body }) whose message repeats every response header. This turns anything thrown into
 * log fields: the HTTP status and the API server's message.
 */
export function describeError(e: unknown): { status?: number; error: string } {
  if (e instanceof Error) {
    const { code, body } = e as Error & { code?: unknown; body?: unknown };
    if (typeof code === "number") return { status: code, error: bodyText(body) ?? e.message.split("\n")[0] };
    return { error: e.message };
  }
  if (e && typeof e === "object") {
    const r = e as { status?: unknown; statusText?: unknown; data?: unknown; e?: unknown };
    const status = typeof r.status === "number" ? r.status : undefined;
    const body = bodyText(r.data);
    // on a network failure kfc keeps the underlying error (with its cause) in `e`
    const inner = r.e instanceof Error ? (r.e.cause instanceof Error ? r.e.cause.message : r.e.message) : "";
    const text = [typeof r.statusText === "string" ? r.statusText : "", body ?? "", inner].filter(Boolean).join(": ");
    return { status, error: text || JSON.stringify(e) };
  }
  return { error: String(e) };
}

/** HTTP status of a kubernetes-fluent-client error, if it is one. */
export const errorStatus = (e: unknown): number | undefined => describeError(e).status;
