/**
 * Every `protect`, `ignoreChanges` and `deleteBeforeReplace` in the program says why, in a comment
 * just above it (or on its line): these options decide what a replacement or a destroy does.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../lib/repo";

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    // plan/ reads options back (the offline planner); it sets none.
    if (e.isDirectory()) return ["test", "bench", "checks", "plan"].includes(e.name) ? [] : sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

/** Options set on a resource: `protect: …`, `ignoreChanges: […]`, `deleteBeforeReplace: …`, not type declarations. */
const OPTION = /^\s*(protect|ignoreChanges|deleteBeforeReplace):\s*(?!boolean|string\[\]|\w+\s*;)/;

it("comments every protect, ignoreChanges and deleteBeforeReplace with its reason", () => {
  const uncommented: string[] = [];
  let seen = 0;
  for (const file of sources(path.join(repoRoot, "infra"))) {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    lines.forEach((line, i) => {
      if (!OPTION.test(line)) return;
      seen++;
      const above = lines.slice(Math.max(0, i - 4), i).join("\n");
      if (!/\/\/|\*\//.test(above) && !line.includes("//")) uncommented.push(`${path.relative(repoRoot, file)}:${i + 1}`);
    });
  }
  expect(seen).toBeGreaterThanOrEqual(6);
  expect(uncommented).toEqual([]);
});
