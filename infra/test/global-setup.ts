/**
 * Runs once, in vitest's main process, before any test file. Two kinds of wrapper sit first on
 * PATH on Debian-based machines and start extra processes on every call, which the host-script
 * tests make hundreds of:
 *   - a version manager's shim (pyenv's `python3` is a shell script that starts a dozen more
 *     processes to pick a version), whose interpreters may also load site hooks at every start:
 *     the distribution's own /usr/bin/python3 is used where there is one (the kind of interpreter
 *     the server runs the watchdog with: Ubuntu's, standard library only), else the interpreter
 *     the shim picks, resolved once;
 *   - Debian's pg_wrapper behind psql, pg_dump and pg_restore (a Perl program that picks a
 *     version): the newest installed client is used, the one the wrapper picks for a server that
 *     is not a local cluster, as the tests' servers are not.
 * Each is linked into a directory put first on PATH for every test: the same programs, one
 * process per call. Where there is no wrapper nothing changes.
 *
 * restic is linked there too, at the backup image's version (built from the Go module proxy,
 * infra/test/go-tools.ts), not the distribution's older one. Without Go the tests run the restic
 * on PATH, saying so; under CI=true that is an error.
 *
 * SHLVL is at least 1 for every test: bash reads ~/.bashrc, even when not interactive, when it
 * takes itself for a shell that sshd started: its stdin is a socket (node's pipes to a child are
 * socket pairs) and SHLVL says it is a top-level shell. A run started without SHLVL (not from a
 * shell) would otherwise make a developer's ~/.bashrc part of a test: slow (a version manager's
 * init is a dozen processes) and free to print or to change PATH.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RESTIC, resticDir } from "./go-tools";
import { TEST_SCRATCH_ENV } from "./run";

function onPath(name: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return r.status === 0 && r.stdout.trim() ? fs.realpathSync(r.stdout.trim()) : undefined;
}

const DISTRIBUTION_PYTHON = "/usr/bin/python3";

/** The distribution's python3, or the one a shim runs, when `python3` on PATH is not that interpreter. */
function python3(): Record<string, string> {
  const shim = onPath("python3");
  if (fs.existsSync(DISTRIBUTION_PYTHON)) {
    return shim === fs.realpathSync(DISTRIBUTION_PYTHON) ? {} : { python3: DISTRIBUTION_PYTHON };
  }
  const real = spawnSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" });
  const interpreter = real.status === 0 ? real.stdout.trim() : "";
  if (!shim || !interpreter || fs.realpathSync(interpreter) === shim) return {};
  return { python3: interpreter };
}

/** The newest PostgreSQL client programs, when `psql` on PATH is Debian's pg_wrapper. */
function postgresClients(): Record<string, string> {
  const psql = onPath("psql");
  if (!psql || path.basename(psql) !== "pg_wrapper") return {};
  const root = "/usr/lib/postgresql";
  const newest = fs
    .readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && fs.existsSync(path.join(root, v, "bin/psql")))
    .sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) return {};
  const bin = path.join(root, newest, "bin");
  return Object.fromEntries(["psql", "pg_dump", "pg_restore"].filter((t) => fs.existsSync(path.join(bin, t))).map((t) => [t, path.join(bin, t)]));
}

/** restic at the backup image's version, or nothing (with the reason printed) when it cannot be built. */
function restic(): Record<string, string> {
  const dir = resticDir();
  if (dir) return { restic: path.join(dir, "restic") };
  const reason = `restic ${RESTIC.version} (the backup image's) cannot be built without Go`;
  if (process.env.CI === "true") throw new Error(`${reason}; under CI=true that is an error`);
  console.warn(`${reason}: the backup tests run the restic on PATH`);
  return {};
}

/** The SHLVL the tests' processes get: the run's own, or 1 where it has none (see above). */
export function testShellLevel(runs: string | undefined): string {
  return runs !== undefined && Number(runs) >= 1 ? runs : "1";
}

export default function setup(): () => void {
  // The run's scratch directory (what test processes keep for the whole run, such as a deployed
  // host to copy): removed here, since vitest ends its worker processes without their exit handlers.
  // (0755: the PostgreSQL servers of the tests run as the postgres user and read from it.)
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "chatwoot-test-run-"));
  fs.chmodSync(scratch, 0o755);
  process.env[TEST_SCRATCH_ENV] = scratch;
  process.env.SHLVL = testShellLevel(process.env.SHLVL);
  const links = { ...python3(), ...postgresClients(), ...restic() };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chatwoot-test-bin-"));
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, name));
  process.env.PATH = `${dir}${path.delimiter}${process.env.PATH ?? ""}`;
  return () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(scratch, { recursive: true, force: true });
  };
}
