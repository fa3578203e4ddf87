/**
 * The install-time objects (capabilities/policy/admission-policies.ts) agree with what they guard:
 * the names the data plane and pepr use, the module's settings and their defaults. Their behaviour
 * against the API server is in test/cluster/admission-policies.test.ts and test/shell/dist.test.ts.
 */
import { describe, expect, it } from "@jest/globals";
import { readFileSync } from "node:fs";
import {
  AGENT_POLICY,
  MODULE_NAMESPACE,
  MODULE_SERVICE_ACCOUNT,
  agentPolicy,
  controllerPolicy,
  installObjects,
  namespaceLabelPolicy,
} from "../../capabilities/policy/admission-policies";
import { AGENT_CLUSTER_ROLE, dataPlaneName } from "../../capabilities/dataplane/conventions";
import { readSettings } from "../../capabilities/reconcilers/config";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
type Policy = {
  metadata: { name: string };
  spec: { matchConditions?: { expression: string }[]; variables?: { name: string; expression: string }[] };
};

describe("install-time admission policies", () => {
  it("name the module's ServiceAccount as pepr does (pepr-<uuid>) and the agents as the data plane does", () => {
    expect(MODULE_SERVICE_ACCOUNT).toBe(`pepr-${pkg.pepr.uuid}`);
    const [agent] = agentPolicy() as unknown as Policy[];
    const pattern = /matches\('(.*)'\)/.exec(agent.spec.matchConditions![0].expression)![1];
    const re = new RegExp(pattern);
    expect(re.test(`system:serviceaccount:infra-ns:${dataPlaneName("shared-gateway")}`)).toBe(true);
    expect(re.test(`system:serviceaccount:${MODULE_NAMESPACE}:${MODULE_SERVICE_ACCOUNT}`)).toBe(false);
    expect(re.test("system:serviceaccount:infra-ns:default")).toBe(false);
    for (const p of controllerPolicy() as unknown as Policy[])
      if (p.spec.matchConditions)
        expect(p.spec.matchConditions[0].expression).toBe(
          `request.userInfo.username == 'system:serviceaccount:${MODULE_NAMESPACE}:${MODULE_SERVICE_ACCOUNT}'`,
        );
  });

  it("the module's RBAC binds exactly the agents' ClusterRole, and grants beyond its own rights only in Roles the policy shapes", () => {
    const binds = (pkg.pepr.rbac as { resources: string[]; verbs: string[]; resourceNames?: string[] }[]).filter(
      (r) => r.verbs.includes("bind") || r.verbs.includes("escalate") || r.verbs.includes("*"),
    );
    // namespaced Roles only: the agent's Role grants list/watch of its config Secret, which the
    // controller (Secrets by name: get only) does not hold itself
    expect(binds).toEqual([
      expect.objectContaining({ resources: ["roles"], verbs: ["escalate", "bind"] }),
      expect.objectContaining({ resources: ["clusterroles"], resourceNames: [AGENT_CLUSTER_ROLE], verbs: ["bind"] }),
    ]);
    const roles = (controllerPolicy() as unknown as Policy[]).find((p) => p.metadata.name.endsWith("-roles"));
    expect(JSON.stringify(roles)).toContain("r.verbs.all(v, v in ['list', 'watch'])");
  });

  it("the module's RBAC reads Secrets only by name: no list or watch", () => {
    const secrets = (pkg.pepr.rbac as { resources: string[]; verbs: string[] }[]).filter((r) =>
      r.resources.includes("secrets"),
    );
    expect(secrets.flatMap((r) => r.verbs).sort()).toEqual(["create", "delete", "get", "patch"]);
  });

  it("write the label policy's settings into its expressions; the build's defaults are the module's", () => {
    const [vap] = namespaceLabelPolicy({
      protectedLabels: "a.example/x, b",
      admins: "alice",
      adminGroups: "",
    }) as unknown as Policy[];
    const v = Object.fromEntries(vap.spec.variables!.map((x) => [x.name, x.expression]));
    expect(v.protected.split("\n")[0]).toBe("'a.example/x, b'");
    expect(v.admins.split("\n")[0]).toBe("'alice'");
    expect(v.adminGroups.split("\n")[0]).toBe("''");
    // hack/build-module.ts: an absent env key means the module's default (reconcilers/config.ts)
    const defaults = readSettings({});
    expect(defaults.protectedLabels).toEqual(["shared-gateway-access"]);
    expect(defaults.labelAdmins).toEqual([]);
    expect(defaults.labelAdminGroups).toEqual(["system:masters"]);
    expect(readFileSync(new URL("../../hack/build-module.ts", import.meta.url), "utf8")).toContain(
      'env.CROSSWAY_PROTECTED_LABELS ?? "shared-gateway-access"',
    );
  });

  it("installs one ClusterRole and a binding per policy", () => {
    const objs = installObjects({ protectedLabels: "k", admins: "", adminGroups: "system:masters" });
    const policies = objs.filter((o) => o.kind === "ValidatingAdmissionPolicy").map((o) => o.metadata.name);
    const bindings = objs.filter((o) => o.kind === "ValidatingAdmissionPolicyBinding").map((o) => o.metadata.name);
    expect(bindings).toEqual(policies);
    expect(policies).toContain(AGENT_POLICY);
    expect(objs.filter((o) => o.kind === "ClusterRole").map((o) => o.metadata.name)).toEqual([AGENT_CLUSTER_ROLE]);
    expect(new Set(objs.map((o) => `${o.kind}/${o.metadata.name}`)).size).toBe(objs.length);
  });
});
