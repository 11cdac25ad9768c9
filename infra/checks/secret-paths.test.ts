/**
 * No host script puts a secret on stdout or stderr, on any failure path.
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ENV_SECRET_NAMES, type EnvSecrets } from "../chatwoot/env-settings";
import { renderEnvFile } from "../chatwoot/env";
import { envSettings } from "../test/fixtures";
import { fakeHost } from "../test/fake-host";
import { NEW, OLD } from "../test/deploy-calls";

describe("no host script puts a secret on stdout or stderr, on any failure path", () => {
  // Every secret in the .env is a sentinel; each docker call of a successful run is then made to
  // fail in turn, and everything the script prints (which pulumi up would show in full) is searched.
  const sentinel = (name: string) => `Sentinel${name.replace(/_/g, "")}Value0123456789abcdef`;
  const secrets = Object.fromEntries(ENV_SECRET_NAMES.map((n) => [n, sentinel(n)])) as unknown as EnvSecrets;
  secrets.RESTIC_REPOSITORY = "sftp://u1@backup.example.com:23/chatwoot";
  const envText = renderEnvFile(envSettings, secrets);
  // The secrets this .env holds (an sftp repository: no S3 keys).
  const values = Object.values(secrets).filter((v) => v.startsWith("Sentinel") && envText.includes(v));
  const deployed = (h: ReturnType<typeof fakeHost>) => {
    fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
    fs.writeFileSync(path.join(h.app, "release/current"), `${OLD}\n`);
  };
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  const scripts: [string, string[], (h: ReturnType<typeof fakeHost>) => void][] = [
    ["deploy.sh", ["--version", "v4.16.0"], () => {}],
    ["rollback.sh", ["--yes"], (h) => {
      fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
      fs.writeFileSync(path.join(h.app, "release/current"), `${NEW}\n`);
      fs.writeFileSync(path.join(h.app, "release/previous"), `${OLD}\n`);
    }],
    ["backup.sh", ["database"], (h) => deployed(h)],
    ["restore.sh", ["--yes", "--snapshot", "latest"], (h) => deployed(h)],
  ];

  it.each(scripts)("%s", (script, args, prepare) => {
    const first = fakeHost(envSettings, envText);
    prepare(first);
    const ok = first.exec(script, args);
    const calls = first.calls();
    first.cleanup();
    expect(calls.length, `${script} made no docker call: ${ok.stderr}`).toBeGreaterThan(0);
    const printed = [ok.stdout, ok.stderr];
    for (const call of new Set(calls)) {
      const host = fakeHost(envSettings, envText);
      try {
        prepare(host);
        const r = host.exec(script, args, { fail: `^${escape(call)}$` });
        printed.push(r.stdout, r.stderr);
        // A call line is what docker saw as its arguments: no secret may be there either.
        printed.push(...host.calls());
      } finally {
        host.cleanup();
      }
    }
    const all = printed.join("\n");
    for (const v of values) expect(all.includes(v), `${script} printed a secret`).toBe(false);
    expect(values.length).toBeGreaterThanOrEqual(9);
  });
});
