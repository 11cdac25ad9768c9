/** Writes what would land on the server, with every secret masked, for review or for the real tools. */
import * as fs from "node:fs";
import * as path from "node:path";
import { bundleFiles, cloudInitFor, maskedEnvFileFor } from "../server/artifacts";
import type { ChatwootConfig } from "../config/load";
import { renderBundle } from "../server/bundle";

/** `manifests`: the Kubernetes target's objects (kubernetes/manifests.ts), which replace the server's files. */
export function writeArtifacts(config: ChatwootConfig, dir: string, manifests?: string): { dir: string; files: string[] } {
  if (manifests !== undefined) {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "manifests.yaml"), manifests);
    return { dir, files: ["manifests.yaml"] };
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
