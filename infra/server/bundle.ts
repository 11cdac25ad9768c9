/**
 * The bundle: the static files (docker/, scripts/) copied to the host. Reading is separate from
 * rendering so the renderer stays pure. The manifest (path, mode, hash per file) goes into the
 * upload step's command text, so a preview names the files that changed.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { sha256, shortHash } from "../lib/hash";

export interface BundleFile {
  /** Path relative to the bundle root, with forward slashes, e.g. docker/compose.yaml. */
  path: string;
  /** Octal mode: "0755" for executables, "0644" otherwise. */
  mode: "0755" | "0644";
  content: Buffer;
}

export const BUNDLE_DIRS = ["docker", "scripts"] as const;

/**
 * Reads the files under docker/ and scripts/, sorted by path. In a git checkout only the files git
 * tracks count: an editor's swap file or a .DS_Store must neither ship to the host nor trigger an
 * upload and a deploy. Outside git (an unpacked release archive) every regular file counts.
 */
export function readBundleFiles(root: string): BundleFile[] {
  const tracked = gitTrackedFiles(root);
  if (tracked) {
    return tracked
      .filter((rel) => fs.lstatSync(path.join(root, rel), { throwIfNoEntry: false })?.isFile())
      .map((rel) => bundleFile(root, rel))
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
  const files: BundleFile[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) files.push(bundleFile(root, child));
    }
  };
  for (const dir of BUNDLE_DIRS) walk(dir);
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function bundleFile(root: string, rel: string): BundleFile {
  const full = path.join(root, rel);
  const executable = (fs.statSync(full).mode & 0o111) !== 0;
  return { path: rel, mode: executable ? "0755" : "0644", content: fs.readFileSync(full) };
}

/** The bundle directories' files that git tracks, or undefined when `root` is not a git checkout. */
function gitTrackedFiles(root: string): string[] | undefined {
  const r = spawnSync("git", ["-C", root, "ls-files", "-z", "--", ...BUNDLE_DIRS], { encoding: "utf8" });
  if (r.status !== 0 || r.error) return undefined;
  const files = r.stdout.split("\0").filter(Boolean);
  // Nothing tracked: root is not this project's checkout (say, an archive inside another repo).
  return files.length > 0 ? files : undefined;
}

export interface RenderedBundle {
  /** sha256 over the manifest: changes whenever any file, mode or path changes. */
  hash: string;
  /** One line per file: "<mode> <sha256> <path>". Also written to the host as MANIFEST. */
  manifest: string;
  /** One line per file: "<mode> <sha256> <path> <base64 content>", read by the upload step. */
  payload: string;
}

export function renderBundle(files: readonly BundleFile[]): RenderedBundle {
  for (const f of files) {
    if (!/^[A-Za-z0-9._/-]+$/.test(f.path) || f.path.split("/").includes("..")) {
      throw new Error(`bundle file name not allowed: ${f.path}`);
    }
  }
  const lines = files.map((f) => `${f.mode} ${sha256(f.content)} ${f.path}`);
  const manifest = lines.join("\n") + "\n";
  const payload = files.map((f, i) => `${lines[i]} ${f.content.toString("base64")}`).join("\n") + "\n";
  return { hash: sha256(manifest), manifest, payload };
}

/** Short per-file summary for command text: "docker/compose.yaml 1a2b3c4d5e6f". */
export function manifestSummary(files: readonly BundleFile[]): string[] {
  return files.map((f) => `${f.path} ${shortHash(f.content)}${f.mode === "0755" ? " (x)" : ""}`);
}
