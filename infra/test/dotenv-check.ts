/**
 * Compose v2's own dotenv parser (compose-go, infra/test/dotenv-check), built once from the Go
 * module proxy into a cache outside the repository. Undefined when Go is not installed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../artifacts";
import { hasTool, run } from "./run";

const SOURCE = path.join(repoRoot, "infra/test/dotenv-check");

export function dotenvCheckBinary(): string | undefined {
  if (!hasTool("go")) return undefined;
  const key = ["go.mod", "go.sum", "main.go"].map((f) => fs.readFileSync(path.join(SOURCE, f), "utf8")).join("\0");
  const hash = require("node:crypto").createHash("sha256").update(key).digest("hex").slice(0, 16);
  const bin = path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "chatwoot-tests", `dotenv-check-${hash}`);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(path.dirname(bin), { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = run("go", ["build", "-o", tmp, "."], { cwd: SOURCE, env: { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" } });
  if (r.status !== 0) throw new Error(`building dotenv-check failed: ${r.stderr}`);
  fs.renameSync(tmp, bin);
  return bin;
}
