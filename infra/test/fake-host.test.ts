/**
 * The fake host's copy of a deployed host (deployedAs) must be what a real deploy leaves: the tests
 * that start from it would otherwise test another state than the one deploy.sh makes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { envSettings } from "./fixtures";
import { fakeHost, type FakeHost } from "./fake-host";

/** Every file and directory of a host but the bundle: type, mode and content, its own root replaced. */
function state(host: FakeHost): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of fs.readdirSync(host.root, { recursive: true }).map(String).sort()) {
    if (rel.startsWith("opt/chatwoot/bundle/") || rel === "opt/chatwoot/bundle") continue;
    const full = path.join(host.root, rel);
    const st = fs.lstatSync(full);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[rel] = `link ${fs.readlinkSync(full)}`;
    else if (st.isDirectory()) out[rel] = `dir ${mode}`;
    else {
      // What differs between two runs of the same deploy: the time, the durations and the pid.
      const text = fs
        .readFileSync(full, "utf8")
        .replaceAll(host.root, "<root>")
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/g, "<time>")
        .replace(/(seconds=|pid |:)\d+/g, "$1<n>");
      out[rel] = `file ${mode} ${text}`;
    }
  }
  return out;
}

describe("a fake host made deployed by copy (deployedAs)", () => {
  it("holds what a real deploy leaves, file by file, with its own paths", () => {
    for (const [version, settings] of [
      ["v4.15.1", envSettings],
      ["v4.16.0", { ...envSettings, backup: undefined }],
    ] as const) {
      const real = fakeHost(settings);
      const copied = fakeHost(settings);
      try {
        expect(real.exec("deploy.sh", ["--version", version]).status).toBe(0);
        copied.deployedAs(version);
        expect(Object.keys(state(real)).length).toBeGreaterThan(10);
        expect(state(copied)).toEqual(state(real));
        expect(copied.calls().join("\n")).toContain(copied.app);
        expect(copied.calls().join("\n")).not.toContain(real.app);
      } finally {
        real.cleanup();
        copied.cleanup();
      }
    }
  });

  it("refuses a host that has run something already, or whose bundle was changed", () => {
    const ran = fakeHost();
    const changed = fakeHost();
    try {
      expect(ran.exec("compose.sh", ["version"], { env: { CHATWOOT_IMAGE: "chatwoot/chatwoot:v4.15.1" } }).status).toBe(0);
      expect(() => ran.deployedAs("v4.15.1")).toThrow("this host has run something already");
      fs.appendFileSync(path.join(changed.app, "bundle/docker/Caddyfile"), "# changed\n");
      expect(() => changed.deployedAs("v4.15.1")).toThrow("the bundle's docker/Caddyfile was changed");
    } finally {
      ran.cleanup();
      changed.cleanup();
    }
  });

  it("copies the deploy of the .env the host has now", () => {
    const host = fakeHost();
    try {
      const envFile = path.join(host.app, ".env");
      fs.writeFileSync(envFile, fs.readFileSync(envFile, "utf8").replace("LOG_LEVEL='info'", "LOG_LEVEL='debug'"));
      host.deployedAs("v4.15.1");
      expect(fs.readFileSync(path.join(host.app, "env/app.env"), "utf8")).toContain("LOG_LEVEL='debug'");
    } finally {
      host.cleanup();
    }
  });
});
