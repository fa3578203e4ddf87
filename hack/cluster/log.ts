/** Structured progress logs of local:up / local:down: one JSON line per step, to stderr. */
import { destination, pino } from "pino";

export const log = pino(
  { name: "crossway-cluster", level: process.env.LOG_LEVEL ?? "info", base: undefined },
  destination(2),
);
