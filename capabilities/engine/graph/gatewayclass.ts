/** GatewayClasses: only those whose controllerName is ours become nodes. */
import type { GatewayClass } from "../../crd";
import { describe, gatewayClass as C } from "../conditions";
import { GATEWAY_API_BUNDLE_VERSION } from "../features";
import { generationOf, nameOf } from "../meta";
import type { GatewayClassNode } from "./types";

export function buildGatewayClasses(classes: GatewayClass[], controllerName: string): Map<string, GatewayClassNode> {
  const out = new Map<string, GatewayClassNode>();
  for (const gc of classes) {
    if (gc?.spec?.controllerName !== controllerName) continue;
    const name = nameOf(gc);
    const ref = gc.spec.parametersRef;
    const accepted = ref ? C.invalidParameters(name, describe.parametersRef(ref)) : C.accepted(name);
    out.set(name, {
      obj: gc,
      name,
      generation: generationOf(gc),
      accepted: accepted.status === "True",
      conditions: [accepted, C.supportedVersion(GATEWAY_API_BUNDLE_VERSION)],
    });
  }
  return out;
}
