/**
 * Validate handlers. Gateway API objects get warnings (routes are denied only where a
 * RouteOwnershipPolicy asks for it), never an error:
 * if the verdict cannot be computed the object is admitted with a warning saying so. The
 * Namespace label policy is the one handler that denies, and it fails closed.
 */
import type { KubernetesObject } from "kubernetes-fluent-client";
import type { PeprValidateRequest } from "pepr";
import type { ValidateActionResponse } from "pepr/src/lib/common-types";
import { checkNamespaceLabels, type LabelRequest } from "../policy/namespace-labels";
import { listenerOwnerWarnings, referenceGrantWarnings, routeWarnings, type Translate } from "../policy/warnings";
import { ownershipDenials } from "../policy/ownership-admission";
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

  /**
   * Routes: refused only when a RouteOwnershipPolicy in Enforce mode with `admission: Deny` would
   * cut them back (same words as the status); otherwise warnings. Errors never deny.
   */
  const routeHandler = (kind: "HTTPRoute" | "GRPCRoute") => {
    const warn = approveWith(kind, (o) => routeWarnings(kind, o, snapshot(), translate, opts()));
    return (req: Req): ValidateActionResponse => {
      const obj = req.Raw;
      if (controller.primed) {
        try {
          const denials = ownershipDenials(kind, obj, snapshot(), translate, opts());
          if (denials.length > 0) {
            const ref = { kind, namespace: obj.metadata?.namespace, name: obj.metadata?.name };
            log.info({ ...ref, reasons: denials }, "route denied by a RouteOwnershipPolicy");
            return req.Deny(`crossway: ${denials.join("; ")}`, 403);
          }
        } catch (e) {
          log.error({ kind, ...describeError(e) }, "could not evaluate route ownership at admission");
        }
      }
      return warn(req);
    };
  };

  /** crossway_admission_duration_seconds{kind, verdict} around each handler. */
  const timed =
    (kind: string, handler: (req: Req) => ValidateActionResponse) =>
    (req: Req): ValidateActionResponse =>
      controller.metrics.timeAdmission(kind, () => handler(req));

  return {
    warnHTTPRoute: timed("HTTPRoute", routeHandler("HTTPRoute")),
    warnGRPCRoute: timed("GRPCRoute", routeHandler("GRPCRoute")),
    warnGateway: timed(
      "Gateway",
      approveWith("Gateway", (o) => listenerOwnerWarnings("Gateway", o, snapshot(), translate, opts())),
    ),
    warnListenerSet: timed(
      "ListenerSet",
      approveWith("ListenerSet", (o) => listenerOwnerWarnings("ListenerSet", o, snapshot(), translate, opts())),
    ),
    warnReferenceGrant: timed(
      "ReferenceGrant",
      approveWith("ReferenceGrant", (o) => referenceGrantWarnings(o, snapshot(), translate, opts())),
    ),
    enforceNamespaceLabels: timed("Namespace", (req: Req): ValidateActionResponse => {
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
    }),
  };
}
