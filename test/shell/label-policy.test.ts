import { checkNamespaceLabels } from "../../capabilities/policy/namespace-labels";
import { readSettings } from "../../capabilities/reconcilers/config";

const s = readSettings({});
const policy = { protectedLabels: s.protectedLabels, admins: ["alice"], adminGroups: s.labelAdminGroups };
const ns = (labels: Record<string, string> = {}) => ({ metadata: { name: "hr", labels } });
const req = (operation: string, user: string, groups: string[], before?: object, after?: object) => ({
  operation,
  userInfo: { username: user, groups },
  oldObject: before,
  object: after,
});

describe("namespace label policy", () => {
  it("defaults: shared-gateway-access protected, system:masters may change it", () => {
    expect(s.protectedLabels).toEqual(["shared-gateway-access"]);
    expect(s.labelAdminGroups).toEqual(["system:masters"]);
    expect(s.labelAdmins).toEqual([]);
  });

  it.each([
    ["add", ns(), ns({ "shared-gateway-access": "true" }), 'may not add shared-gateway-access=true on namespace "hr"'],
    [
      "change",
      ns({ "shared-gateway-access": "false" }),
      ns({ "shared-gateway-access": "true" }),
      "may not change shared-gateway-access from false to true",
    ],
    ["remove", ns({ "shared-gateway-access": "true" }), ns(), "may not remove shared-gateway-access (was true)"],
  ])("denies a non-admin who tries to %s the label, naming the policy", (_what, before, after, text) => {
    const d = checkNamespaceLabels(policy, req("UPDATE", "bob", ["system:authenticated"], before, after));
    expect(d.allowed).toBe(false);
    if (!d.allowed) {
      expect(d.message).toContain(text);
      expect(d.message).toContain("crossway namespace label policy");
      expect(d.message).toContain('user "bob"');
      expect(d.message).toContain("users [alice] or groups [system:masters]");
    }
  });

  it("denies creating a namespace that already carries the label", () => {
    expect(
      checkNamespaceLabels(policy, req("CREATE", "bob", [], undefined, ns({ "shared-gateway-access": "true" })))
        .allowed,
    ).toBe(false);
  });

  it("allows configured users and groups", () => {
    const change = [ns(), ns({ "shared-gateway-access": "true" })] as const;
    expect(checkNamespaceLabels(policy, req("UPDATE", "alice", [], ...change)).allowed).toBe(true);
    expect(checkNamespaceLabels(policy, req("UPDATE", "root", ["system:masters"], ...change)).allowed).toBe(true);
  });

  it("allows anyone to change other labels or leave the protected one as it is", () => {
    const before = ns({ "shared-gateway-access": "true", team: "a" });
    const after = ns({ "shared-gateway-access": "true", team: "b" });
    expect(checkNamespaceLabels(policy, req("UPDATE", "bob", [], before, after)).allowed).toBe(true);
  });

  it("is off when no label is protected", () => {
    const off = { ...policy, protectedLabels: readSettings({ CROSSWAY_PROTECTED_LABELS: "" }).protectedLabels };
    expect(
      checkNamespaceLabels(off, req("UPDATE", "bob", [], ns(), ns({ "shared-gateway-access": "true" }))).allowed,
    ).toBe(true);
  });

  it("reports malformed numeric settings clearly and falls back to the default", () => {
    const problems: string[] = [];
    expect(readSettings({ CROSSWAY_DEBOUNCE_MS: "soon" }, problems).debounceMs).toBe(75);
    expect(problems).toEqual(['CROSSWAY_DEBOUNCE_MS="soon" is not a number >= 0; using 75']);
  });
});
