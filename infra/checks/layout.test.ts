/**
 * The tree matches the README's Layout section: every path it names exists, every folder under
 * infra/ is named, and in a folder whose files it lists, every source file is listed (tests aside).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";

/** The paths the Layout block names, each with the folder it was listed under. */
function layoutPaths(readme: string): string[] {
  const block = /## Layout\n[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error("README.md has no Layout code block");
  const paths: string[] = [];
  const parents: string[] = [];
  for (const line of block.split("\n")) {
    const indent = line.length - line.trimStart().length;
    // Deeply indented lines continue the description above them.
    if (!line.trim() || indent >= 20) continue;
    const depth = indent / 2;
    parents.length = depth;
    const names = line.trim().split(/ {2,}/)[0]!.split(" ");
    for (const name of names) paths.push(path.posix.join(...parents, name));
    if (names.length === 1 && names[0]!.endsWith("/")) parents[depth] = names[0]!;
  }
  return paths;
}

const listed = layoutPaths(fs.readFileSync(path.join(repoRoot, "README.md"), "utf8"));
const isSource = (f: string) => /\.(ts|cjs|json)$/.test(f) && !f.endsWith(".test.ts");

describe("the README's Layout section", () => {
  it("names paths that exist", () => {
    expect(listed.length).toBeGreaterThan(30);
    expect(listed.filter((p) => !fs.existsSync(path.join(repoRoot, p)))).toEqual([]);
  });

  it("names every folder under infra/", () => {
    const folders = fs
      .readdirSync(path.join(repoRoot, "infra"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `infra/${e.name}/`);
    expect(folders.filter((f) => !listed.includes(f))).toEqual([]);
  });

  it("lists every source file of a folder whose files it lists", () => {
    // The repository root is described, not listed file by file.
    const folders = new Set(listed.filter((p) => !p.endsWith("/") && p.includes("/")).map((p) => path.posix.dirname(p) + "/"));
    const missing: string[] = [];
    for (const folder of folders) {
      for (const f of fs.readdirSync(path.join(repoRoot, folder))) {
        const p = folder + f;
        if (fs.statSync(path.join(repoRoot, p)).isFile() && isSource(f) && !listed.includes(p)) missing.push(p);
      }
    }
    expect(missing).toEqual([]);
  });
});
