/** What infra/test/global-setup.ts gives every test process. */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { run, tempDir } from "./run";

it("a bash that a test starts reads no ~/.bashrc, however the run itself was started", () => {
  const home = tempDir("bashrc-home");
  try {
    fs.writeFileSync(path.join(home, ".bashrc"), 'echo "read ~/.bashrc"\n');
    // Through exec too: bash lowers SHLVL before it replaces itself.
    const script = ["-c", "exec bash -c 'echo ran'"];
    expect(run("bash", script, { env: { ...process.env, HOME: home } }).stdout).toBe("ran\n");
    // Why SHLVL matters: without it, the same bash (its stdin a socket, as node gives it) reads it.
    const { SHLVL: _, ...withoutLevel } = process.env;
    expect(run("bash", script, { env: { ...withoutLevel, HOME: home } }).stdout).toContain("read ~/.bashrc");
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
