/**
 * The order in which `pulumi up` would carry out a plan diff, and what would stop it half-way: a
 * model of the engine's step order (after pulumi/pulumi's step generator) with Hetzner's rules, so
 * that a runbook can be walked offline, step by step.
 *
 * - Resources are visited in dependency order (inputs built from other resources' outputs, and
 *   dependsOn). A replacement with deleteBeforeReplace first deletes what depends on it and is
 *   replaced too (dependents first), then itself, then creates the new one; any other replacement
 *   creates the new resource first and deletes the old one at the end, as deletions are.
 * - A resource deletedWith another is never deleted on its own.
 * - Pulumi refuses to replace or delete a resource its state marks protected (the old state's
 *   flag: lifting `protect` takes its own run), and Hetzner refuses to delete one with delete
 *   protection unless the provider lifts it first (only the Storage Box's delete does).
 * - Hetzner names are unique per project and type: creating one while the old one still exists
 *   fails with 409 uniqueness_error (unless the name is built from a replaced resource's outputs,
 *   as the deploy SSH key's is from its public key: then it is a new name).
 */
import type { PlanDiff } from "./diff";
import type { PlanSnapshot, SnapshotResource } from "./snapshot";

/**
 * Resource types whose `name` Hetzner keeps unique within a project: volumes (verified-facts.md),
 * primary IPs (the 409 the real-engine review met), servers, firewalls and SSH keys (the API's
 * create docs); the Storage Box is assumed to be like them, which is not verified.
 */
const UNIQUE_NAME_TYPES = new Set([
  "hcloud:index/server:Server",
  "hcloud:index/primaryIp:PrimaryIp",
  "hcloud:index/volume:Volume",
  "hcloud:index/sshKey:SshKey",
  "hcloud:index/firewall:Firewall",
  "hcloud:index/storageBox:StorageBox",
]);

/**
 * Types whose provider delete lifts Hetzner's delete protection first (verified-facts.md: the
 * Storage Box's does, the volume's does not; the others are treated like the volume).
 */
const LIFTS_DELETE_PROTECTION = new Set(["hcloud:index/storageBox:StorageBox"]);

export interface ApplyWalk {
  /** "create NAME", "replace NAME (delete first)", "update NAME", "delete NAME", in order. */
  operations: string[];
  /** Why `pulumi up` would stop, each naming the resource; empty when it completes. */
  problems: string[];
}

function dependenciesOf(r: SnapshotResource): string[] {
  return [...Object.values(r.inputDependencies ?? {}).flat(), ...(r.options.dependsOn ?? [])];
}

/** Keys in an order where every resource comes after what it depends on. */
function topological(resources: Map<string, SnapshotResource>): string[] {
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (key: string) => {
    if (state.get(key) === "done" || !resources.has(key)) return;
    if (state.get(key) === "visiting") throw new Error(`dependency cycle at ${key}`);
    state.set(key, "visiting");
    for (const dep of dependenciesOf(resources.get(key)!)) visit(dep);
    state.set(key, "done");
    order.push(key);
  };
  [...resources.keys()].sort().forEach(visit);
  return order;
}

/** `outsideState`: Hetzner resources that exist but are in no state (a runbook's leftovers). */
export function walkApply(base: PlanSnapshot, head: PlanSnapshot, diff: PlanDiff, outsideState: { type: string; name: string }[] = []): ApplyWalk {
  const a = new Map(base.resources.filter((r) => r.custom).map((r) => [r.key, r]));
  const b = new Map(head.resources.filter((r) => r.custom).map((r) => [r.key, r]));
  const replaced = new Set(diff.replacements);
  const updated = new Set([...b.values()].filter((r) => diff.updated.includes(r.name) || diff.steps[r.name]).map((r) => r.key));
  const operations: string[] = [];
  const problems: string[] = [];

  for (const key of [...replaced, ...[...a.keys()].filter((k) => !b.has(k))]) {
    const old = a.get(key)!;
    const what = replaced.has(key) ? "replace" : "delete";
    if (old.options.protect) problems.push(`${old.name}: Pulumi refuses to ${what} a protected resource (lift protect in a run of its own first)`);
    else if (old.inputs.deleteProtection === true && !LIFTS_DELETE_PROTECTION.has(old.type)) {
      problems.push(`${old.name}: Hetzner refuses to delete it while its delete protection is on`);
    }
  }
  if (problems.length > 0) return { operations, problems };

  // Live Hetzner names by type, as the run goes.
  const live = new Map<string, Set<unknown>>();
  const nameOf = (r: SnapshotResource) => (UNIQUE_NAME_TYPES.has(r.type) && typeof r.inputs.name === "string" ? r.inputs.name : undefined);
  const add = (r: SnapshotResource) => nameOf(r) !== undefined && live.set(r.type, (live.get(r.type) ?? new Set()).add(nameOf(r)));
  const remove = (r: SnapshotResource) => nameOf(r) !== undefined && live.get(r.type)?.delete(nameOf(r));
  a.forEach(add);
  for (const r of outsideState) live.set(r.type, (live.get(r.type) ?? new Set()).add(r.name));

  const deletedOld = new Set<string>();
  const deleteOld = (key: string) => {
    if (deletedOld.has(key)) return;
    deletedOld.add(key);
    const old = a.get(key)!;
    const withOther = old.options.deletedWith;
    // Taken along by the deletion of the resource it is deletedWith, when that one goes too.
    if (withOther && (replaced.has(withOther) || !b.has(withOther))) operations.push(`delete ${old.name} (with ${a.get(withOther)?.name ?? withOther})`);
    else operations.push(`delete ${old.name}`);
    remove(old);
  };
  // A name built from a replaced resource's outputs is a new name (offline it only looks the same).
  const nameIsNew = (r: SnapshotResource) => (r.inputDependencies?.name ?? []).some((d) => replaced.has(d));
  const create = (r: SnapshotResource, verb: string) => {
    const name = nameOf(r);
    if (name !== undefined && !nameIsNew(r) && live.get(r.type)?.has(name)) {
      problems.push(`${r.name}: Hetzner answers 409 uniqueness_error: "${name}" still exists when its replacement is created`);
    }
    operations.push(`${verb} ${r.name}`);
    add(r);
  };

  const order = topological(b);
  const oldOrder = topological(a);
  // What depends on `key`, transitively, among the replaced: deleted before it, dependents first.
  const replacedDependents = (key: string): string[] => {
    const found = new Set<string>();
    const grow = (k: string) => {
      for (const [other, r] of b) {
        if (replaced.has(other) && !found.has(other) && dependenciesOf(r).includes(k)) {
          found.add(other);
          grow(other);
        }
      }
    };
    grow(key);
    return oldOrder.filter((k) => found.has(k)).reverse();
  };

  for (const key of order) {
    const r = b.get(key)!;
    if (!a.has(key)) create(r, "create");
    else if (replaced.has(key) && r.options.deleteBeforeReplace) {
      for (const dependent of replacedDependents(key)) deleteOld(dependent);
      deleteOld(key);
      create(r, "create");
    } else if (replaced.has(key)) create(r, deletedOld.has(key) ? "create" : "create replacement of");
    else if (updated.has(key)) operations.push(`update ${r.name}`);
  }
  // The old halves of create-first replacements, and deleted resources: dependents first.
  for (const key of oldOrder.reverse()) if (replaced.has(key) || !b.has(key)) deleteOld(key);
  return { operations, problems };
}
