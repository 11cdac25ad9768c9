/**
 * The GitHub workflows: valid against GitHub's workflow schema (@action-validator/core, which
 * bundles it), and the rules that make them safe: fork pull requests get no secrets, previews
 * comment with a diff, deploys are gated and serialised, drift fails on changes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { validateWorkflow } from "@action-validator/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../lib/repo";
import { run, tempDir } from "../test/tools";

const DIR = path.join(repoRoot, ".github/workflows");
const source = (name: string) => fs.readFileSync(path.join(DIR, name), "utf8");

type Step = { name?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> };
type Job = { if?: string; needs?: string | string[]; environment?: string; permissions?: Record<string, string>; steps: Step[] };
type Workflow = { on: Record<string, unknown>; jobs: Record<string, Job>; concurrency?: { group: string; "cancel-in-progress": boolean }; permissions?: Record<string, string> };
const workflow = (name: string) => parse(source(name)) as Workflow;
const pulumiStep = (job: Job) => job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
const SAME_REPO = "github.event.pull_request.head.repo.full_name == github.repository";

describe("workflow files", () => {
  it("are exactly preview, deploy, drift and the manual cluster e2e", () => {
    expect(fs.readdirSync(DIR).sort()).toEqual(["deploy.yml", "drift.yml", "e2e-cluster.yml", "preview.yml"]);
  });

  it.each(["preview.yml", "deploy.yml", "drift.yml", "e2e-cluster.yml"])("%s is valid against GitHub's workflow schema", (name) => {
    expect(validateWorkflow(source(name)).errors).toEqual([]);
  });

  it("the validator does reject a broken workflow", () => {
    const broken = source("drift.yml").replace("runs-on:", "runs_on:");
    expect(validateWorkflow(broken).errors.length).toBeGreaterThan(0);
  });

  it("use pulumi/actions v7 with the CLI version pinned by .pulumi.version, matching the SDK", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    expect(fs.readFileSync(path.join(repoRoot, ".pulumi.version"), "utf8").trim()).toBe(pkg.dependencies["@pulumi/pulumi"]);
    for (const [name, job] of [
      ["preview.yml", workflow("preview.yml").jobs.preview!],
      ["deploy.yml", workflow("deploy.yml").jobs.deploy!],
      ["drift.yml", workflow("drift.yml").jobs.drift!],
    ] as const) {
      const step = pulumiStep(job);
      expect(step.uses, name).toBe("pulumi/actions@v7");
      expect(step.with!["pulumi-version-file"], name).toBe(".pulumi.version");
      expect(step.with!["stack-name"], name).toBe("production");
      expect(step.env!.PULUMI_CONFIG_PASSPHRASE, name).toBe("${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    }
  });
});

describe("preview.yml", () => {
  const w = workflow("preview.yml");

  it("runs on pull_request, never pull_request_target (which would hand fork code the secrets)", () => {
    expect(Object.keys(w.on)).toEqual(["pull_request"]);
    expect(source("preview.yml")).not.toMatch(/^\s*pull_request_target/m);
  });

  it("uses secrets only in jobs that forks cannot run", () => {
    for (const [name, job] of Object.entries(w.jobs)) {
      if (JSON.stringify(job).includes("secrets.")) expect(job.if, name).toBe(SAME_REPO);
    }
    expect(JSON.stringify(w.jobs["plan-diff"])).not.toContain("secrets.");
    expect(JSON.stringify(w.jobs.test)).not.toContain("secrets.");
  });

  it("runs the tests through .ci/run and posts the offline plan diff against the base branch", () => {
    expect(w.jobs.test!.steps.some((s) => s.run === "bash .ci/run")).toBe(true);
    const diff = w.jobs["plan-diff"]!;
    expect(diff.steps.find((s) => s.uses?.startsWith("actions/checkout"))!.with).toEqual({ "fetch-depth": 0 });
    const run = diff.steps.find((s) => s.run?.includes("plan -- --diff"))!.run!;
    expect(run).toContain('--diff "origin/$BASE_REF"');
    // Exit 2 (changes) is a result, not a failure; exit 1 is.
    expect(run).toContain('if [ "$status" -eq 1 ]; then exit 1; fi');
    const comment = diff.steps.find((s) => s.uses?.startsWith("actions/github-script"))!;
    expect(comment.if).toBe(SAME_REPO);
    expect(diff.permissions).toEqual({ contents: "read", "pull-requests": "write" });
  });

  it("previews the real stack with a PR comment, a rich diff and a refresh, using a read-only token", () => {
    const job = w.jobs.preview!;
    expect(job.if).toBe(SAME_REPO);
    expect(pulumiStep(job).with).toMatchObject({ command: "preview", "comment-on-pr": true, diff: true, refresh: true });
    expect(pulumiStep(job).env!.HCLOUD_TOKEN).toBe("${{ secrets.HCLOUD_TOKEN_READONLY }}");
  });
});

describe("the read-only token takes effect (the provider prefers hcloud:token from the stack file)", () => {
  for (const file of ["preview.yml", "drift.yml"]) {
    it(`${file} drops hcloud:token from the stack file before pulumi runs, keeping everything else`, () => {
      const w = workflow(file);
      const job = Object.values(w.jobs).find((j) => j.steps.some((s) => s.env?.HCLOUD_TOKEN === "${{ secrets.HCLOUD_TOKEN_READONLY }}"))!;
      const i = job.steps.findIndex((s) => s.name?.startsWith("Use the read-only token"));
      expect(i).toBeGreaterThan(-1);
      expect(i).toBeLessThan(job.steps.indexOf(pulumiStep(job)));
      const dir = tempDir("stack");
      const stackFile = [
        "config:",
        "  chatwoot:domain: support.example.com",
        "  hcloud:token:",
        "    secure: v1:AAAAciphertext==",
        "  chatwoot:location: nbg1",
        "",
      ].join("\n");
      fs.writeFileSync(path.join(dir, "Pulumi.production.yaml"), stackFile);
      const r = run("bash", ["-c", job.steps[i]!.run!], { cwd: dir, env: { ...process.env, NODE_PATH: path.join(repoRoot, "node_modules") } });
      const after = fs.readFileSync(path.join(dir, "Pulumi.production.yaml"), "utf8");
      fs.rmSync(dir, { recursive: true, force: true });
      expect(r.status, r.stderr).toBe(0);
      expect(after).not.toContain("hcloud:token");
      expect(after).toContain("chatwoot:domain: support.example.com");
      expect(after).toContain("chatwoot:location: nbg1");
    });
  }
});

describe("deploy.yml and drift.yml", () => {
  it("deploy runs pulumi up on main, after the tests, behind the production environment, one at a time", () => {
    const w = workflow("deploy.yml");
    expect(w.on.push).toEqual({ branches: ["main"] });
    const job = w.jobs.deploy!;
    expect(job.needs).toBe("test");
    expect(job.environment).toBe("production");
    expect(pulumiStep(job).with).toMatchObject({ command: "up" });
    expect(w.concurrency).toEqual({ group: "deploy-production", "cancel-in-progress": false });
  });

  it("drift runs on a schedule and fails when the refreshed preview has changes", () => {
    const w = workflow("drift.yml");
    expect(Object.keys(w.on).sort()).toEqual(["schedule", "workflow_dispatch"]);
    expect(pulumiStep(w.jobs.drift!).with).toMatchObject({ command: "preview", refresh: true, "expect-no-changes": true });
    // Never alongside a deploy.
    expect(w.concurrency!.group).toBe(workflow("deploy.yml").concurrency!.group);
  });
});

describe("Pulumi.yaml", () => {
  it("requires a CLI with the clean detach ordering (pulumi/pulumi#23818, after v3.259.0), and the pinned CLI meets it", () => {
    const project = parse(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as { requiredPulumiVersion?: string };
    expect(project.requiredPulumiVersion).toBe(">=3.260.0");
    const pinned = fs.readFileSync(path.join(repoRoot, ".pulumi.version"), "utf8").trim().split(".").map(Number);
    expect(pinned[0]! > 3 || (pinned[0] === 3 && pinned[1]! >= 260)).toBe(true);
  });
});

describe("the cluster e2e workflow", () => {
  const e2e = workflow("e2e-cluster.yml");
  const steps = e2e.jobs.e2e!.steps.map((s) => s.name ?? s.uses ?? "");

  it("runs only by hand, and destroys even after a failure", () => {
    expect(Object.keys(e2e.on)).toEqual(["workflow_dispatch"]);
    const destroy = e2e.jobs.e2e!.steps.find((s) => s.name?.startsWith("Destroy"))!;
    expect(destroy.if).toBe("always()");
    expect(destroy.run).toMatch(/pulumi destroy --stack e2e-app[\s\S]*pulumi destroy --stack e2e-cluster/);
  });

  it("covers what the issue asks, in order: up, verify, upgrade under load, kill a node, restore, destroy", () => {
    const order = ["Up the cluster", "Up Chatwoot", "Upgrade under load", "Kill a worker node", "Restore the database backup", "Destroy both stacks"];
    const at = order.map((o) => steps.findIndex((s) => s.startsWith(o)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it("passes the token and the bucket keys through the environment and stdin, never into a script's text", () => {
    for (const step of e2e.jobs.e2e!.steps) expect(step.run ?? "", step.name).not.toMatch(/secrets\./);
    const text = source("e2e-cluster.yml");
    const setSecret = [...text.matchAll(/[^\n]*pulumi config set[^\n]*--secret[^\n]*/g)].map((m) => m[0]);
    expect(setSecret.length).toBe(5);
    for (const line of setSecret) expect(line).toMatch(/^\s*printf '%s' "\$[A-Z0-9_]+" \| pulumi config set /);
  });
});
