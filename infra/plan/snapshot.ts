/**
 * Everything the plan diff compares for one revision, free of secrets so it can cross a process
 * boundary as JSON: resources with their inputs (secrets as "[secret]", unknowns marked), the
 * outputs and warnings, the files that land on the host, and the settings that explain why remote
 * steps run. Each revision computes its own snapshot with its own code (`plan --json`).
 */
import * as fs from "node:fs";
import { bootstrapSettingsFor } from "../chatwoot/bootstrap";
import { bundleFiles, cloudInitFor, maskedEnvFileFor } from "../server/artifacts";
import { loadConfig } from "../config/load";
import { renderBundle } from "../server/bundle";
import { shortHash } from "../lib/hash";
import { evaluate, isSecretValue, isUnknownValue, type ResourceOptionsSummary } from "./engine";
import { readStackFile } from "./stack-file";
import { MANIFESTS_NOTE, renderManifests } from "../kubernetes/manifests";
import { clusterArtifacts } from "../cluster/artifacts";
import { namePrefixOf } from "../config/names";

export const SECRET = "[secret]";
export const UNKNOWN = "(known after apply)";

export interface SnapshotResource {
  key: string;
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, unknown>;
  /** Input → the resources ("type::name") its value comes from; absent in older revisions' snapshots. */
  inputDependencies?: Record<string, string[]>;
  options: Pick<ResourceOptionsSummary, "protect" | "deleteBeforeReplace" | "ignoreChanges"> &
    Partial<Pick<ResourceOptionsSummary, "dependsOn" | "deletedWith">>;
}

export interface PlanSnapshot {
  stack: string;
  resources: SnapshotResource[];
  /** Output values as displayed; secret outputs are "[secret]". */
  outputs: Record<string, unknown>;
  warnings: string[];
  /** Files as they land on the host: compose.yaml, Caddyfile, cloud-init.yaml, env (masked). */
  artifacts: Record<string, string>;
  /** Bundle path → short sha256. */
  bundle: Record<string, string>;
  /** Settings that explain re-runs. */
  settings: { chatwootVersion: string; restoreFrom?: string; bootstrap: unknown; volumeSizeGb: number; sshPublicKeys: string[]; serverType?: string };
  /** Encrypted config values' short hashes (their ciphertext is committed, so this reveals nothing). */
  secretDigests: Record<string, string>;
}

/** Replaces secrets and unknowns with markers, recursively. */
export function safe(v: unknown): unknown {
  if (isSecretValue(v)) return SECRET;
  if (isUnknownValue(v)) return UNKNOWN;
  if (Array.isArray(v)) return v.map(safe);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, safe(x)]));
  return v;
}

/**
 * Long plain strings (the upload step's stdin is the whole bundle in base64) stand in the snapshot
 * as their hash: the diff compares them and names changed files from `bundle`, so the bytes would
 * only make the snapshot large.
 */
function compact(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k, typeof v === "string" && v.length > 4096 ? `sha256:${shortHash(v)} (${v.length} bytes)` : v]),
  );
}

export async function takeSnapshot(stack: string, configFile: string): Promise<PlanSnapshot> {
  if (!fs.existsSync(configFile)) throw new Error(`no stack configuration at ${configFile}`);
  const stackConfig = readStackFile(configFile);
  const secretKeys = new Set(stackConfig.secretKeys);
  // Validate first: a bad revision is reported by key, not as a half-evaluated program.
  // Compare mode: provider-computed values get stand-ins that are equal in both revisions, so
  // inputs built from them (the verify step's command) compare by what actually differs.
  const config = loadConfig({ values: stackConfig.config, isSecret: (k) => secretKeys.has(k) }, false);
  const ev = await evaluate({ stack, config: stackConfig.config, secretKeys: stackConfig.secretKeys, mode: "compare" });
  const files = bundleFiles();
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  return {
    stack,
    resources: ev.resources.map((r) => ({
      key: r.key,
      type: r.type,
      name: r.name,
      custom: r.custom,
      inputs: compact(safe(r.inputs) as Record<string, unknown>),
      inputDependencies: r.inputDependencies,
      options: {
        protect: r.options.protect,
        deleteBeforeReplace: r.options.deleteBeforeReplace,
        ignoreChanges: r.options.ignoreChanges,
        dependsOn: r.options.dependsOn,
        ...(r.options.deletedWith ? { deletedWith: r.options.deletedWith } : {}),
      },
    })),
    outputs: Object.fromEntries(Object.entries(ev.outputs).map(([k, v]) => [k, ev.secretOutputs.includes(k) ? SECRET : safe(v)])),
    warnings: ev.warnings,
    artifacts:
      config.target === "kubernetes"
        ? { "manifests.yaml": renderManifests(ev.resources, MANIFESTS_NOTE) }
        : config.target === "cluster"
          ? clusterArtifacts(config, namePrefixOf(stack))
          : {
            "compose.yaml": String(byPath.get("docker/compose.yaml") ?? ""),
            Caddyfile: String(byPath.get("docker/Caddyfile") ?? ""),
            "cloud-init.yaml": cloudInitFor(config),
            "env (secrets masked)": maskedEnvFileFor(config),
          },
    bundle: Object.fromEntries(
      renderBundle(files)
        .manifest.trimEnd()
        .split("\n")
        .map((line) => {
          const [, sum, path] = line.split(" ");
          return [path!, sum!.slice(0, 12)];
        }),
    ),
    settings: {
      chatwootVersion: config.chatwootVersion,
      restoreFrom: config.restoreFrom,
      bootstrap: config.target === "cluster" ? undefined : bootstrapSettingsFor(config),
      volumeSizeGb: config.volumeSizeGb,
      sshPublicKeys: config.sshPublicKeys,
      serverType: config.serverType,
    },
    secretDigests: Object.fromEntries(Object.entries(stackConfig.secretDigests).map(([k, v]) => [k, shortHash(v)])),
  };
}
