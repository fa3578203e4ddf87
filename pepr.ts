/** The Pepr module entry point: one capability, and the controller started for this process's role. */
import { PeprModule } from "pepr";
import cfg from "./package.json";
import { GatewayAPI } from "./capabilities/gateway-api";
import { startForRole } from "./capabilities/reconcilers/runtime";

const peprModule = new PeprModule(cfg, [GatewayAPI], { deferStart: true });
if (process.env.PEPR_MODE !== "build") {
  // 3000 in the cluster (pepr's Service targets it); hack/dev-module.ts may pick another port.
  peprModule.start(Number(process.env.CROSSWAY_WEBHOOK_PORT ?? 3000));
}
startForRole();
