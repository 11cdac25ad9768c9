/**
 * Runs once, in vitest's main process, before any test file. Version managers put a shim first on
 * PATH (pyenv's `python3` is a shell script that starts a dozen more processes to pick a version),
 * and the host-script tests call python3 hundreds of times: on a small machine that was a third of
 * the watchdog tests' time. The shim is resolved once, and the interpreter it picks is put first on
 * PATH for every test: the same python3, one process per call. Without a shim nothing changes.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export default function setup(): () => void {
  const onPath = spawnSync("sh", ["-c", "command -v python3"], { encoding: "utf8" });
  const real = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  const shim = onPath.stdout.trim();
  const interpreter = real.stdout.trim();
  if (onPath.status !== 0 || real.status !== 0 || !interpreter || fs.realpathSync(shim) === fs.realpathSync(interpreter)) return () => {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chatwoot-test-bin-"));
  fs.symlinkSync(interpreter, path.join(dir, "python3"));
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ""}`;
  return () => fs.rmSync(dir, { recursive: true, force: true });
}
