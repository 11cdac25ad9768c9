/** What infra/test/global-setup.ts gives every test process. */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { testShellLevel } from "./global-setup";
import { run, tempDir } from "./run";

it("a bash that a test starts reads no ~/.bashrc, even when the run itself was started without SHLVL", () => {
  const home = tempDir("bashrc-home");
  try {
    fs.writeFileSync(path.join(home, ".bashrc"), 'echo "read ~/.bashrc"\n');
    // Through exec too: bash lowers SHLVL before it replaces itself.
    const script = ["-c", "exec bash -c 'echo ran'"];
    const { SHLVL: _, ...withoutLevel } = process.env;
    // Why it matters: without SHLVL, a bash whose stdin is a socket (as node gives it) reads it.
    expect(run("bash", script, { env: { ...withoutLevel, HOME: home } }).stdout).toContain("read ~/.bashrc");
    for (const runs of [undefined, "0", "", "3"]) {
      const env = { ...withoutLevel, HOME: home, SHLVL: testShellLevel(runs) };
      expect(run("bash", script, { env }).stdout, `run started with SHLVL=${runs}`).toBe("ran\n");
    }
    // And this test process has it set so.
    expect(Number(process.env.SHLVL)).toBeGreaterThanOrEqual(1);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
