/**
 * What a replacement takes with it follows the program's dependency graph, not resource types:
 * the production stack's snapshot, with one resource missing from or replaced in the base.
 */
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { diffSnapshots } from "./diff";
import { takeSnapshot, type PlanSnapshot } from "./snapshot";

let head: PlanSnapshot;
beforeAll(async () => {
  head = await takeSnapshot("production", path.join(repoRoot, "Pulumi.production.yaml"));
});
const labels = { base: "base", head: "head" };
const without = (s: PlanSnapshot, name: string): PlanSnapshot => ({ ...s, resources: s.resources.filter((r) => r.name !== name) });
const withInput = (s: PlanSnapshot, name: string, input: string, value: unknown): PlanSnapshot => ({
  ...s,
  resources: s.resources.map((r) => (r.name === name ? { ...r, inputs: { ...r.inputs, [input]: value } } : r)),
});

describe("replacements along the dependency graph", () => {
  it("records which resources each input comes from", () => {
    const box = head.resources.find((r) => r.name === "chatwoot-backup-storage-box")!;
    expect(box.inputDependencies?.sshKeys).toEqual(["tls:index/privateKey:PrivateKey::chatwoot-backup-storage-box-key"]);
  });

  it("a key that is new in this revision (an upgrade from an older one) replaces nothing that uses another key", () => {
    const diff = diffSnapshots(without(head, "chatwoot-deploy-key"), head, labels);
    expect(diff.created).toEqual(["chatwoot-deploy-key"]);
    expect(diff.replaced).toEqual([]);
  });

  it("a replaced Storage Box key replaces the box it belongs to, and nothing else", () => {
    const base = withInput(head, "chatwoot-backup-storage-box-key", "algorithm", "RSA");
    const diff = diffSnapshots(base, head, labels);
    expect(diff.replaced.sort()).toEqual(["chatwoot-backup-storage-box", "chatwoot-backup-storage-box-key"]);
    // The env holds the key, so the steps that write and read it run.
    expect(Object.keys(diff.steps).sort()).toEqual(["chatwoot-deploy", "chatwoot-verify", "chatwoot-write-env"]);
    expect(diff.steps["chatwoot-write-env"]).toContain("stdin changes with the new chatwoot-backup-storage-box-key");
  });
});
