/** A child's whole output reaches its parent, however large, even when it exits right after. */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "./repo";
import { runCollect } from "./process";
import { tempDir } from "../test/run";

describe("exitAfterFlush", () => {
  const dir = tempDir("flush");
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
  const script = (exit: string) => {
    const file = path.join(dir, `${exit.replace(/\W/g, "")}.ts`);
    fs.writeFileSync(
      file,
      `import { exitAfterFlush } from ${JSON.stringify(path.join(repoRoot, "infra/lib/process"))};\n` +
        `process.stdout.write(JSON.stringify({ data: "x".repeat(8 * 1024 * 1024) }) + "\\n");\n${exit};\n`,
    );
    return file;
  };

  it("delivers 8 MB through a pipe before exiting", async () => {
    const r = await runCollect(tsx, [script("exitAfterFlush(3)")]);
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout).data).toHaveLength(8 * 1024 * 1024);
  });

  it("where process.exit right after the write loses output (the bug it fixes)", async () => {
    const r = await runCollect(tsx, [script("process.exit(3)")]);
    expect(r.status).toBe(3);
    expect(r.stdout.length).toBeLessThan(8 * 1024 * 1024);
  });
});
