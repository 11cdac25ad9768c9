/**
 * `npm run plan`: the offline plan. Evaluates the real program for a stack's config under Pulumi's
 * mock engine and prints what `pulumi up` would create; with --out, also writes the artifacts that
 * would land on the server, secrets masked.
 *
 *   npm run plan                               # Pulumi.production.yaml
 *   npm run plan -- --stack staging            # Pulumi.staging.yaml
 *   npm run plan -- --config path/to/Pulumi.x.yaml --out plan-out
 *   npm run plan -- --diff origin/main         # what changes from that revision to the working tree
 *
 * Exit codes: 0 planned, 1 invalid configuration (the message names the key), 2 any other error.
 * With --diff: 0 no changes, 2 changes, 1 error (invalid configuration on either side included, and
 * a change Hetzner would refuse half-way through pulumi up, such as a volume shrink),
 * like `terraform plan -detailed-exitcode`, so CI can tell the three apart.
 * --json prints the secret-free snapshot the diff compares (the other revision is evaluated by its
 * own code this way).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { ConfigError, loadConfig } from "../config/load";
import { exitAfterFlush } from "../lib/process";
import { diffSnapshots, refusedChanges } from "./diff";
import { evaluate } from "./engine";
import { snapshotOfRevision } from "./revision";
import { takeSnapshot } from "./snapshot";
import { formatPlan } from "./format";
import { writeArtifacts } from "./write-artifacts";
import { MANIFESTS_NOTE, renderManifests } from "../kubernetes/manifests";
import { clusterArtifacts } from "../cluster/artifacts";
import { namePrefixOf } from "../config/names";
import { readStackFile } from "./stack-file";

interface Args {
  stack: string;
  configFile: string;
  outDir?: string;
  diffRef?: string;
  json: boolean;
}

const USAGE =
  "usage: npm run plan -- [--stack <name>] [--config <Pulumi.<stack>.yaml>] [--out <dir>] [--diff <git ref>] [--json]";

function parseArgs(argv: string[]): Args {
  let stack: string | undefined;
  let configFile: string | undefined;
  let outDir: string | undefined;
  let diffRef: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === "--stack") stack = value();
    else if (flag === "--config") configFile = value();
    else if (flag === "--out") outDir = value();
    else if (flag === "--diff") diffRef = value();
    else if (flag === "--json") json = true;
    else if (flag === "--help" || flag === "-h") throw new UsageError(USAGE, 0);
    else throw new UsageError(`unknown argument ${flag}\n${USAGE}`);
  }
  if (configFile && !stack) {
    const m = /Pulumi\.([^/\\]+)\.ya?ml$/.exec(configFile);
    stack = m?.[1];
  }
  stack ??= "production";
  configFile ??= path.join(repoRoot, `Pulumi.${stack}.yaml`);
  if (diffRef && (json || outDir)) throw new UsageError(`--diff cannot be combined with --json or --out\n${USAGE}`);
  return { stack, configFile, outDir, diffRef, json };
}

class UsageError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    const err = e as UsageError;
    (err.exitCode === 0 ? console.log : console.error)(err.message);
    return err.exitCode;
  }
  if (args.diffRef) return planDiff(args, args.diffRef);
  if (args.json) {
    try {
      process.stdout.write(JSON.stringify(await takeSnapshot(args.stack, args.configFile)) + "\n");
      return 0;
    } catch (e) {
      console.error(e instanceof ConfigError ? e.message : `plan failed: ${(e as Error).message}`);
      return e instanceof ConfigError ? 1 : 2;
    }
  }
  try {
    if (!fs.existsSync(args.configFile)) {
      console.error(`No stack configuration at ${args.configFile}. Create it (see README) or pass --config.`);
      return 2;
    }
    const stackConfig = readStackFile(args.configFile);
    const secretKeys = new Set(stackConfig.secretKeys);
    // Validate first: on bad input the user sees only the messages, nothing half-planned.
    const config = loadConfig({ values: stackConfig.config, isSecret: (k) => secretKeys.has(k) }, false);
    const evaluation = await evaluate({ stack: args.stack, ...stackConfig, mode: "preview" });
    // The Kubernetes target's artifact is its objects: evaluated with stand-ins for generated
    // values, so that every field is concrete (the secrets among them are masked anyway).
    const targetFiles = !args.outDir
      ? undefined
      : config.target === "kubernetes"
        ? { "manifests.yaml": renderManifests((await evaluate({ stack: args.stack, ...stackConfig, mode: "compare" })).resources, MANIFESTS_NOTE) }
        : config.target === "cluster"
          ? clusterArtifacts(config, namePrefixOf(args.stack))
          : undefined;
    const written = args.outDir ? writeArtifacts(config, path.resolve(args.outDir), targetFiles) : undefined;
    process.stdout.write(formatPlan(args.stack, evaluation, written));
    return 0;
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 1;
    }
    console.error(`plan failed: ${(e as Error).message}`);
    return 2;
  }
}

/** --diff: 0 no changes, 2 changes, 1 error. */
async function planDiff(args: Args, ref: string): Promise<number> {
  try {
    const relativeConfig = path.relative(repoRoot, path.resolve(args.configFile));
    // The base revision is evaluated in a child process while this one evaluates the working tree:
    // two cores, half the wait. Both are awaited before either error is reported, so the child's
    // worktree is always cleaned up first.
    const [baseResult, headResult] = await Promise.allSettled([
      snapshotOfRevision(ref, args.stack, relativeConfig),
      takeSnapshot(args.stack, args.configFile),
    ]);
    if (baseResult.status === "rejected") throw baseResult.reason;
    if (headResult.status === "rejected") throw headResult.reason;
    const base = baseResult.value;
    const head = headResult.value;
    const diff = diffSnapshots(base.snapshot, head, { base: base.label, head: "working tree" });
    process.stdout.write(diff.text);
    const refused = refusedChanges(base.snapshot, head);
    for (const r of refused) console.error(`refused: ${r}`);
    if (refused.length > 0) return 1;
    return diff.changed ? 2 : 0;
  } catch (e) {
    console.error(e instanceof ConfigError ? `working tree: ${e.message}` : `plan diff failed: ${(e as Error).message}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(exitAfterFlush);
}
