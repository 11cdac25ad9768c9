/**
 * renovate.json: nothing merges automatically, Chatwoot bumps are grouped and wait for approval,
 * and every custom pattern really finds the version it is meant to keep current in this tree
 * (a pattern that matches nothing would silently stop the updates).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../lib/repo";
import { chatwoot } from "../facts/chatwoot";

type Rule = Record<string, unknown> & { matchDepNames?: string[]; matchPackageNames?: string[]; matchUpdateTypes?: string[] };
type CustomManager = { fileMatch: string[]; matchStrings: string[]; depNameTemplate: string; datasourceTemplate: string };
const config = JSON.parse(fs.readFileSync(path.join(repoRoot, "renovate.json"), "utf8")) as {
  automerge: boolean;
  customManagers: CustomManager[];
  packageRules: Rule[];
};
const trackedFiles = execFileSync("git", ["ls-files"], { cwd: repoRoot, encoding: "utf8" }).trim().split("\n");

/** What a custom manager extracts from the tree: file → current values. */
function extract(m: CustomManager): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const file of trackedFiles.filter((f) => m.fileMatch.some((re) => new RegExp(re).test(f)))) {
    const text = fs.readFileSync(path.join(repoRoot, file), "utf8");
    const values = m.matchStrings.flatMap((re) => [...text.matchAll(new RegExp(re, "g"))].map((x) => x.groups!.currentValue!));
    out[file] = values;
  }
  return out;
}

describe("renovate.json", () => {
  it("never merges anything automatically", () => {
    expect(config.automerge).toBe(false);
    for (const rule of config.packageRules) expect(rule.automerge ?? false, String(rule.description)).toBe(false);
  });

  it("groups Chatwoot major and minor bumps into one PR that waits for approval", () => {
    const rule = config.packageRules.find((r) => r.matchDepNames?.includes("chatwoot/chatwoot") && r.matchUpdateTypes?.includes("minor"))!;
    expect(rule).toMatchObject({ groupName: "Chatwoot", automerge: false, dependencyDashboardApproval: true });
    expect(rule.matchUpdateTypes).toEqual(["major", "minor"]);
  });

  it("finds the Chatwoot version in the code's default, in every stack file and in its explained copy", () => {
    const m = config.customManagers.find((x) => x.depNameTemplate === "chatwoot/chatwoot")!;
    expect(m.datasourceTemplate).toBe("docker");
    const found = extract(m);
    expect(found["infra/facts/chatwoot.ts"]).toEqual([chatwoot.defaultVersion]);
    const stackFiles = trackedFiles.filter((f) => /^Pulumi\.[^/]+\.yaml$/.test(f) || f === "docs/stack-config.example.yaml");
    expect(stackFiles.length).toBeGreaterThan(0);
    for (const f of stackFiles) {
      const configured = (parse(fs.readFileSync(path.join(repoRoot, f), "utf8")) as { config: Record<string, string> }).config["chatwoot:chatwootVersion"];
      expect(found[f], f).toEqual(configured ? [configured] : []);
    }
  });

  it("keeps the Pulumi CLI version file and the SDK in one group", () => {
    const m = config.customManagers.find((x) => x.fileMatch.some((re) => new RegExp(re).test(".pulumi.version")))!;
    expect(extract(m)[".pulumi.version"]).toEqual([fs.readFileSync(path.join(repoRoot, ".pulumi.version"), "utf8").trim()]);
    const group = config.packageRules.find((r) => r.groupName === "Pulumi")!;
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    const pulumiPackages = Object.keys(pkg.dependencies).filter((d) => d.startsWith("@pulumi/"));
    expect([...group.matchPackageNames!].sort()).toEqual(pulumiPackages.sort());
    expect(group.matchPackageNames).toContain(m.depNameTemplate);
  });

  it("holds PostgreSQL at its major version with a pattern that parses the current image tag", () => {
    const rule = config.packageRules.find((r) => r.matchPackageNames?.includes("pgvector/pgvector"))!;
    const pattern = String(rule.versioning).replace(/^regex:/, "");
    const compose = fs.readFileSync(path.join(repoRoot, "docker/compose.yaml"), "utf8");
    const tag = /image: pgvector\/pgvector:(\S+)/.exec(compose)![1]!;
    expect(new RegExp(pattern).test(tag)).toBe(true);
    expect(new RegExp(pattern).test(tag.replace("pg16", "pg17"))).toBe(false);
  });

  it("fails CI on a Chatwoot bump until the facts are read again at the new release", () => {
    // Renovate bumps defaultVersion and the stack files; facts/chatwoot-upstream.json names the release its
    // feature names, locales, installation configs and adoption bounds were read at.
    const bumped = Object.values(extract(config.customManagers.find((m) => m.depNameTemplate === "chatwoot/chatwoot")!)).flat();
    expect(bumped.length).toBeGreaterThan(0);
    for (const version of bumped) {
      expect(version, `a Chatwoot release newer than the facts (${chatwoot.factsVersion}): re-read infra/facts/chatwoot-upstream.json and ADOPTION in infra/facts/chatwoot.ts at ${version}`).toBe(chatwoot.factsVersion);
    }
    expect(chatwoot.defaultVersion).toBe(chatwoot.factsVersion);
  });
});
