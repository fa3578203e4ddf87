/**
 * Objects installed once with the module (dist/ YAML and the Helm chart, written by
 * hack/build-module.ts; the dev module installs the first two kinds): what RBAC alone cannot say.
 *
 * - ClusterRole `crossway-dataplane-agent` (pods: patch), bound per Gateway to its agent's
 *   ServiceAccount by a RoleBinding the controller applies. The controller needs only `bind` on it,
 *   not pods: patch itself.
 * - ValidatingAdmissionPolicy `crossway-dataplane-agent`: a request by a data-plane agent
 *   (ServiceAccount `crossway-*`) may only UPDATE the pod its token is bound to
 *   (`authentication.kubernetes.io/pod-name`/`pod-uid`), and only its `crossway.dev/` annotations.
 * - ValidatingAdmissionPolicy `crossway-namespace-labels`: the namespace label policy
 *   (policy/namespace-labels.ts) in CEL, with the module's settings (CROSSWAY_PROTECTED_LABELS /
 *   _LABEL_ADMINS / _LABEL_ADMIN_GROUPS, written into the expressions at build time) and the same
 *   message, enforced by the API server itself: it holds while the module is down.
 * - ValidatingAdmissionPolicies `crossway-controller-writes-*` (one per resource): the module's ServiceAccount may create,
 *   change and delete only crossway data-plane objects (labelled, named `crossway-*`, owned by a
 *   Gateway) of the shape manifests.ts makes: the pinned images and the Gateway's own ServiceAccount
 *   in Deployments, one config Secret in Roles, Opaque Secrets, no external IPs. RBAC has no way to
 *   say "only objects like these", and without it write access to Deployments and Secrets in every
 *   namespace would be the power to run anything as anyone.
 *
 * - ValidatingAdmissionPolicies `crossway-route-ownership-*`: RouteOwnershipPolicy `admission: Deny`
 *   enforced by the API server (ownership-vap.ts), with the controller's RouteOwnershipIndex.
 *
 * Pure data: the build imports it from the sources it builds.
 */
import { ownershipAdmissionPolicy } from "./ownership-vap";
import { AGENT_CLUSTER_ROLE, AGENT_IMAGE, HAPROXY_IMAGE, LABEL_GATEWAY, SA_TOKEN_DIR } from "../dataplane/conventions";

export const MODULE_NAMESPACE = "pepr-system";
/** pepr names the module's ServiceAccount `pepr-<uuid>` (package.json pepr.uuid). */
export const MODULE_SERVICE_ACCOUNT = "pepr-crossway";
export const AGENT_POLICY = "crossway-dataplane-agent";
export const LABEL_POLICY = "crossway-namespace-labels";
export const CONTROLLER_POLICY = "crossway-controller-writes";

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
} & Record<string, unknown>;

const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const list = (xs: string[]) => `[${xs.map(q).join(", ")}]`;

const labels = { "app.kubernetes.io/part-of": "crossway" };

export function agentClusterRole(): Obj {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRole",
    metadata: { name: AGENT_CLUSTER_ROLE, labels },
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["patch"] }],
  };
}

const binding = (policy: string, extra: Record<string, unknown> = {}): Obj => ({
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingAdmissionPolicyBinding",
  metadata: { name: policy, labels },
  spec: { policyName: policy, validationActions: ["Deny"], ...extra },
});

/** The agents: only their own pod, only UPDATE, only crossway.dev/ annotations. */
export function agentPolicy(): Obj[] {
  const who = "'crossway data-plane agent ' + request.userInfo.username";
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name: AGENT_POLICY, labels },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [{ apiGroups: [""], apiVersions: ["*"], operations: ["*"], resources: ["pods", "pods/*"] }],
        },
        // A data-plane agent is a ServiceAccount named crossway-* (manifests.ts: dataPlaneName).
        matchConditions: [
          {
            name: "data-plane-agent",
            expression: "request.userInfo.username.matches('^system:serviceaccount:[^:]+:crossway-[^:]+$')",
          },
        ],
        variables: [
          {
            name: "extra",
            expression: "has(request.userInfo.extra) ? request.userInfo.extra : {}",
          },
          {
            name: "boundPod",
            expression:
              "'authentication.kubernetes.io/pod-name' in variables.extra ? variables.extra['authentication.kubernetes.io/pod-name'][0] : ''",
          },
          {
            name: "boundUid",
            expression:
              "'authentication.kubernetes.io/pod-uid' in variables.extra ? variables.extra['authentication.kubernetes.io/pod-uid'][0] : ''",
          },
          {
            name: "isUpdate",
            expression: "request.operation == 'UPDATE' && (has(request.subResource) ? request.subResource : '') == ''",
          },
          {
            name: "oldAnn",
            expression:
              "variables.isUpdate && has(oldObject.metadata.annotations) ? oldObject.metadata.annotations : {}",
          },
          {
            name: "newAnn",
            expression: "variables.isUpdate && has(object.metadata.annotations) ? object.metadata.annotations : {}",
          },
        ],
        validations: [
          {
            expression: "variables.isUpdate",
            messageExpression: `${who} + ' may only update its own pod, not ' + request.operation + (has(request.subResource) && request.subResource != '' ? ' pods/' + request.subResource : ' pods')`,
            reason: "Forbidden",
          },
          {
            expression:
              "!variables.isUpdate || (variables.boundPod != '' && object.metadata.name == variables.boundPod && (variables.boundUid == '' || object.metadata.uid == variables.boundUid))",
            messageExpression: `${who} + ' may only update the pod its token is bound to (' + (variables.boundPod == '' ? 'none: use the projected token mounted at ${SA_TOKEN_DIR}' : variables.boundPod) + '), not ' + object.metadata.name`,
            reason: "Forbidden",
          },
          {
            expression:
              "!variables.isUpdate || (object.spec == oldObject.spec && (has(object.metadata.labels) ? object.metadata.labels : {}) == (has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}) && (has(object.metadata.finalizers) ? object.metadata.finalizers : []) == (has(oldObject.metadata.finalizers) ? oldObject.metadata.finalizers : []) && (has(object.metadata.ownerReferences) ? object.metadata.ownerReferences : []) == (has(oldObject.metadata.ownerReferences) ? oldObject.metadata.ownerReferences : []))",
            messageExpression: `${who} + ' may change only annotations of its pod, not its spec, labels, finalizers or owners'`,
            reason: "Forbidden",
          },
          {
            expression:
              "variables.newAnn.all(k, k.startsWith('crossway.dev/') || (k in variables.oldAnn && variables.oldAnn[k] == variables.newAnn[k])) && variables.oldAnn.all(k, k.startsWith('crossway.dev/') || k in variables.newAnn)",
            messageExpression: `${who} + ' may change only crossway.dev/ annotations of its pod'`,
            reason: "Forbidden",
          },
        ],
      },
    },
    binding(AGENT_POLICY),
  ];
}

export interface LabelPolicySettings {
  /** Comma-separated, as in the env variables. */
  protectedLabels: string;
  admins: string;
  adminGroups: string;
}

/**
 * A comma-separated setting as a CEL list. The string literal sits alone on the first line, so the
 * Helm chart can put the chart's own env value there (hack/build-module.ts).
 */
const csv = (value: string) => `${q(value)}\n.split(',').map(x, x.trim()).filter(x, x != '')`;

/**
 * The namespace label policy as a ValidatingAdmissionPolicy, denying what checkNamespaceLabels
 * denies with the same message. `name` lets a test install a second, independent copy.
 */
export function namespaceLabelPolicy(settings: LabelPolicySettings, opts: { name?: string } = {}): Obj[] {
  const name = opts.name ?? LABEL_POLICY;
  const describe =
    "!(k in variables.before) ? 'add ' + k + '=' + variables.after[k] : !(k in variables.after) ? 'remove ' + k + ' (was ' + variables.before[k] + ')' : 'change ' + k + ' from ' + variables.before[k] + ' to ' + variables.after[k]";
  const who =
    "(variables.admins.size() == 0 && variables.adminGroups.size() == 0) ? 'nobody (no label admins configured)' : " +
    "(variables.admins.size() > 0 ? 'users [' + variables.admins.join(', ') + ']' : '') + " +
    "(variables.admins.size() > 0 && variables.adminGroups.size() > 0 ? ' or ' : '') + " +
    "(variables.adminGroups.size() > 0 ? 'groups [' + variables.adminGroups.join(', ') + ']' : '')";
  return [
    {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind: "ValidatingAdmissionPolicy",
      metadata: { name, labels },
      spec: {
        failurePolicy: "Fail",
        matchConstraints: {
          resourceRules: [
            { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["namespaces"] },
          ],
        },
        variables: [
          { name: "protected", expression: csv(settings.protectedLabels) },
          { name: "admins", expression: csv(settings.admins) },
          { name: "adminGroups", expression: csv(settings.adminGroups) },
          {
            name: "before",
            expression:
              "request.operation == 'UPDATE' && has(oldObject.metadata.labels) ? oldObject.metadata.labels : {}",
          },
          { name: "after", expression: "has(object.metadata.labels) ? object.metadata.labels : {}" },
          {
            name: "changed",
            expression:
              "variables.protected.filter(k, (k in variables.before) != (k in variables.after) || (k in variables.before && variables.before[k] != variables.after[k]))",
          },
          {
            name: "isAdmin",
            expression:
              "request.userInfo.username in variables.admins || (has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in variables.adminGroups))",
          },
        ],
        validations: [
          {
            expression: "variables.changed.size() == 0 || variables.isAdmin",
            messageExpression:
              `'crossway namespace label policy: user "' + request.userInfo.username + '" may not ' + ` +
              `variables.changed.map(k, ${describe}).join(', ') + ' on namespace "' + object.metadata.name + '"; ' + ` +
              `'label(s) ' + variables.changed.join(', ') + ' grant access to shared Gateways and may only be changed by ' + ` +
              `(${who}) + ' (CROSSWAY_PROTECTED_LABELS / CROSSWAY_LABEL_ADMINS / CROSSWAY_LABEL_ADMIN_GROUPS)'`,
            reason: "Forbidden",
          },
        ],
      },
    },
    binding(name),
  ];
}

interface Check {
  expression: string;
  messageExpression: string;
}

const podSpec = "object.spec.template.spec";
const where = "request.namespace + '/' + request.name";

/**
 * What the module may write, per resource: every object must be one of its data-plane objects
 * (the common check), and some kinds must have the data plane's shape. CREATE/UPDATE checks skip
 * DELETE, where `object` is null.
 */
const CONTROLLER_WRITES: { group: string; resources: string[]; checks: Check[] }[] = [
  { group: "", resources: ["configmaps", "serviceaccounts"], checks: [] },
  {
    group: "",
    resources: ["secrets"],
    checks: [
      {
        // a service-account-token Secret would mint a token for any ServiceAccount of the namespace
        expression: "variables.isDelete || (has(object.type) && object.type == 'Opaque')",
        messageExpression: `'crossway controller may only write Opaque Secrets (its config), not ' + (has(object.type) ? object.type : '') + ' in ' + ${where}`,
      },
    ],
  },
  {
    group: "",
    resources: ["services"],
    checks: [
      {
        expression: "variables.isDelete || !has(object.spec.externalIPs) || object.spec.externalIPs.size() == 0",
        messageExpression: `'crossway controller may not set externalIPs on Service ' + ${where}`,
      },
    ],
  },
  {
    group: "apps",
    resources: ["deployments"],
    checks: [
      {
        expression:
          `variables.isDelete || (` +
          `${podSpec}.containers.all(c, c.image in ${list([HAPROXY_IMAGE, AGENT_IMAGE])}) && ` +
          `!has(${podSpec}.initContainers) && !has(${podSpec}.ephemeralContainers) && ` +
          `has(${podSpec}.serviceAccountName) && ${podSpec}.serviceAccountName == object.metadata.name && ` +
          `has(${podSpec}.automountServiceAccountToken) && !${podSpec}.automountServiceAccountToken && ` +
          `!(has(${podSpec}.hostNetwork) && ${podSpec}.hostNetwork) && !(has(${podSpec}.hostPID) && ${podSpec}.hostPID) && ` +
          `!(has(${podSpec}.hostIPC) && ${podSpec}.hostIPC) && ` +
          `(!has(${podSpec}.volumes) || ${podSpec}.volumes.all(v, has(v.emptyDir) || has(v.configMap) || has(v.projected))) && ` +
          `has(${podSpec}.securityContext) && has(${podSpec}.securityContext.runAsNonRoot) && ${podSpec}.securityContext.runAsNonRoot && ` +
          `${podSpec}.containers.all(c, has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation) && ` +
          `!c.securityContext.allowPrivilegeEscalation && !(has(c.securityContext.privileged) && c.securityContext.privileged)))`,
        messageExpression: `'crossway controller may only run the data plane (images ${HAPROXY_IMAGE}, ${AGENT_IMAGE}; the Gateway\\'s own ServiceAccount; non-root; no host namespaces or host paths) in Deployment ' + ${where}`,
      },
    ],
  },
  {
    group: "rbac.authorization.k8s.io",
    resources: ["roles"],
    checks: [
      {
        expression:
          "variables.isDelete || (has(object.rules) && object.rules.all(r, r.apiGroups == [''] && r.resources == ['secrets'] && " +
          "has(r.resourceNames) && r.resourceNames == [object.metadata.name + '-config'] && r.verbs.all(v, v in ['list', 'watch'])))",
        messageExpression: `'crossway controller may only grant list/watch of a Gateway\\'s config Secret in Role ' + ${where}`,
      },
    ],
  },
  {
    group: "rbac.authorization.k8s.io",
    resources: ["rolebindings"],
    checks: [
      {
        // crossway-<gw> → Role crossway-<gw>; crossway-<gw>:pods → the agent ClusterRole; subject: SA crossway-<gw>
        expression:
          "variables.isDelete || (((object.roleRef.kind == 'Role' && object.roleRef.name == object.metadata.name) || " +
          `(object.roleRef.kind == 'ClusterRole' && object.roleRef.name == ${q(AGENT_CLUSTER_ROLE)} && object.metadata.name.endsWith(':pods'))) && ` +
          "has(object.subjects) && object.subjects.all(s, s.kind == 'ServiceAccount' && has(s.namespace) && " +
          "s.namespace == request.namespace && s.name == object.metadata.name.split(':')[0]))",
        messageExpression: `'crossway controller may only bind a Gateway\\'s own Role or the agent ClusterRole to that Gateway\\'s ServiceAccount in RoleBinding ' + ${where}`,
      },
    ],
  },
];

export const controllerPolicyName = (resources: string[]) => `${CONTROLLER_POLICY}-${resources.join("-")}`;

/**
 * The module's own writes (one policy per resource, so each expression is type-checked against
 * that resource's schema): data-plane objects of the shape manifests.ts makes, nothing else.
 */
export function controllerPolicy(
  serviceAccount = `system:serviceaccount:${MODULE_NAMESPACE}:${MODULE_SERVICE_ACCOUNT}`,
): Obj[] {
  return CONTROLLER_WRITES.flatMap(({ group, resources, checks }) => {
    const name = controllerPolicyName(resources);
    return [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingAdmissionPolicy",
        metadata: { name, labels },
        spec: {
          failurePolicy: "Fail",
          matchConstraints: {
            resourceRules: [
              { apiGroups: [group], apiVersions: ["v1"], operations: ["CREATE", "UPDATE", "DELETE"], resources },
            ],
          },
          matchConditions: [{ name: "the-module", expression: `request.userInfo.username == ${q(serviceAccount)}` }],
          variables: [
            { name: "isDelete", expression: "request.operation == 'DELETE'" },
            { name: "target", expression: "variables.isDelete ? oldObject : object" },
          ],
          validations: [
            {
              expression:
                `has(variables.target.metadata.labels) && ${q(LABEL_GATEWAY)} in variables.target.metadata.labels && ` +
                "variables.target.metadata.name.startsWith('crossway-') && " +
                // never take over (or delete) an object that was not a data-plane object already
                `(request.operation == 'CREATE' || (has(oldObject.metadata.labels) && ${q(LABEL_GATEWAY)} in oldObject.metadata.labels)) && ` +
                "(variables.isDelete || (has(object.metadata.ownerReferences) && object.metadata.ownerReferences.exists(r, " +
                "r.kind == 'Gateway' && r.apiVersion.startsWith('gateway.networking.k8s.io/') && has(r.controller) && r.controller)))",
              messageExpression: `'crossway controller may only write its own data-plane objects (labelled ${LABEL_GATEWAY}, named crossway-*, owned by a Gateway), not ' + request.kind.kind + ' ' + ${where}`,
              reason: "Forbidden",
            },
            ...checks.map((c) => ({ ...c, reason: "Forbidden" })),
          ],
        },
      },
      binding(name),
    ];
  });
}

/** Everything installed with the module, in apply order. */
export function installObjects(settings: LabelPolicySettings, serviceAccount?: string): Obj[] {
  return [
    agentClusterRole(),
    ...agentPolicy(),
    ...namespaceLabelPolicy(settings),
    ...controllerPolicy(serviceAccount),
    ...ownershipAdmissionPolicy(),
  ];
}
