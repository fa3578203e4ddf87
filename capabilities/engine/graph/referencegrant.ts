/**
 * ReferenceGrant lookup: grants indexed by the namespace they live in (the target's namespace),
 * so a check costs O(grants in that namespace), never O(all grants).
 */
import type { ReferenceGrant } from "../../crd";
import { nsOf, pushTo, objects } from "../meta";

export type GrantIndex = Map<string, ReferenceGrant[]>;

export function indexGrants(grants: ReferenceGrant[]): GrantIndex {
  const idx: GrantIndex = new Map();
  for (const g of grants) pushTo(idx, nsOf(g), g);
  return idx;
}

export interface RefFrom {
  group: string;
  kind: string;
  namespace: string;
}

export interface RefTo {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/**
 * Is a reference from `from` to `to` allowed? Same-namespace references always are; a
 * cross-namespace one needs a ReferenceGrant in the target namespace whose `from` matches the
 * referrer's group/kind/namespace and whose `to` matches the target's group/kind (and name, if set).
 */
export function referenceAllowed(idx: GrantIndex, from: RefFrom, to: RefTo): boolean {
  if (from.namespace === to.namespace) return true;
  for (const g of idx.get(to.namespace) ?? []) {
    const fromOk = objects(g.spec?.from).some(
      (f) => (f?.group ?? "") === from.group && f?.kind === from.kind && f?.namespace === from.namespace,
    );
    if (!fromOk) continue;
    const toOk = objects(g.spec?.to).some(
      (t) =>
        (t?.group ?? "") === to.group &&
        t?.kind === to.kind &&
        (t?.name === undefined || t.name === "" || t.name === to.name),
    );
    if (toOk) return true;
  }
  return false;
}
