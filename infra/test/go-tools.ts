/**
 * Tools the tests build from the Go module proxy, at the versions production runs, into a cache
 * outside the repository (~/.cache/chatwoot-tests, or $XDG_CACHE_HOME): a warm cache costs
 * nothing, a version change builds the new one. Undefined when Go is not installed (the tests
 * that need them then skip locally and fail under CI=true).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { hasTool, run, tempDir } from "./run";

/** Docker Compose v2 as Ubuntu 24.04's docker-compose-v2 package ships it (2.24.6 at release). */
export const COMPOSE_V2 = { module: "github.com/docker/compose/v2", version: "v2.24.6" };

function cacheDir(): string {
  return path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), ".cache"), "chatwoot-tests");
}

function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: "0", GOFLAGS: "-mod=readonly" };
}

/**
 * The docker-compose CLI at COMPOSE_V2. Built inside its own module (its go.mod has `replace`
 * lines, which only apply to the main module), from the module zip the proxy serves.
 */
export function composeV2Binary(): string | undefined {
  const { module, version } = COMPOSE_V2;
  return releaseModuleBinary(module, version, "./cmd", `-s -w -X ${module}/internal.Version=${version}`, `docker-compose-${version}`);
}

/**
 * restic at the version the backup image runs: the tag of docker/backup/Dockerfile's
 * `FROM restic/restic:<version>`, read from that file so the two cannot drift apart.
 */
export const RESTIC = {
  module: "github.com/restic/restic",
  version: `v${/^FROM restic\/restic:(\S+)$/m.exec(fs.readFileSync(path.join(repoRoot, "docker/backup/Dockerfile"), "utf8"))?.[1] ?? "unknown"}`,
};

/** The directory holding restic at RESTIC's version, to put first on PATH. */
export function resticDir(): string | undefined {
  const bin = releaseModuleBinary(RESTIC.module, RESTIC.version, "./cmd/restic", "-s -w", path.join(`restic-${RESTIC.version}`, "restic"));
  return bin && path.dirname(bin);
}

/** Builds a released module's program inside that module (from the zip the proxy serves) into the cache, once. */
function releaseModuleBinary(module: string, version: string, pkg: string, ldflags: string, name: string): string | undefined {
  if (!hasTool("go")) return undefined;
  const bin = path.join(cacheDir(), name);
  if (fs.existsSync(bin)) return bin;
  const download = run("go", ["mod", "download", "-json", `${module}@${version}`], { env: goEnv() });
  if (download.status !== 0) throw new Error(`go mod download ${module}@${version} failed: ${download.stdout}${download.stderr}`);
  const src = tempDir("go-module-src");
  try {
    fs.cpSync(JSON.parse(download.stdout).Dir, src, { recursive: true });
    run("chmod", ["-R", "u+w", src]);
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    const tmp = `${bin}.${process.pid}`;
    const r = run("go", ["build", "-trimpath", "-ldflags", ldflags, "-o", tmp, pkg], { cwd: src, env: goEnv(), timeout: 1_800_000 });
    if (r.status !== 0) throw new Error(`building ${module} ${version} failed: ${r.stderr.slice(-2000)}`);
    fs.renameSync(tmp, bin);
    return bin;
  } finally {
    fs.rmSync(src, { recursive: true, force: true });
  }
}

/**
 * Caddy at the version docker/compose.yaml runs (caddy:2.10-alpine), with its standard modules
 * (infra/test/caddy-build). Returns the directory holding a `caddy` binary, to put first on PATH.
 */
export function caddyDir(): string | undefined {
  return ownModuleBinary("caddy-build", "caddy");
}

/** Compose v2's own dotenv parser (infra/test/dotenv-check), at the version COMPOSE_V2 pins. */
export function dotenvCheckBinary(): string | undefined {
  const dir = ownModuleBinary("dotenv-check", "dotenv-check");
  return dir && path.join(dir, "dotenv-check");
}

/** Builds one of this repository's small Go modules under infra/test into a directory keyed on its sources. */
function ownModuleBinary(module: string, name: string): string | undefined {
  if (!hasTool("go")) return undefined;
  const source = path.join(repoRoot, "infra/test", module);
  const key = ["go.mod", "go.sum", "main.go"].map((f) => fs.readFileSync(path.join(source, f), "utf8")).join("\0");
  const dir = path.join(cacheDir(), "modules", `${module}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`);
  if (fs.existsSync(path.join(dir, name))) return dir;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${name}.${process.pid}`);
  const r = run("go", ["build", "-trimpath", "-o", tmp, "."], { cwd: source, env: goEnv(), timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`building ${module} failed: ${r.stderr.slice(-2000)}`);
  fs.renameSync(tmp, path.join(dir, name));
  return dir;
}

/** The Kubernetes release of kube-apiserver and kubectl (infra/test/kube-build's go.mod pins it). */
export const KUBERNETES = { version: "v1.37.2", major: "1", minor: "37" };
/** The etcd release the apiserver stores in (infra/test/etcd-build's go.mod pins it). */
export const ETCD = { version: "v3.7.3" };

/**
 * kube-apiserver and kubectl from infra/test/kube-build. Without the version ldflags both call
 * themselves v0.0.0-master, and a client's version checks take the wrong branch.
 * Returns the directory holding both.
 */
export function kubernetesDir(): string | undefined {
  const v = KUBERNETES;
  const flags = ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]
    .flatMap((pkg) => [`-X ${pkg}.gitVersion=${v.version}`, `-X ${pkg}.gitMajor=${v.major}`, `-X ${pkg}.gitMinor=${v.minor}`, `-X ${pkg}.gitTreeState=clean`])
    .join(" ");
  return moduleBinaries("kube-build", {
    "kube-apiserver": ["-ldflags", `-s -w ${flags}`, "k8s.io/kubernetes/cmd/kube-apiserver"],
    kubectl: ["-ldflags", `-s -w ${flags}`, "k8s.io/kubernetes/cmd/kubectl"],
  });
}

/** etcd from infra/test/etcd-build. Returns the directory holding it. */
export function etcdDir(): string | undefined {
  return moduleBinaries("etcd-build", { etcd: ["-ldflags", "-s -w", "go.etcd.io/etcd/server/v3"] });
}

/** Builds programs that a small module under infra/test depends on, into a directory keyed on its go.mod and go.sum. */
function moduleBinaries(module: string, programs: Record<string, string[]>): string | undefined {
  if (!hasTool("go")) return undefined;
  const source = path.join(repoRoot, "infra/test", module);
  const key = ["go.mod", "go.sum", "tools.go"].map((f) => fs.readFileSync(path.join(source, f), "utf8")).join("\0") + JSON.stringify(programs);
  const dir = path.join(cacheDir(), "modules", `${module}-${createHash("sha256").update(key).digest("hex").slice(0, 16)}`);
  for (const [name, args] of Object.entries(programs)) {
    if (fs.existsSync(path.join(dir, name))) continue;
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${name}.${process.pid}`);
    // A cold kube-apiserver is about 18 CPU-minutes; the timeout only catches a hang.
    const r = run("go", ["build", "-trimpath", ...args.slice(0, -1), "-o", tmp, args[args.length - 1]], { cwd: source, env: goEnv(), timeout: 5_400_000 });
    if (r.status !== 0) throw new Error(`building ${name} in ${module} failed: ${r.stderr.slice(-2000)}`);
    fs.renameSync(tmp, path.join(dir, name));
  }
  return dir;
}
