/**
 * The runbooks of docs/disaster-recovery.md, docs/operations.md and docs/migrate-existing.md walked
 * step by step under the mock harness: each
 * `pulumi up` of a runbook is a plan diff between the stack's config before and after that step
 * (with `--replace` where the runbook says so), carried out in the engine's order with Pulumi's
 * protection and Hetzner's delete-protection and name rules (apply-order.ts). A walk must complete.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { tempDir } from "../test/run";
import { walkApply } from "./apply-order";
import { diffSnapshots } from "./diff";
import { takeSnapshot, type PlanSnapshot } from "./snapshot";

const dir = tempDir("runbooks");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const production = parse(fs.readFileSync(path.join(repoRoot, "Pulumi.production.yaml"), "utf8")) as { config: Record<string, unknown> };

/** The production stack's snapshot after `pulumi config set` of each key (undefined: config rm). */
let n = 0;
async function stackWith(changes: Record<string, unknown>): Promise<PlanSnapshot> {
  const config = { ...production.config };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete config[`chatwoot:${k}`];
    else config[`chatwoot:${k}`] = v;
  }
  const file = path.join(dir, `Pulumi.step${n++}.yaml`);
  fs.writeFileSync(file, stringify({ config }));
  return takeSnapshot("production", file);
}

/** One `pulumi up` from `before` to `after`. */
const up = (before: PlanSnapshot, after: PlanSnapshot, replace: string[] = []) =>
  walkApply(before, after, diffSnapshots(before, after, { base: "before", head: "after" }, replace));
const at = (ops: string[], op: string) => {
  const i = ops.indexOf(op);
  if (i < 0) throw new Error(`"${op}" is not among: ${ops.join("; ")}`);
  return i;
};

let deployed: PlanSnapshot;
let unprotected: PlanSnapshot;
beforeAll(async () => {
  deployed = await stackWith({});
  unprotected = await stackWith({ deleteProtection: false });
});

describe("docs/disaster-recovery.md, walked", () => {
  it("lifting the protection is an update in place, and nothing is replaced", () => {
    const walk = up(deployed, unprotected);
    expect(walk.problems).toEqual([]);
    expect(walk.operations.filter((o) => !o.startsWith("update "))).toEqual([]);
    expect(walk.operations).toEqual(expect.arrayContaining(["update chatwoot-data", "update chatwoot-ipv4", "update chatwoot-ipv6"]));
  });

  it("moving to another location completes: the old IPs go before the new ones come, and the restore runs before deploy", async () => {
    const moved = await stackWith({ deleteProtection: false, location: "hel1", restoreFrom: "latest" });
    const walk = up(unprotected, moved);
    expect(walk.problems).toEqual([]);
    const ops = walk.operations;
    for (const ip of ["chatwoot-ipv4", "chatwoot-ipv6"]) {
      // The server releases the address, the old IP goes, then the new one (same name) comes.
      expect(at(ops, "delete chatwoot-server")).toBeLessThan(at(ops, `delete ${ip}`));
      expect(at(ops, `delete ${ip}`)).toBeLessThan(at(ops, `create ${ip}`));
      expect(at(ops, `create ${ip}`)).toBeLessThan(at(ops, "create chatwoot-server"));
    }
    expect(at(ops, "delete chatwoot-data")).toBeLessThan(at(ops, "create chatwoot-data"));
    // The attachment is never detached on its own: it goes with the old server.
    expect(ops).toContain("delete chatwoot-data-attachment (with chatwoot-server)");
    expect(at(ops, "create chatwoot-restore")).toBeLessThan(at(ops, "create chatwoot-deploy"));
    // The Storage Box stays where it was created, so the new server restores from it.
    expect(ops.filter((o) => o.includes("storage-box"))).toEqual([]);
    // Protect again.
    const reprotected = await stackWith({ location: "hel1", restoreFrom: "latest" });
    expect(up(moved, reprotected).problems).toEqual([]);
  });

  it("moving without lifting the protection first stops before anything is touched", async () => {
    const walk = up(deployed, await stackWith({ location: "hel1", restoreFrom: "latest" }));
    expect(walk.operations).toEqual([]);
    expect(walk.problems).toEqual(
      expect.arrayContaining([expect.stringContaining("chatwoot-data: Pulumi refuses to replace a protected resource")]),
    );
  });

  it("scenario 1, the server is lost: its replacement deletes it first, with the attachment, and runs every step again", () => {
    const walk = up(deployed, deployed, ["chatwoot-server"]);
    expect(walk.problems).toEqual([]);
    const ops = walk.operations;
    expect(at(ops, "delete chatwoot-data-attachment (with chatwoot-server)")).toBeLessThan(at(ops, "delete chatwoot-server"));
    expect(at(ops, "delete chatwoot-server")).toBeLessThan(at(ops, "create chatwoot-server"));
    expect(at(ops, "create chatwoot-server")).toBeLessThan(at(ops, "create chatwoot-data-attachment"));
    for (const step of ["wait-ready", "upload", "write-env", "deploy", "bootstrap", "verify"]) expect(ops).toContain(`create chatwoot-${step}`);
    expect(ops.filter((o) => /chatwoot-(data|ipv4|ipv6)$/.test(o))).toEqual([]);
  });

  it("scenario 2, the volume is lost: with the protection lifted, volume and server are replaced and the restore runs before deploy", async () => {
    const restoring = await stackWith({ deleteProtection: false, restoreFrom: "latest" });
    const walk = up(unprotected, restoring, ["chatwoot-data", "chatwoot-server"]);
    expect(walk.problems).toEqual([]);
    const ops = walk.operations;
    expect(at(ops, "delete chatwoot-data")).toBeLessThan(at(ops, "create chatwoot-data"));
    expect(at(ops, "create chatwoot-restore")).toBeLessThan(at(ops, "create chatwoot-deploy"));
    // Without step 1 it stops at the protection.
    expect(up(deployed, await stackWith({ restoreFrom: "latest" }), ["chatwoot-data", "chatwoot-server"]).problems).toEqual(
      expect.arrayContaining([expect.stringContaining("chatwoot-data: Pulumi refuses to replace a protected resource")]),
    );
  });

  it("scenario 3, the project is lost: a new project gets everything, with the restored secrets", async () => {
    const empty: PlanSnapshot = { ...deployed, resources: [] };
    const restored = await stackWith({ restoreFrom: "latest" });
    const walk = up(empty, restored);
    expect(walk.problems).toEqual([]);
    expect(walk.operations.every((o) => o.startsWith("create "))).toBe(true);
    expect(at(walk.operations, "create chatwoot-restore")).toBeLessThan(at(walk.operations, "create chatwoot-deploy"));
  });
});

describe("docs/disaster-recovery.md, scenario 4 (the state is lost), walked", () => {
  const repository = { ...(production.config["chatwoot:backup"] as object), target: "repository", repository: "sftp:u123@u123.your-storagebox.de:chatwoot" };
  // As `pulumi config set --secret` leaves it in the stack file: ciphertext only.
  const SFTP_KEY = { secure: "v1:Y2lwaGVydGV4dC1vbmU=" };
  /** The new state after `pulumi import --file adopt.json`: the volume and the primary IPs, protected, as the provider reads them (no `format`). */
  const imported = (head: PlanSnapshot): PlanSnapshot => ({
    ...head,
    resources: head.resources
      .filter((r) => ["chatwoot-data", "chatwoot-ipv4", "chatwoot-ipv6"].includes(r.name))
      .map((r) => ({ ...r, inputs: Object.fromEntries(Object.entries(r.inputs).filter(([k]) => k !== "format")), options: { ...r.options, protect: true } })),
  });

  it("after the runbook's deletions and imports, pulumi up creates the rest and replaces nothing", async () => {
    const head = await stackWith({ backup: repository, backupSftpPrivateKey: SFTP_KEY });
    const base = imported(head);
    const diff = diffSnapshots(base, head, { base: "imported", head: "config" });
    // The preview the runbook says to expect: the volume's create-only format as an update.
    expect(diff.text).toContain("~ hcloud:index/volume:Volume  chatwoot-data\n        format: (not set) → ext4");
    const walk = walkApply(base, head, diff);
    expect(walk.problems).toEqual([]);
    expect(walk.operations.filter((o) => /^(delete|create replacement)/.test(o))).toEqual([]);
    expect(walk.operations).toEqual(expect.arrayContaining(["update chatwoot-data", "create chatwoot-server", "create chatwoot-firewall", "create chatwoot-deploy-ssh-key"]));
    // The Storage Box is an existing repository now: the stack neither creates nor replaces one.
    expect(walk.operations.filter((o) => o.includes("storage-box"))).toEqual([]);
  });

  it("without deleting the old firewall first, Hetzner refuses the new one", async () => {
    const head = await stackWith({ backup: repository, backupSftpPrivateKey: SFTP_KEY });
    const base = imported(head);
    const leftover = [{ type: "hcloud:index/firewall:Firewall", name: "chatwoot-production" }];
    expect(walkApply(base, head, diffSnapshots(base, head, { base: "imported", head: "config" }), leftover).problems).toEqual([
      'chatwoot-firewall: Hetzner answers 409 uniqueness_error: "chatwoot-production" still exists when its replacement is created',
    ]);
  });
});

describe("docs/operations.md, walked", () => {
  const only = (ops: string[], allowed: RegExp) => ops.filter((o) => !allowed.test(o));

  it("rotating the operators' SSH keys re-runs only wait-ready, in both steps", async () => {
    const keys = production.config["chatwoot:sshPublicKeys"] as string[];
    const second = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeUL4C/gzLxtCqqAf4mo7k0pBsTwcJ3ZmQl5hN3C0Ox second";
    const both = await stackWith({ sshPublicKeys: [...keys, second] });
    const newOnly = await stackWith({ sshPublicKeys: [second] });
    for (const [before, after] of [[deployed, both], [both, newOnly]] as const) {
      const walk = up(before, after);
      expect(walk.problems).toEqual([]);
      expect(walk.operations).toEqual(["update chatwoot-wait-ready"]);
    }
  });

  it("rotating the deploy key builds a new server with it, and keeps the volume and the IPs", () => {
    const walk = up(deployed, deployed, ["chatwoot-deploy-key"]);
    expect(walk.problems).toEqual([]);
    expect(at(walk.operations, "delete chatwoot-server")).toBeLessThan(at(walk.operations, "create chatwoot-server"));
    expect(walk.operations.filter((o) => /chatwoot-(data|ipv4|ipv6|backup-storage-box)$/.test(o))).toEqual([]);
  });

  it("resizing the server updates it in place; growing the volume too, and a Storage Box type change", async () => {
    for (const change of [{ serverType: "cx43" }, { volumeSizeGb: 40 }, { backup: { ...(production.config["chatwoot:backup"] as object), storageBox: { type: "bx21" } } }]) {
      const walk = up(deployed, await stackWith(change));
      expect(walk.problems, JSON.stringify(change)).toEqual([]);
      expect(only(walk.operations, /^update /), JSON.stringify(change)).toEqual([]);
      expect(walk.operations.length, JSON.stringify(change)).toBeGreaterThan(0);
    }
  });

  it("rotating the Redis password or the webhook secret replaces only that value and re-runs the steps that carry it", () => {
    for (const secret of ["chatwoot-redis-password", "chatwoot-webhook-secret"]) {
      const walk = up(deployed, deployed, [secret]);
      expect(walk.problems, secret).toEqual([]);
      expect(only(walk.operations, /^(update chatwoot-|create replacement of chatwoot-(redis-password|webhook-secret)$|delete chatwoot-(redis-password|webhook-secret)$)/), secret).toEqual([]);
    }
  });

  it("the protected secrets refuse a rotation", () => {
    for (const secret of ["chatwoot-secret-key-base", "chatwoot-postgres-password", "chatwoot-backup-restic-password"]) {
      expect(up(deployed, deployed, [secret]).problems, secret).toEqual([expect.stringContaining(`${secret}: Pulumi refuses to replace a protected resource`)]);
    }
  });
});

describe("docs/migrate-existing.md, walked", () => {
  it("adopting uploads the files, adopts, then deploys; starting over uploads them again and re-runs adopt, deploy, bootstrap and verify", async () => {
    const database = path.join(dir, "chatwoot.dump");
    const storage = path.join(dir, "storage.tar.gz");
    fs.writeFileSync(database, "PGDMP");
    fs.writeFileSync(storage, "tar");
    const adopting = await stackWith({ adopt: { database, storage, withoutOldKeys: ["secretKeyBase", "encryption"] } });
    const first = up({ ...adopting, resources: [] }, adopting);
    expect(first.problems).toEqual([]);
    for (const [earlier, later] of [
      ["create chatwoot-adopt-database-file", "create chatwoot-adopt"],
      ["create chatwoot-adopt-storage-file", "create chatwoot-adopt"],
      ["create chatwoot-adopt", "create chatwoot-deploy"],
      ["create chatwoot-deploy", "create chatwoot-bootstrap"],
    ]) {
      expect(at(first.operations, earlier!), `${earlier} before ${later}`).toBeLessThan(at(first.operations, later!));
    }
    // "Starting over": pulumi up --replace on both uploads.
    const again = up(adopting, adopting, ["chatwoot-adopt-database-file", "chatwoot-adopt-storage-file"]);
    expect(again.problems).toEqual([]);
    const created = again.operations.filter((o) => o.startsWith("create")).map((o) => o.replace(/^create (replacement of )?/, ""));
    expect(created.sort()).toEqual(
      ["chatwoot-adopt", "chatwoot-adopt-database-file", "chatwoot-adopt-storage-file", "chatwoot-bootstrap", "chatwoot-deploy", "chatwoot-verify"].sort(),
    );
  });
});

describe("the walk's own rules", () => {
  it("finds the 409 a create-first replacement of a named Hetzner resource meets", () => {
    const moved = { ...unprotected, resources: unprotected.resources.map((r) => (r.name === "chatwoot-ipv4" ? { ...r, options: { ...r.options, deleteBeforeReplace: false } } : r)) };
    const diff = diffSnapshots(unprotected, moved, { base: "a", head: "b" }, ["chatwoot-ipv4"]);
    expect(walkApply(unprotected, moved, diff).problems).toEqual([
      'chatwoot-ipv4: Hetzner answers 409 uniqueness_error: "chatwoot-production-ipv4" still exists when its replacement is created',
    ]);
  });

  it("finds Hetzner's delete protection when only Pulumi's protect was lifted, except where the provider lifts it (the Storage Box)", () => {
    const pulumiOnly = { ...deployed, resources: deployed.resources.map((r) => ({ ...r, options: { ...r.options, protect: false } })) };
    const walk = (name: string) => walkApply(pulumiOnly, pulumiOnly, diffSnapshots(pulumiOnly, pulumiOnly, { base: "a", head: "b" }, [name]));
    expect(walk("chatwoot-data").problems).toEqual(["chatwoot-data: Hetzner refuses to delete it while its delete protection is on"]);
    // The box's own delete lifts it; what stops a replacement there is its name (created first).
    expect(walk("chatwoot-backup-storage-box").problems.filter((p) => p.includes("delete protection"))).toEqual([]);
  });
});
