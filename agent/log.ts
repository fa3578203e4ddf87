/** One JSON line per event on stdout (the agent has no npm dependencies at runtime). */
export type Level = "debug" | "info" | "warn" | "error";

export function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (level === "debug" && process.env.CROSSWAY_AGENT_DEBUG !== "1") return;
  process.stdout.write(
    `${JSON.stringify({ level, time: new Date().toISOString(), component: "crossway-agent", msg, ...fields })}\n`,
  );
}

export type Logger = typeof log;
