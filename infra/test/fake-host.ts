/**
 * A host's app directory as the upload and write-env steps leave it, with the TEST STAND-IN docker
 * (infra/test/standin-docker.sh) first on PATH, for running the host scripts for real.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { readBundleFiles } from "../server/bundle";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { type EnvSettings } from "../chatwoot/env-settings";
import { envSettings } from "./fixtures";
import { run, runAsync, tempDir } from "./run";

const STANDIN_DOCKER = path.join(repoRoot, "infra/test/standin-docker.sh");
const STANDIN_CURL = path.join(repoRoot, "infra/test/standin-curl.sh");
const MODELS = path.join(repoRoot, "infra/test/chatwoot_models.rb");

export type FakeHost = ReturnType<typeof fakeHost>;

let bundle: ReturnType<typeof readBundleFiles> | undefined;
/** The bundle's files, read once per test process (the repository does not change under a test). */
const bundleFiles = () => (bundle ??= readBundleFiles(repoRoot));

/** A host's app directory as the upload and write-env steps leave it, with a stand-in docker. */
export function fakeHost(settings: EnvSettings = envSettings, envText?: string) {
  const root = tempDir("host");
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
  return {
    root,
    app,
    env,
    dataDir,
    exec,
    execAsync,
    calls: () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean),
    resetCalls: () => fs.writeFileSync(log, ""),
    /** Canned docker output: [regex on the call line, text it prints]. */
    reply: (rules: [string, string][]) => fs.writeFileSync(replies, rules.map(([re, text]) => `${re}\t${text}\n`).join("")),
    deployLog: () => fs.readFileSync(path.join(app, "deploy.log"), "utf8").trim().split("\n"),
    release: (name: string) => (fs.existsSync(path.join(app, "release", name)) ? fs.readFileSync(path.join(app, "release", name), "utf8").trim() : undefined),
    writes: () => (fs.existsSync(path.join(root, "writes.log")) ? fs.readFileSync(path.join(root, "writes.log"), "utf8").trim().split("\n").filter(Boolean) : []),
    /** Where Caddy's admin API says it sends traffic; undefined: the admin API does not answer. */
    caddyServes: (dial: string | undefined) => (dial === undefined ? fs.rmSync(caddyConfig, { force: true }) : caddyServes(dial)),
    caddyUpstream: () => (fs.existsSync(caddyConfig) ? (JSON.parse(fs.readFileSync(caddyConfig, "utf8")).srv0.routes[0].handle[0].upstreams[0].dial as string) : undefined),
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

