/** Writes what would land on the server, with every secret masked, for review or for the real tools. */
import * as fs from "node:fs";
import * as path from "node:path";
import { bundleFiles, cloudInitFor, maskedEnvFileFor } from "../server/artifacts";
import type { ChatwootConfig } from "../config/load";
import { renderBundle } from "../server/bundle";

/**
 * `targetFiles`: another target's artifacts by file name (the Kubernetes target's manifests.yaml,
 * the cluster's user data and add-ons), which replace the server's files.
 */
export function writeArtifacts(config: ChatwootConfig, dir: string, targetFiles?: Record<string, string>): { dir: string; files: string[] } {
  if (targetFiles !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(targetFiles)) fs.writeFileSync(path.join(dir, name), content);
    return { dir, files: Object.keys(targetFiles) };
  }
  const files = bundleFiles();
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const artifacts: Record<string, string | Buffer> = {
    "env.masked": maskedEnvFileFor(config),
    "cloud-init.yaml": cloudInitFor(config),
    "compose.yaml": byPath.get("docker/compose.yaml")!,
    Caddyfile: byPath.get("docker/Caddyfile")!,
    "bundle.MANIFEST": renderBundle(files).manifest,
  };
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(artifacts)) fs.writeFileSync(path.join(dir, name), content);
  return { dir, files: Object.keys(artifacts) };
}
