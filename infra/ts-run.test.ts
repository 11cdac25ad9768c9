/** infra/ts-run.cjs, the loader `npm run plan` runs on: TypeScript in, the right program out. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./lib/repo";
import { tempDir } from "./test/run";

const TS_RUN = path.join(repoRoot, "infra/ts-run.cjs");

function tsRun(file: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [TS_RUN, file, ...args], { encoding: "utf8", timeout: 900_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("ts-run", () => {
  const dir = tempDir("ts-run");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("runs TypeScript that only a transpiler can run, with the entry as require.main and its own argv", () => {
    fs.writeFileSync(
      path.join(dir, "shape.ts"),
      `export enum Shape { Round = 3, Square = 4 }\n` + `export class Box { constructor(readonly sides: Shape) {} }\n`,
    );
    const entry = path.join(dir, "main.ts");
    fs.writeFileSync(
      entry,
      `import { Box, Shape } from "./shape";\n` +
        `const box: Box = new Box(Shape.Square);\n` +
        `console.log(JSON.stringify({ sides: box.sides, main: require.main === module, argv: process.argv.slice(1) }));\n`,
    );
    const r = tsRun(entry, "--flag", "value");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ sides: 4, main: true, argv: [entry, "--flag", "value"] });
  });

  it("runs the changed file after an edit, not a cached transpilation of the old one", () => {
    const entry = path.join(dir, "edited.ts");
    fs.writeFileSync(entry, `const answer: number = 1;\nconsole.log(answer);\n`);
    expect(tsRun(entry).stdout.trim()).toBe("1");
    fs.writeFileSync(entry, `const answer: number = 2;\nconsole.log(answer);\n`);
    expect(tsRun(entry).stdout.trim()).toBe("2");
  });

  it("loads @pulumi/pulumi without TypeScript's compiler and npm's Arborist, which load when first used, and work", () => {
    const project = path.join(dir, "closure");
    fs.mkdirSync(project);
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(project, "node_modules"));
    const entry = path.join(project, "main.ts");
    fs.writeFileSync(
      entry,
      `import * as pulumi from "@pulumi/pulumi";\n` +
        `const loaded = () => ["typescript", "@npmcli/arborist"].filter((m) => Object.keys(require.cache).some((f) => f.includes(\`/node_modules/\${m}/\`)));\n` +
        `const before = loaded();\n` +
        `(async () => {\n` +
        `  const fn = await pulumi.runtime.serializeFunction(() => 6 * 7);\n` +
        `  const paths = await pulumi.runtime.computeCodePaths();\n` +
        `  console.log(JSON.stringify({ before, serialized: fn.text.includes("6 * 7"), codePaths: paths.size > 0, after: loaded() }));\n` +
        `})();\n`,
    );
    const r = tsRun(entry);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ before: [], serialized: true, codePaths: true, after: ["typescript", "@npmcli/arborist"] });
  });

  it("transpiles a file once for every path it is found at: a copy elsewhere (a worktree) reuses the entry", () => {
    // Content no other run has had, so only this test's runs make entries holding it. Other test
    // files run side by side and add entries of their own to the same cache, so entries are told
    // apart by content, not counted.
    const token = `${process.pid}-${Date.now()}-${Math.random()}`;
    const root = path.join(repoRoot, "node_modules/.cache/chatwoot-ts-run/js");
    const entries = () => (fs.existsSync(root) ? fs.readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith(".js")) : []);
    const before = new Set(entries());
    const entriesHoldingToken = () =>
      entries().filter((f) => !before.has(f) && fs.readFileSync(path.join(root, f), "utf8").includes(token));
    const source = `const token: string = ${JSON.stringify(token)};\nconsole.log(token.length > 0);\n`;
    for (const where of ["one", "two"]) {
      const entry = path.join(dir, where, "same.ts");
      fs.mkdirSync(path.dirname(entry), { recursive: true });
      fs.writeFileSync(entry, source);
      expect(tsRun(entry).stdout.trim()).toBe("true");
    }
    expect(entriesHoldingToken()).toHaveLength(1);
  });

  it("reports an exception with a non-zero exit, and a missing entry with usage", () => {
    const entry = path.join(dir, "throws.ts");
    fs.writeFileSync(entry, `throw new Error("deliberate failure");\n`);
    const r = tsRun(entry);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("deliberate failure");
    const none = spawnSync(process.execPath, [TS_RUN], { encoding: "utf8" });
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("usage: node infra/ts-run.cjs");
  });
});
