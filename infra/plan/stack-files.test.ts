/**
 * The committed stack file holds nothing a Pulumi rewrite would drop (`pulumi stack init` and every
 * `pulumi config set` write it anew, without comments or blank lines), and the explained copy in
 * docs/ holds the same values.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../lib/repo";

const read = (f: string) => fs.readFileSync(path.join(repoRoot, f), "utf8");

describe("Pulumi.production.yaml and docs/stack-config.example.yaml", () => {
  it("the stack file has no comment and no blank line for Pulumi to drop", () => {
    const lines = read("Pulumi.production.yaml").split("\n").slice(0, -1);
    expect(lines.filter((l) => /^\s*#/.test(l) || l.trim() === "")).toEqual([]);
  });

  it("the explained copy holds exactly the same configuration, and explains it", () => {
    const example = read("docs/stack-config.example.yaml");
    expect(parse(example)).toEqual(parse(read("Pulumi.production.yaml")));
    expect(example.split("\n").filter((l) => /^\s*#/.test(l)).length).toBeGreaterThan(40);
  });
});
