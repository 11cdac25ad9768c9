/**
 * A host's app directory as the upload and write-env steps leave it, with the TEST STAND-IN docker
 * (infra/test/standin-docker.sh) first on PATH, for running the host scripts for real.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { readBundleFiles } from "../server/bundle";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { type EnvSettings } from "../chatwoot/env-settings";
import { envSettings } from "./fixtures";
import { run, runAsync, runScratchDir } from "./run";

const STANDIN_DOCKER = path.join(repoRoot, "infra/test/standin-docker.sh");
const STANDIN_CURL = path.join(repoRoot, "infra/test/standin-curl.sh");
const MODELS = path.join(repoRoot, "infra/test/chatwoot_models.rb");

export type FakeHost = ReturnType<typeof fakeHost>;

/**
 * What `deploy.sh --version V` leaves on a new host of the same .env: deployed for real once per
 * test process, then copied (a deploy with the stand-ins costs about a second of CPU, a copy a few
 * milliseconds). Keyed by release and .env, the host's own paths replaced by ROOT.
 */
const deployed = new Map<string, string>();
const ROOT = "@ROOT@";
let bundle: ReturnType<typeof readBundleFiles> | undefined;
/** The bundle's files, read once per test process (the repository does not change under a test). */
const bundleFiles = () => (bundle ??= readBundleFiles(repoRoot));

/** A host's app directory as the upload and write-env steps leave it, with a stand-in docker. */
export function fakeHost(settings: EnvSettings = envSettings, envText?: string, parent = os.tmpdir()) {
  const root = fs.mkdtempSync(path.join(parent, "host-"));
  const app = path.join(root, "opt/chatwoot");
  const bin = path.join(root, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(STANDIN_DOCKER, path.join(bin, "docker"));
  fs.symlinkSync(STANDIN_CURL, path.join(bin, "curl"));
  for (const f of bundleFiles()) {
    const dest = path.join(app, "bundle", f.path);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, f.content, { mode: parseInt(f.mode, 8) });
  }
  // The data volume lives inside the scratch root, like everything else these tests touch.
  const dataDir = path.join(root, "srv/chatwoot");
  const env = (envText ?? renderMaskedEnvFile(settings, true)).replace(/^CHATWOOT_DATA_DIR='.*'$/m, `CHATWOOT_DATA_DIR='${dataDir}'`);
  fs.writeFileSync(path.join(app, ".env"), env, { mode: 0o600 });
  const log = path.join(root, "docker.log");
  fs.writeFileSync(log, "");
  const container = path.join(root, "container");
  fs.mkdirSync(container);
  const replies = path.join(root, "replies.tsv");
  fs.writeFileSync(replies, "");
  // What Caddy's admin API serves: Caddy sends to Rails until a reload says otherwise.
  const caddyConfig = path.join(root, "caddy-config.json");
  const caddyServes = (dial: string) =>
    fs.writeFileSync(caddyConfig, JSON.stringify({ srv0: { routes: [{ handle: [{ handler: "reverse_proxy", upstreams: [{ dial }] }] }] } }));
  caddyServes("127.0.0.1:3000");
  type ExecOpts = { input?: string; fail?: string; db?: string; env?: Record<string, string>; timeout?: number };
  const execEnv = (opts: ExecOpts) => ({
    PATH: `${bin}:${process.env.PATH}`,
    HOME: root,
    STANDIN_LOG: log,
    STANDIN_FAIL: opts.fail ?? "",
    STANDIN_REPLIES: replies,
    STANDIN_CONTAINER: container,
    STANDIN_MODELS: MODELS,
    FAKE_CHATWOOT_DB: opts.db ?? path.join(root, "db"),
    FAKE_CHATWOOT_LOG: path.join(root, "writes.log"),
    STANDIN_JOB_LOCK: path.join(dataDir, "backup/job.lock"),
    STANDIN_CADDY_CONFIG: caddyConfig,
    ...opts.env,
  });
  const exec = (script: string, args: string[], opts: ExecOpts = {}) =>
    run(path.join(app, "bundle/scripts", script), args, { input: opts.input ?? "", env: execEnv(opts), timeout: opts.timeout });
  /** The same, without blocking the event loop (for tests that serve requests meanwhile). */
  const execAsync = (script: string, args: string[], opts: ExecOpts = {}) =>
    runAsync(path.join(app, "bundle/scripts", script), args, { input: opts.input ?? "", env: execEnv(opts) });
  /**
   * Makes this host what a successful `deploy.sh --version VERSION` leaves on it (files, records,
   * the docker calls it made), from a real deploy of the same .env on another host. Only on a host
   * nothing has run on yet: a test that sets replies or failures for the first deploy runs it.
   */
  const deployedAs = (version: string) => {
    if (fs.readFileSync(log, "utf8") !== "" || fs.readFileSync(replies, "utf8") !== "" || fs.existsSync(path.join(app, "release"))) {
      throw new Error("deployedAs: this host has run something already; run deploy.sh on it instead");
    }
    const changed = bundleFiles().find((f) => !fs.readFileSync(path.join(app, "bundle", f.path)).equals(f.content));
    if (changed) throw new Error(`deployedAs: the bundle's ${changed.path} was changed; run deploy.sh on this host instead`);
    const envNow = fs.readFileSync(path.join(app, ".env"), "utf8");
    const key = `${version}\n${envNow.replaceAll(root, ROOT)}`;
    let template = deployed.get(key);
    if (template === undefined) {
      const first = fakeHost(settings, envNow, runScratchDir());
      const r = first.exec("deploy.sh", ["--version", version]);
      if (r.status !== 0) {
        first.cleanup();
        throw new Error(`deployedAs: the deploy of ${version} failed: ${r.stderr}`);
      }
      deployed.set(key, (template = first.root));
    }
    copyState(template, root);
  };
  return {
    root,
    app,
    env,
    dataDir,
    exec,
    execAsync,
    deployedAs,
    calls: () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean),
    resetCalls: () => fs.writeFileSync(log, ""),
    /** Canned docker output: [regex on the call line, text it prints (lines)]. */
    reply: (rules: [string, string][]) =>
      fs.writeFileSync(replies, rules.map(([re, text]) => `${re}\t${text.replaceAll("\n", "\\n")}\n`).join("")),
    deployLog: () => fs.readFileSync(path.join(app, "deploy.log"), "utf8").trim().split("\n"),
    release: (name: string) => (fs.existsSync(path.join(app, "release", name)) ? fs.readFileSync(path.join(app, "release", name), "utf8").trim() : undefined),
    writes: () => (fs.existsSync(path.join(root, "writes.log")) ? fs.readFileSync(path.join(root, "writes.log"), "utf8").trim().split("\n").filter(Boolean) : []),
    /** Where Caddy's admin API says it sends traffic; undefined: the admin API does not answer. */
    caddyServes: (dial: string | undefined) => (dial === undefined ? fs.rmSync(caddyConfig, { force: true }) : caddyServes(dial)),
    caddyUpstream: () => (fs.existsSync(caddyConfig) ? (JSON.parse(fs.readFileSync(caddyConfig, "utf8")).srv0.routes[0].handle[0].upstreams[0].dial as string) : undefined),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * Copies a deployed host's state onto a new one of the same .env: everything but the bundle and the
 * .env (the same on both), with the template's own paths (in docker.log) replaced by the new root.
 */
function copyState(from: string, to: string): void {
  const skip = new Set(["opt/chatwoot/bundle", "opt/chatwoot/.env", "bin"]);
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(from, rel), { withFileTypes: true })) {
      const item = path.join(rel, entry.name);
      if (skip.has(item)) continue;
      const source = path.join(from, item);
      const target = path.join(to, item);
      if (entry.isDirectory()) {
        fs.mkdirSync(target, { recursive: true, mode: fs.statSync(source).mode & 0o7777 });
        walk(item);
      } else if (entry.isSymbolicLink()) {
        fs.rmSync(target, { force: true });
        fs.symlinkSync(fs.readlinkSync(source).replaceAll(from, to), target);
      } else {
        const content = fs.readFileSync(source);
        const rewritten = content.includes(from) ? content.toString("utf8").replaceAll(from, to) : content;
        fs.writeFileSync(target, rewritten, { mode: fs.statSync(source).mode & 0o7777 });
      }
    }
  };
  walk("");
}
