/**
 * Namespace label policy: a configured set of label keys (default `shared-gateway-access`, the
 * key shared Gateways select on) that only configured users or groups may add, change or remove.
 * Labelling a namespace grants it access to a shared Gateway, so this is who may grant access.
 */
export interface LabelPolicy {
  protectedLabels: string[];
  admins: string[];
  adminGroups: string[];
}

export interface LabelRequest {
  operation: string;
  userInfo: { username?: string; groups?: string[] };
  object?: { metadata?: { name?: string; labels?: Record<string, string> } };
  oldObject?: { metadata?: { name?: string; labels?: Record<string, string> } };
}

export type LabelDecision = { allowed: true } | { allowed: false; message: string };

/** Protected keys whose value differs between old and new (added, changed or removed). */
export function changedProtectedLabels(policy: LabelPolicy, req: LabelRequest): string[] {
  if (req.operation.toUpperCase() === "DELETE") return [];
  const before = req.oldObject?.metadata?.labels ?? {};
  const after = req.object?.metadata?.labels ?? {};
  return policy.protectedLabels.filter((k) => before[k] !== after[k]);
}

function describe(key: string, before?: string, after?: string): string {
  if (before === undefined) return `add ${key}=${after}`;
  if (after === undefined) return `remove ${key} (was ${before})`;
  return `change ${key} from ${before} to ${after}`;
}

export function checkNamespaceLabels(policy: LabelPolicy, req: LabelRequest): LabelDecision {
  const changed = changedProtectedLabels(policy, req);
  if (changed.length === 0) return { allowed: true };
  const user = req.userInfo.username ?? "";
  const groups = req.userInfo.groups ?? [];
  if (policy.admins.includes(user) || groups.some((g) => policy.adminGroups.includes(g))) {
    return { allowed: true };
  }
  const before = req.oldObject?.metadata?.labels ?? {};
  const after = req.object?.metadata?.labels ?? {};
  const ns = req.object?.metadata?.name ?? req.oldObject?.metadata?.name ?? "";
  const what = changed.map((k) => describe(k, before[k], after[k])).join(", ");
  const who =
    [
      policy.admins.length ? `users [${policy.admins.join(", ")}]` : "",
      policy.adminGroups.length ? `groups [${policy.adminGroups.join(", ")}]` : "",
    ]
      .filter(Boolean)
      .join(" or ") || "nobody (no label admins configured)";
  return {
    allowed: false,
    message:
      `crossway namespace label policy: user "${user}" may not ${what} on namespace "${ns}"; ` +
      `label(s) ${changed.join(", ")} grant access to shared Gateways and may only be changed by ${who} ` +
      `(CROSSWAY_PROTECTED_LABELS / CROSSWAY_LABEL_ADMINS / CROSSWAY_LABEL_ADMIN_GROUPS)`,
  };
}
