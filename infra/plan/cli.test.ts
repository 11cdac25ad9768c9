/** `npm run plan` end to end, as a separate process, the way an operator runs it. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { renderCloudInit } from "../server/cloud-init";
import { parseEnvFile } from "../chatwoot/env-file";
import { SECRET_MARKER } from "../chatwoot/env";
import { baseConfig, baseSecrets } from "../test/fixtures";
import { tempDir } from "../test/tools";
import { runPlan } from "../test/plan-cli";

// Exactly what `npm run plan` runs ("node infra/ts-run.cjs infra/plan/cli.ts"), minus npm.
const plan = runPlan;

/** Writes a Pulumi.<stack>.yaml: public values as YAML, secrets as opaque `secure:` entries. */
function stackFile(dir: string, stack: string, values: Record<string, unknown>, secretKeys: string[] = []): string {
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) config[`chatwoot:${k}`] = v;
  for (const k of secretKeys) config[`chatwoot:${k}`] = { secure: "v1:AAAAAAAAAAAAAAAA:ciphertext" };
  const file = path.join(dir, `Pulumi.${stack}.yaml`);
  fs.writeFileSync(file, stringify({ config }));
  return file;
}

describe("npm run plan", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("plan");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("plans the committed production stack without any secret set", () => {
    const r = plan([]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Offline plan for stack "production"');
    expect(r.stdout).toMatch(/Resources to create: \d+ \(\d+ protected\)/);
    expect(r.stdout).toContain("+ hcloud:index/server:Server  chatwoot-server  [delete-before-replace]");
    expect(r.stdout).toMatch(/hcloud:index\/volume:Volume  chatwoot-data  \[protected; delete-before-replace\]/);
    expect(r.stdout).toMatch(/volumeAttachment:VolumeAttachment  chatwoot-data-attachment  \[deleted with chatwoot-server\]/);
    expect(r.stdout).toContain("replaced if these change: image, location, userData");
    expect(r.stdout).toContain("ipv4: (known after apply)");
    expect(r.stdout).toContain("! SSH (port 22) is open to the whole internet");
    expect(r.stdout).toContain("! pulumi up will refuse to run: chatwoot:smtpPassword is required");
  });

  it("warns about a missing embed allowlist and disabled backups", () => {
    const file = stackFile(dir, "nobackup", { ...baseConfig, embedAllowedOrigins: [], serverBackups: false }, ["sshPrivateKey", "smtpPassword"]);
    const r = plan(["--config", file]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Offline plan for stack "nobackup"');
    expect(r.stdout).toContain("! no chatwoot:embedAllowedOrigins");
    expect(r.stdout).toContain("! chatwoot:serverBackups is false");
    expect(r.stdout).not.toContain("pulumi up will refuse to run");
  });

  it("on invalid config exits 1 and prints only the key-naming message", () => {
    const file = stackFile(dir, "broken", { ...baseConfig, serverType: "cx22", location: "mars" });
    const r = plan(["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([
      "Invalid configuration:",
      "  - chatwoot:location must be one of fsn1, nbg1, hel1, ash, hil, sin, got \"mars\"",
      '  - chatwoot:serverType "cx22" is deprecated by Hetzner and no longer orderable; use "cx23", got "cx22"',
    ]);
  });

  it("exits 2 with a clear message when the stack file is missing", () => {
    const r = plan(["--stack", "nonexistent"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("No stack configuration at");
  });

  it("prints a compact snapshot with --json: hashes stand in for the bundle's bytes", () => {
    const r = plan(["--json"]);
    expect(r.status).toBe(0);
    const snapshot = JSON.parse(r.stdout);
    expect(r.stdout.length).toBeLessThan(100_000);
    const upload = snapshot.resources.find((x: { name: string }) => x.name === "chatwoot-upload");
    expect(upload.inputs.stdin).toMatch(/^sha256:[0-9a-f]{12} \(\d+ bytes\)$/);
    expect(Object.keys(snapshot.bundle)).toContain("scripts/deploy.sh");
  });

  it("names the file, line and problem of a YAML syntax error, exits 1, and quotes no line of the file", () => {
    const file = path.join(dir, "Pulumi.broken.yaml");
    fs.writeFileSync(file, "config:\n  chatwoot:domain: chat.example.com\n  chatwoot:smtpPassword: hunter2hunter2: oops\n");
    const r = plan(["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:3:\\d+: YAML syntax error: `));
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  });

  it.each([
    ["an alias whose anchor is missing", "config:\n  chatwoot:domain: chat.example.com\n  chatwoot:location: *hunter2token\n", "YAML error under chatwoot:location: an alias (*…) names no anchor"],
    ["an alias bomb", "config:\n  a: &a [hunter2, hunter2]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n", "YAML error: the file cannot be read as data"],
  ])("exits 1 on %s, naming where and quoting nothing", (_what, text, message) => {
    const file = path.join(dir, "Pulumi.alias.yaml");
    fs.writeFileSync(file, text);
    const r = plan(["--config", file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  });

  it("writes the artifacts with secrets masked", () => {
    const out = path.join(dir, "out");
    const file = stackFile(dir, "production", baseConfig, ["sshPrivateKey", "smtpPassword"]);
    const r = plan(["--config", file, "--out", out]);
    expect(r.status).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(["Caddyfile", "bundle.MANIFEST", "cloud-init.yaml", "compose.yaml", "env.masked"]);
    const env = parseEnvFile(fs.readFileSync(path.join(out, "env.masked"), "utf8"));
    expect(env.get("SECRET_KEY_BASE")).toBe(SECRET_MARKER);
    expect(env.get("SMTP_PASSWORD")).toBe(SECRET_MARKER);
    expect(env.get("FRONTEND_URL")).toBe("https://chat.example.com");
    const everything = fs.readdirSync(out).map((f) => fs.readFileSync(path.join(out, f), "utf8")).join("\n");
    for (const s of Object.values(baseSecrets)) expect(everything).not.toContain(s.trim());
    expect(fs.readFileSync(path.join(out, "cloud-init.yaml"), "utf8")).toBe(renderCloudInit());
    expect(fs.readFileSync(path.join(out, "compose.yaml"))).toEqual(fs.readFileSync(path.join(repoRoot, "docker/compose.yaml")));
    expect(r.stdout).toContain(`Rendered artifacts (secrets masked) in ${out}`);
  });
});

describe("pulumi up's loader", () => {
  it("compiles and runs infra/index.ts through Pulumi's own ts-node registration", () => {
    const config = Object.fromEntries(
      Object.entries({ ...baseConfig }).map(([k, v]) => [`chatwoot:${k}`, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    const r = spawnSync(process.execPath, [path.join(repoRoot, "infra/test/load-like-pulumi.js"), repoRoot], {
      encoding: "utf8",
      timeout: 900_000,
      env: { ...process.env, PULUMI_CONFIG: JSON.stringify(config) },
    });
    expect(r.stderr).not.toMatch(/TSError|error TS/);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!).outputs).toEqual(expect.arrayContaining(["ipv4", "ipv6", "url"]));
  });
});
