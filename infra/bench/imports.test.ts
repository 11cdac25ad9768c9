/** `npm run bench` runs outside vitest: nothing it loads may import vitest (which refuses require()). */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../lib/repo";

/** Every project file bench.ts loads, following relative imports. */
function loaded(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  for (const m of fs.readFileSync(entry, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
    const base = path.resolve(path.dirname(entry), m[1]!);
    const file = [`${base}.ts`, base].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (file?.endsWith(".ts")) loaded(file, seen);
  }
  return seen;
}

it("bench.ts loads no module that imports vitest", () => {
  const files = [...loaded(path.join(repoRoot, "infra/bench/bench.ts"))];
  expect(files.length).toBeGreaterThan(10);
  const withVitest = files.filter((f) => /from "vitest"/.test(fs.readFileSync(f, "utf8"))).map((f) => path.relative(repoRoot, f));
  expect(withVitest).toEqual([]);
});
