/** What ships to the host: the files git tracks under docker/ and scripts/, nothing else. */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { run, tempDir } from "../test/run";
import { readBundleFiles, renderBundle } from "./bundle";

describe("readBundleFiles", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  function checkout(): string {
    const dir = tempDir("bundle-repo");
    dirs.push(dir);
    for (const [rel, content, mode] of [["docker/compose.yaml", "services: {}\n", 0o644], ["scripts/deploy.sh", "#!/bin/sh\n", 0o755]] as const) {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), content, { mode });
    }
    const git = (...args: string[]) => run("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", ...args]);
    git("init", "-q");
    git("add", ".");
    git("commit", "-qm", "files");
    return dir;
  }

  it("ships only what git tracks: stray editor and desktop files neither ship nor change the bundle", () => {
    const dir = checkout();
    const before = renderBundle(readBundleFiles(dir)).hash;
    fs.writeFileSync(path.join(dir, "docker/.DS_Store"), "junk");
    fs.writeFileSync(path.join(dir, "scripts/.deploy.sh.swp"), "junk");
    const files = readBundleFiles(dir);
    expect(files.map((f) => [f.path, f.mode])).toEqual([["docker/compose.yaml", "0644"], ["scripts/deploy.sh", "0755"]]);
    expect(renderBundle(files).hash).toBe(before);
  });

  it("reads the working tree's content of tracked files", () => {
    const dir = checkout();
    fs.writeFileSync(path.join(dir, "docker/compose.yaml"), "services: {changed: {}}\n");
    expect(readBundleFiles(dir).find((f) => f.path === "docker/compose.yaml")!.content.toString()).toBe("services: {changed: {}}\n");
  });

  it("outside a git checkout, ships every regular file", () => {
    const dir = tempDir("bundle-plain");
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, "docker"));
    fs.mkdirSync(path.join(dir, "scripts"));
    fs.writeFileSync(path.join(dir, "docker/compose.yaml"), "x\n");
    fs.writeFileSync(path.join(dir, "scripts/a.sh"), "y\n");
    expect(readBundleFiles(dir).map((f) => f.path)).toEqual(["docker/compose.yaml", "scripts/a.sh"]);
  });
});
