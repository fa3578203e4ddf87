/**
 * Validate handlers. Gateway API objects get warnings only — never a denial, and never an error:
 * if the verdict cannot be computed the object is admitted with a warning saying so. The
 * Namespace label policy is the one handler that denies, and it fails closed.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { PeprValidateRequest } from "pepr";
import type { ValidateActionResponse } from "pepr/src/lib/common-types";
import { checkNamespaceLabels, type LabelRequest } from "../policy/namespace-labels";
import { listenerOwnerWarnings, referenceGrantWarnings, routeWarnings, type Translate } from "../policy/warnings";
import type { Controller } from "./controller";
import { describeError, log as rootLog, type Logger } from "./log";

type Req = PeprValidateRequest<KubernetesObject>;

export function admissionHandlers(controller: Controller, translate: Translate, logger: Logger = rootLog) {
  const log = logger.child({ part: "admission" });

  const approveWith =
    (what: string, compute: (obj: KubernetesObject) => string[]) =>
    (req: Req): ValidateActionResponse => {
      const obj = req.Raw;
      const ref = { kind: what, namespace: obj.metadata?.namespace, name: obj.metadata?.name };
      if (!controller.primed) return req.Approve();
      try {
        const warnings = compute(obj);
        if (warnings.length > 0) log.info({ ...ref, warnings }, "admission warnings");
        return req.Approve(warnings.length > 0 ? warnings : undefined);
      } catch (e) {
        const d = describeError(e);
        log.error({ ...ref, ...d }, "could not compute admission warnings");
        return req.Approve([`crossway: could not evaluate this ${what}: ${d.error}`]);
      }
    };

  const snapshot = () => controller.index.snapshot();
  const opts = () => controller.translateOptions;

  return {
    warnHTTPRoute: approveWith("HTTPRoute", (o) => routeWarnings("HTTPRoute", o, snapshot(), translate, opts())),
    warnGRPCRoute: approveWith("GRPCRoute", (o) => routeWarnings("GRPCRoute", o, snapshot(), translate, opts())),
    warnGateway: approveWith("Gateway", (o) => listenerOwnerWarnings("Gateway", o, snapshot(), translate, opts())),
    warnListenerSet: approveWith("ListenerSet", (o) =>
      listenerOwnerWarnings("ListenerSet", o, snapshot(), translate, opts()),
    ),
    warnReferenceGrant: approveWith("ReferenceGrant", (o) => referenceGrantWarnings(o, snapshot(), translate, opts())),

    enforceNamespaceLabels: (req: Req): ValidateActionResponse => {
      const s = controller.settings;
      try {
        const decision = checkNamespaceLabels(
          { protectedLabels: s.protectedLabels, admins: s.labelAdmins, adminGroups: s.labelAdminGroups },
          req.Request as unknown as LabelRequest,
        );
        if (decision.allowed) return req.Approve();
        log.info(
          { namespace: req.Raw.metadata?.name, user: req.Request.userInfo?.username, message: decision.message },
          "namespace label change denied",
        );
        return req.Deny(decision.message, 403);
      } catch (e) {
        const d = describeError(e);
        log.error(d, "namespace label policy failed; denying");
        return req.Deny(`crossway namespace label policy could not evaluate the request: ${d.error}`, 500);
      }
    },
  };
}
