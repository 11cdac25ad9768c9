/**
 * `npm run plan -- --diff <ref>` against fixture revisions: a copy of this repository in a
 * temporary git repository, one commit as the base, then a change in the working tree per case.
 * Runs the real CLI the way `npm run plan` does (infra/ts-run.cjs), so both sides are evaluated by their own code in separate processes.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { runAsync, tempDir } from "../test/tools";

let repo: string;

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: repo, encoding: "utf8", env: { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com" } });
}

function planDiff(ref = "HEAD") {
  return runAsync(process.execPath, ["infra/ts-run.cjs", "infra/plan/cli.ts", "--diff", ref], { cwd: repo });
}

const STACK_FILE = "Pulumi.production.yaml";
type StackDoc = { config: Record<string, unknown> };
function editStack(edit: (config: Record<string, unknown>) => void): void {
  const file = path.join(repo, STACK_FILE);
  const doc = parse(fs.readFileSync(file, "utf8")) as StackDoc;
  edit(doc.config);
  fs.writeFileSync(file, stringify(doc));
}
function reset(): void {
  git("checkout", "--quiet", "--", ".");
}
/** The plan diff after one change to the stack file, which is undone afterwards. */
async function planDiffAfter(edit: (config: Record<string, unknown>) => void) {
  editStack(edit);
  try {
    return await planDiff();
  } finally {
    reset();
  }
}

beforeAll(() => {
  repo = tempDir("plan-diff");
  const files = execFileSync("git", ["ls-files", "-z"], { cwd: repoRoot, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const f of files) {
    const src = path.join(repoRoot, f);
    if (!fs.existsSync(src)) continue;
    fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
    fs.copyFileSync(src, path.join(repo, f));
    fs.chmodSync(path.join(repo, f), fs.statSync(src).mode);
  }
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(repo, "node_modules"));
  git("init", "--quiet");
  // A committed secret, as `pulumi config set --secret` leaves it (ciphertext only).
  editStack((c) => (c["chatwoot:smtpPassword"] = { secure: "v1:Y2lwaGVydGV4dC1vbmU=" }));
  git("add", "--all");
  git("commit", "--quiet", "-m", "base");
});
afterAll(() => fs.rmSync(repo, { recursive: true, force: true }));

describe("plan --diff against a fixture revision", () => {
  it("reports no changes, exit 0, when the working tree equals the revision", async () => {
    const r = await planDiff();
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("No changes: pulumi up would do nothing.");
    expect(r.status).toBe(0);
  });

  it("a version bump re-runs deploy, bootstrap and verify only, and says why; exit 2", async () => {
    editStack((c) => (c["chatwoot:chatwootVersion"] = "v4.16.0"));
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      const steps = r.stdout.split("\n").filter((l) => l.startsWith("  > "));
      expect(steps).toEqual([
        expect.stringMatching(/^ {2}> chatwoot-deploy +version v4\.15\.1 → v4\.16\.0$/),
        expect.stringMatching(/^ {2}> chatwoot-bootstrap +version v4\.15\.1 → v4\.16\.0$/),
        expect.stringMatching(/^ {2}> chatwoot-verify +version v4\.15\.1 → v4\.16\.0$/),
      ]);
      expect(r.stdout).not.toContain("REPLACED");
      expect(r.stdout).toContain("0 to replace, 0 to create, 0 to delete, 0 to update; 3 remote step(s) run");
    } finally {
      reset();
    }
  });

  it("a changed admin password re-runs only the bootstrap, and an old deploy key nothing", async () => {
    editStack((c) => {
      c["chatwoot:adminPassword"] = { secure: "v1:YWRtaW4tb25l" };
      c["chatwoot:sshPrivateKey"] = { secure: "v1:a2V5LW9uZQ==" };
    });
    try {
      const r = await planDiff();
      const steps = r.stdout.split("\n").filter((l) => l.startsWith("  > "));
      expect(steps, r.stdout + r.stderr).toEqual([expect.stringMatching(/^ {2}> chatwoot-bootstrap +secret config changed or re-encrypted \(values not shown\): chatwoot:adminPassword$/)]);
      expect(r.stdout).not.toContain("YWRtaW4");
    } finally {
      reset();
    }
  });

  it("an env change shows the env file's diff with secrets masked, and re-runs write-env, deploy and verify", async () => {
    editStack((c) => {
      c["chatwoot:embedAllowedOrigins"] = ["https://app.example.com", "https://admin.example.com"];
      c["chatwoot:smtpPassword"] = { secure: "v1:Y2lwaGVydGV4dC10d28=" };
    });
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/> chatwoot-write-env +env changed: CHATWOOT_FRAME_ORIGINS; secret config changed or re-encrypted \(values not shown\): chatwoot:smtpPassword/);
      expect(r.stdout).toMatch(/> chatwoot-deploy +env changed: CHATWOOT_FRAME_ORIGINS/);
      expect(r.stdout).toMatch(/> chatwoot-verify /);
      expect(r.stdout).not.toMatch(/> chatwoot-(upload|bootstrap)/);
      expect(r.stdout).toContain("--- env (secrets masked) (HEAD");
      expect(r.stdout).toContain("+CHATWOOT_FRAME_ORIGINS='https://app.example.com https://admin.example.com'");
      // Neither ciphertext is echoed.
      expect(r.stdout).not.toContain("Y2lwaGVydGV4dC");
    } finally {
      reset();
    }
  });

  it("a change that replaces the server is flagged loudly, with the forcing input, and every step re-runs", async () => {
    editStack((c) => (c["chatwoot:image"] = "ubuntu-22.04"));
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toContain("!! 2 RESOURCES WILL BE REPLACED");
      expect(r.stdout).toMatch(/!! +hcloud:index\/server:Server +chatwoot-server +\(forced by image; deleted first\)/);
      expect(r.stdout).toContain("!!       image: ubuntu-24.04 → ubuntu-22.04");
      // Along the dependency graph: the attachment names the server, every step's triggers too.
      expect(r.stdout).toMatch(/!! +hcloud:index\/volumeAttachment:VolumeAttachment +chatwoot-data-attachment +\(new chatwoot-server \(serverId\)\)/);
      for (const step of ["wait-ready", "upload", "write-env", "deploy", "bootstrap", "verify"]) {
        expect(r.stdout).toMatch(new RegExp(`> chatwoot-${step} +new chatwoot-server \\(triggers\\)`));
      }
      // The volume, IPs and backups survive.
      expect(r.stdout).not.toMatch(/chatwoot-data +\(|chatwoot-ipv4|storage-box/);
    } finally {
      reset();
    }
  });

  it("a resize updates the server in place and re-runs deploy (sizing) and verify, saying why", async () => {
    editStack((c) => (c["chatwoot:serverType"] = "cx43"));
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toContain("~ hcloud:index/server:Server  chatwoot-server");
      const steps = r.stdout.split("\n").filter((l) => l.startsWith("  > "));
      expect(steps).toEqual([
        expect.stringMatching(/^ {2}> chatwoot-deploy +server type cx33 → cx43 \(a power cycle: Chatwoot is sized to it and checked again\)$/),
        expect.stringMatching(/^ {2}> chatwoot-verify +server type cx33 → cx43 \(a power cycle: Chatwoot is sized to it and checked again\)$/),
      ]);
    } finally {
      reset();
    }
  });

  /** The move of docs/disaster-recovery.md, protection lifted. */
  const moveToHelsinki = () =>
    editStack((c) => {
      c["chatwoot:location"] = "hel1";
      c["chatwoot:deleteProtection"] = false;
    });

  it("a location change (protection lifted) lists every replacement, reverse DNS included", async () => {
    moveToHelsinki();
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      for (const name of ["chatwoot-server", "chatwoot-data", "chatwoot-ipv4", "chatwoot-ipv6", "chatwoot-rdns-v4", "chatwoot-rdns-v6", "chatwoot-data-attachment"]) {
        expect(r.stdout).toMatch(new RegExp(`!! +\\S+ +${name} +\\(`));
      }
    } finally {
      reset();
    }
  });

  it("with the DNS zone managed, a location move also rewrites the A and AAAA records of the new IPs", async () => {
    // A base revision that manages the zone, then the move.
    editStack((c) => (c["chatwoot:dnsZone"] = "example.com"));
    git("commit", "--quiet", "-am", "manage the zone");
    moveToHelsinki();
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/!! +hcloud:index\/rdns:Rdns +chatwoot-rdns-v6 +\(new chatwoot-ipv6 \(ipAddress\)/);
      const updates = r.stdout.slice(r.stdout.indexOf("To update in place:"));
      expect(updates).toMatch(/~ hcloud:index\/zoneRrset:ZoneRrset +chatwoot-dns-aaaa\n +records changes with the new chatwoot-ipv6/i);
      expect(updates).toMatch(/~ hcloud:index\/zoneRrset:ZoneRrset +chatwoot-dns-a\n +records changes with the new chatwoot-ipv4/i);
    } finally {
      reset();
      git("reset", "--quiet", "--hard", "HEAD~1");
    }
  });

  it("growing the volume updates it in place and re-runs only wait-ready, which grows the filesystem", async () => {
    editStack((c) => (c["chatwoot:volumeSizeGb"] = 40));
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toContain("To update in place:\n  ~ hcloud:index/volume:Volume  chatwoot-data\n        size: 20 → 40");
      expect(r.stdout.split("\n").filter((l) => l.startsWith("  > "))).toEqual([
        expect.stringMatching(/^ {2}> chatwoot-wait-ready +volume 20 → 40 GB \(the filesystem is grown\)$/),
      ]);
      expect(r.stdout).not.toContain("REPLACED");
    } finally {
      reset();
    }
  });

  it("refuses a volume shrink loudly (exit 1): Hetzner would refuse it half-way through pulumi up", async () => {
    const r = await planDiffAfter((c) => (c["chatwoot:volumeSizeGb"] = 10));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("refused: chatwoot:volumeSizeGb 20 → 10: a Hetzner volume cannot shrink");
    expect(r.stdout).not.toContain("the filesystem is grown");
  });

  it("a bundle file change names the file, shows its diff, and re-runs upload, deploy and verify", async () => {
    const caddyfile = path.join(repo, "docker/Caddyfile");
    fs.appendFileSync(caddyfile, "# a reviewer should see this line\n");
    try {
      const r = await planDiff();
      expect(r.status).toBe(2);
      expect(r.stdout).toMatch(/> chatwoot-upload +bundle file changed: docker\/Caddyfile/);
      expect(r.stdout).toMatch(/> chatwoot-deploy +file it runs changed: docker\/Caddyfile/);
      expect(r.stdout).toMatch(/> chatwoot-verify +file it runs changed: docker\/Caddyfile/);
      expect(r.stdout).not.toMatch(/> chatwoot-bootstrap/);
      expect(r.stdout).toContain("+# a reviewer should see this line");
      expect(r.stdout).toContain("--- Caddyfile (HEAD");
    } finally {
      reset();
    }
  });

  it("a changed operator tool or check re-runs only the steps that run it", async () => {
    fs.appendFileSync(path.join(repo, "scripts/rollback.sh"), "# comment\n");
    fs.appendFileSync(path.join(repo, "scripts/verify.sh"), "# comment\n");
    try {
      const r = await planDiff();
      const steps = r.stdout.split("\n").filter((l) => l.startsWith("  > ")).map((l) => l.trim().split(/\s+/)[1]);
      expect(steps).toEqual(["chatwoot-upload", "chatwoot-verify"]);
    } finally {
      reset();
    }
  });

  it("exits 1 with the key named when the working tree's configuration is invalid, and for an unknown ref", async () => {
    editStack((c) => (c["chatwoot:serverType"] = "cx22"));
    try {
      const r = await planDiff();
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('chatwoot:serverType "cx22" is deprecated');
    } finally {
      reset();
    }
    const unknown = await planDiff("no-such-branch");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain("plan diff failed: git rev-parse");
    // No worktree is left behind.
    expect(git("worktree", "list").trim().split("\n")).toHaveLength(1);
  });

  it("keeps a revision's snapshot and uses it for the next diff against it; an unreadable entry is computed again", async () => {
    const cacheDir = path.join(repo, "node_modules", ".cache", "chatwoot-plan");
    const entries = () => new Set(fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : []);
    // A commit no other diff has used: the working tree's own tree, under another commit.
    const base = git("commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "cache probe").trim();
    const before = entries();
    const first = await planDiff(base);
    expect(first.stdout).toContain("No changes: pulumi up would do nothing.");
    const added = [...entries()].filter((e) => !before.has(e));
    expect(added).toHaveLength(1);
    const entry = path.join(cacheDir, added[0]!);
    try {
      // What the next diff reads is the kept snapshot: a server type changed in it shows up.
      const kept = fs.readFileSync(entry, "utf8");
      expect(kept).toContain('"cx33"');
      fs.writeFileSync(entry, kept.replaceAll('"cx33"', '"cx43"'));
      const fromCache = await planDiff(base);
      expect(fromCache.status).toBe(2);
      expect(fromCache.stdout).toContain("cx43 → cx33");
      fs.writeFileSync(entry, "{ not json");
      const again = await planDiff(base);
      expect(again.stderr).toBe("");
      expect(again.stdout).toContain("No changes: pulumi up would do nothing.");
      expect(JSON.parse(fs.readFileSync(entry, "utf8"))).toEqual(JSON.parse(kept));
    } finally {
      fs.rmSync(entry, { force: true });
    }
  });
});
