/** Backend sections: fixed answers, one per Service port, one per rule that carries filters. */
import type { EndpointIR, PortIR } from "../../engine/ir";
import type { RenderView } from "../view";
import { filterLines } from "../filters";
import { BE_404, BE_500, type RuleBackend, type ServiceBackend } from "../targets";
import { quoteWord } from "../quote";
import { retryLines } from "../retry";

/** Address a spare slot holds while disabled (never contacted: the server is in maintenance). */
export const SPARE_ADDR = "0.0.0.0:1";

/** Server slots per backend: room to grow without a reload (endpoint changes use the runtime API). */
export const slotCount = (endpoints: number) => Math.max(4, 2 ** Math.ceil(Math.log2(Math.max(1, endpoints) * 2)));

const endpointAddr = (e: EndpointIR) => (e.ip.includes(":") ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);

function serverLines(s: ServiceBackend): string[] {
  const proto = s.appProtocol === "h2c" ? " proto h2" : "";
  const out: string[] = [];
  for (let i = 0; i < slotCount(s.endpoints.length); i++) {
    const e = s.endpoints[i];
    out.push(`  server s${i + 1} ${e ? endpointAddr(e) : SPARE_ADDR}${proto}${e ? "" : " disabled"}`);
  }
  return out;
}

const fixed = (name: string, status: number, text: string) => [
  `backend ${name}`,
  `  http-request return status ${status} content-type text/plain string ${quoteWord(`${text}\n`)}`,
  "",
];

function ruleBackend(view: RenderView, port: PortIR, rb: RuleBackend): string[] {
  const lines: string[] = [];
  for (const f of rb.filters) {
    const r = filterLines(port, rb.rule, f);
    if (r.error !== undefined) {
      view.warnings.push(`rule ${rb.rule.id}: ${r.error}; it answers 500`);
      return [`backend ${rb.name}`, "  http-request return status 500", ""];
    }
    lines.push(...r.lines.map((l) => `  ${l}`));
  }
  const retry = rb.retry ? retryLines(rb.retry, rb.perAttemptTimeout === true) : { lines: [] };
  if (retry.error !== undefined) {
    view.warnings.push(`rule ${rb.rule.id}: ${retry.error}; it answers 500`);
    return [`backend ${rb.name}`, "  http-request return status 500", ""];
  }
  return [
    `backend ${rb.name}`,
    ...(rb.service ? ["  balance roundrobin"] : []),
    ...(rb.timeoutMs !== undefined ? [`  timeout server ${rb.timeoutMs}ms`] : []),
    ...retry.lines.map((l) => `  ${l}`),
    // the mirror copies the body, so wait for it (up to a buffer) before the filters run
    ...(rb.filters.some((f) => f.type === "RequestMirror") ? ["  option http-buffer-request"] : []),
    ...lines,
    // A redirect answers by itself; a rule backend with neither servers nor redirect fails closed.
    ...(rb.service
      ? serverLines(rb.service)
      : rb.filters.some((f) => f.type === "RequestRedirect")
        ? []
        : ["  http-request return status 500"]),
    "",
  ];
}

export function renderBackends(view: RenderView): string[] {
  return [
    ...fixed(BE_404, 404, "no matching route"),
    ...fixed(BE_500, 500, "backend not available"),
    ...view.services.flatMap((s) => [`backend ${s.name}`, "  balance roundrobin", ...serverLines(s), ""]),
    ...view.ports.flatMap((p) => p.ruleBackends.flatMap((rb) => ruleBackend(view, p.port, rb))),
  ];
}
