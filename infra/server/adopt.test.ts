/**
 * chatwoot:adopt in the program: its validation (config/adopt.ts) and what it registers under
 * Pulumi's mock engine: the upload of the files (CopyToRemote, content never in state), and the
 * adopt step between the env file and the deploy, with download URLs only on its secret stdin.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../config/load";
import { evaluate, mockId, type Evaluation } from "../plan/engine";
import { renderAdoptCommand } from "./commands";
import { byType, plainStrings } from "../test/evaluation";
import { baseConfig, baseSecrets, pulumiConfig, type PublicValues } from "../test/fixtures";
import { tempDir } from "../test/run";

const OLD_KEYS = {
  secretKeyBase: "a1".repeat(64),
  encryptionPrimaryKey: "P".repeat(32),
  encryptionDeterministicKey: "D".repeat(32),
  encryptionKeyDerivationSalt: "S".repeat(32),
};
const SIGNED_URL = "https://files.example.com/chatwoot.dump?X-Amz-Signature=0123456789abcdefsecretsignature";

let dir: string;
let dump: string;
let archive: string;
beforeAll(() => {
  dir = tempDir("adopt-config");
  dump = path.join(dir, "chatwoot.dump");
  archive = path.join(dir, "storage.tar.gz");
  fs.writeFileSync(dump, "PGDMP");
  fs.writeFileSync(archive, "tar");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function problems(values: PublicValues, secrets: Record<string, string> = {}, forUp = true): string[] {
  const { config, secretKeys } = pulumiConfig({ ...baseConfig, ...values }, { ...baseSecrets, ...secrets });
  const secret = new Set(secretKeys);
  try {
    loadConfig({ values: config, isSecret: (k) => secret.has(k) }, forUp);
    return [];
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
}

describe("chatwoot:adopt validation", () => {
  it("accepts a dump and an archive with the old installation's keys", () => {
    expect(problems({ adopt: { database: dump, storage: archive } }, OLD_KEYS)).toEqual([]);
  });

  it("without the old keys, says exactly what stops working and refuses until the operator accepts it", () => {
    const p = problems({ adopt: { database: dump } }).join("\n");
    expect(p).toContain("chatwoot:secretKeyBase is not set");
    expect(p).toContain("signed URLs of attachments");
    expect(p).toContain("agents stay logged in (their tokens live in the database), but every widget visitor loses their conversation");
    expect(p).toContain("two-factor");
    expect(p).toContain("since v4.7.0 every channel credential (Facebook, Instagram, e-mail inbox passwords, Twilio, Telegram, Line, TikTok");
    expect(p).toContain("signing secrets of webhooks and API inboxes");
    expect(p).toContain('chatwoot:adopt.withoutOldKeys ["encryption"]');
    expect(problems({ adopt: { database: dump, withoutOldKeys: ["secretKeyBase", "encryption"] } })).toEqual([]);
    const { config, secretKeys } = pulumiConfig({ ...baseConfig, adopt: { database: dump, withoutOldKeys: ["secretKeyBase", "encryption"] } }, baseSecrets);
    const c = loadConfig({ values: config, isSecret: (k) => secretKeys.includes(k) }, true);
    expect(c.warnings.join("\n")).toContain("chatwoot:adopt.withoutOldKeys has secretKeyBase: the old SECRET_KEY_BASE signs the website widget's visitor tokens");
    expect(c.warnings.join("\n")).toContain("once it is adopted, remove it (pulumi config rm chatwoot:adopt)");
  });

  it("wants all three encryption keys or none", () => {
    const { encryptionDeterministicKey: _, ...two } = OLD_KEYS;
    expect(problems({ adopt: { database: dump } }, two).join("\n")).toContain("must be set together");
  });

  it("refuses adopt together with restoreFrom, a bucket without s3Compatible storage, and no dump at all", () => {
    expect(problems({ adopt: { database: dump }, restoreFrom: "latest" }, OLD_KEYS).join("\n")).toContain("chatwoot:adopt and chatwoot:restoreFrom are both set");
    expect(problems({ adopt: { database: dump, storage: "bucket" } }, OLD_KEYS).join("\n")).toContain('chatwoot:adopt.storage "bucket" needs chatwoot:storage.service "s3Compatible"');
    expect(problems({ adopt: {} }, OLD_KEYS).join("\n")).toContain("chatwoot:adopt needs the old database");
    expect(problems({ adopt: { database: dump } }, { ...OLD_KEYS, adoptDatabaseUrl: SIGNED_URL }).join("\n")).toContain("are both set");
  });

  it("sends a URL to the secret key without echoing it, and wants that key encrypted", () => {
    const p = problems({ adopt: { database: SIGNED_URL } }, OLD_KEYS);
    expect(p.join("\n")).toContain("a URL goes into the secret chatwoot:adoptDatabaseUrl");
    expect(p.join("\n")).not.toContain("secretsignature");
    const { config, secretKeys } = pulumiConfig({ ...baseConfig, adopt: {} }, { ...baseSecrets, ...OLD_KEYS });
    config["chatwoot:adoptDatabaseUrl"] = SIGNED_URL;
    expect(() => loadConfig({ values: config, isSecret: (k) => secretKeys.includes(k) }, true)).toThrow(/chatwoot:adoptDatabaseUrl must be stored encrypted/);
    expect(problems({ adopt: {} }, { ...OLD_KEYS, adoptDatabaseUrl: "http://files.example.com/x.dump" }).join("\n")).toContain("chatwoot:adoptDatabaseUrl must be an https URL");
  });

  it("checks the files exist only for pulumi up (a pull-request preview has no dump)", () => {
    const missing = { adopt: { database: path.join(dir, "nope.dump") } };
    expect(problems(missing, OLD_KEYS).join("\n")).toContain("chatwoot:adopt.database: no readable file at that path");
    expect(problems(missing, OLD_KEYS, false)).toEqual([]);
  });

  it("takes account and inbox ids and a platform app name, and refuses ids that are not positive whole numbers", () => {
    expect(problems({ account: { name: "Acme", id: 1 }, inbox: { name: "API", id: 1 }, platformApp: { name: "VisualKit Platform" } })).toEqual([]);
    expect(problems({ account: { name: "Acme", id: 0 } }).join("\n")).toContain("chatwoot:account.id must be a positive whole number");
    expect(problems({ inbox: { name: "API", id: 1.5 } }).join("\n")).toContain("chatwoot:inbox.id must be a positive whole number");
  });
});

describe("chatwoot:adopt in the program", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluate({
      stack: "production",
      ...pulumiConfig(
        { ...baseConfig, adopt: { database: dump, storage: archive }, account: { name: "Acme Support", id: 1 }, inbox: { name: "Escalations", id: 1 } },
        { ...baseSecrets, ...OLD_KEYS, webhookSecret: "oldWebhookSecret0123456789abcdef" },
      ),
    });
  });
  const named = (e: Evaluation, n: string) => e.resources.find((r) => r.name === n);

  it("uploads both files with CopyToRemote into the adopt directory after it is made", () => {
    const copies = byType(ev, "command:remote:CopyToRemote");
    expect(copies.map((c) => c.name).sort()).toEqual(["chatwoot-adopt-database-file", "chatwoot-adopt-storage-file"]);
    for (const c of copies) {
      expect(c.inputs.remotePath).toBe("/srv/chatwoot/adopt");
      // A file asset: the engine hashes it and the provider copies it; its content is never an input.
      expect(c.inputs.source).toMatchObject({ __pulumiAsset: true });
      expect(c.options.dependsOn.map((d) => d.split("::")[1])).toEqual(["chatwoot-adopt-stage"]);
    }
    expect(named(ev, "chatwoot-adopt-stage")!.inputs.create).toBe("install -d -m 0700 '/srv/chatwoot/adopt'");
  });

  it("runs adopt.sh with the file names after the env file and the uploads, and deploys after it", () => {
    const adopt = named(ev, "chatwoot-adopt")!;
    expect(adopt.inputs.create).toContain(
      "'/opt/chatwoot/bundle/scripts/adopt.sh' '--before-deploy' '--version' 'v4.15.1' '--v4-migration' '20250104200055' '--from-v3' 'refuse' '--v41-needed-before' '20250416182131' '--target-newest' '20260611184600' '--database' 'chatwoot.dump' '--storage' 'storage.tar.gz'",
    );
    expect(adopt.inputs.stdin).toBeUndefined();
    const deps = (n: string) => named(ev, n)!.options.dependsOn.map((d) => d.split("::")[1]).sort();
    expect(deps("chatwoot-adopt")).toEqual(["chatwoot-adopt-database-file", "chatwoot-adopt-storage-file", "chatwoot-upload", "chatwoot-write-env"]);
    expect(deps("chatwoot-deploy")).toContain("chatwoot-adopt");
  });

  it("starting over works: uploading a file again re-runs the adoption, and a new adoption re-runs deploy, bootstrap and verify", () => {
    // A resource's id is in a step's triggers: replacing that resource replaces (re-runs) the step.
    const CMD = "command:remote:Command";
    const triggers = (n: string) => named(ev, n)!.inputs.triggers as string[];
    const server = mockId("hcloud:index/server:Server", "chatwoot-server");
    const copies = ["database", "storage"].map((w) => mockId("command:remote:CopyToRemote", `chatwoot-adopt-${w}-file`));
    expect(triggers("chatwoot-adopt")).toEqual([server, ...copies]);
    for (const step of ["chatwoot-deploy", "chatwoot-bootstrap", "chatwoot-verify"]) {
      expect(triggers(step), step).toEqual([server, mockId(CMD, "chatwoot-adopt")]);
    }
    // Without adoption, only a new server re-runs the steps.
    expect(triggers("chatwoot-upload")).toEqual([server]);
  });

  it("keeps the old keys and webhook secret instead of generating them, and bootstraps by id", () => {
    const names = ev.resources.map((r) => r.name);
    for (const n of ["chatwoot-secret-key-base", "chatwoot-ar-primary-key", "chatwoot-webhook-secret"]) expect(names).not.toContain(n);
    const input = JSON.parse((named(ev, "chatwoot-bootstrap")!.inputs.stdin as { value: string }).value);
    // The adopted account keeps its own locale, and the admin its user type: neither is in the config.
    expect(input.account).toEqual({ name: "Acme Support", id: 1 });
    expect(input.admin).toMatchObject({ email: "ops@example.com", superAdmin: false });
    expect(input.inbox).toEqual({ name: "Escalations", id: 1 });
    expect(input.webhook.secret).toBe("oldWebhookSecret0123456789abcdef");
  });

  it("sets the adopted account's locale and makes its admin a SuperAdmin only when the config says so", async () => {
    const explicit = await evaluate({
      stack: "production",
      ...pulumiConfig(
        { ...baseConfig, account: { name: "Acme Support", id: 1, locale: "de" }, admin: { email: "ops@example.com", name: "Ops", superAdmin: true } },
        { ...baseSecrets, ...OLD_KEYS },
      ),
    });
    const input = JSON.parse((named(explicit, "chatwoot-bootstrap")!.inputs.stdin as { value: string }).value);
    expect(input.account).toEqual({ name: "Acme Support", locale: "de", id: 1 });
    expect(input.admin).not.toHaveProperty("superAdmin");
    // A new installation (no account id) gets the defaults: English, and a SuperAdmin.
    const fresh = JSON.parse((named(await evaluate({ stack: "production", ...pulumiConfig() }), "chatwoot-bootstrap")!.inputs.stdin as { value: string }).value);
    expect(fresh.account).toEqual({ name: "Acme Support", locale: "en" });
    expect(fresh.admin).not.toHaveProperty("superAdmin");
  });

  it("with a URL, passes it only on the adopt step's secret stdin", async () => {
    const withUrl = await evaluate({
      stack: "production",
      ...pulumiConfig({ ...baseConfig, adopt: { storage: archive } }, { ...baseSecrets, ...OLD_KEYS, adoptDatabaseUrl: SIGNED_URL }),
    });
    const adopt = named(withUrl, "chatwoot-adopt")!;
    expect(adopt.inputs.create).toContain("'--storage' 'storage.tar.gz' '--urls-on-stdin'");
    expect(byType(withUrl, "command:remote:CopyToRemote").map((c) => c.name)).toEqual(["chatwoot-adopt-storage-file"]);
    expect(plainStrings(withUrl.resources.map((r) => r.inputs)).join("\n")).not.toContain("secretsignature");
    expect(JSON.stringify(adopt.inputs.stdin)).toContain("4dabf18193072939515e22adb298388d");
  });

  it("is absent without chatwoot:adopt", async () => {
    const plain = await evaluate({ stack: "production", ...pulumiConfig() });
    expect(plain.resources.filter((r) => r.name.startsWith("chatwoot-adopt"))).toEqual([]);
  });
});

describe("the adopt command", () => {
  it("lets a 3.x dump through only for a release before 4.2, names the target's newest migration where the facts know it, and says bucket for attachments already there", () => {
    const p = { appDir: "/opt/chatwoot", dataDir: "/srv/chatwoot" };
    expect(renderAdoptCommand(p, { version: "v4.1.0", databaseFile: "x.dump", storageInBucket: true, urlsOnStdin: false })).toContain(
      "'--from-v3' 'allow' '--v41-needed-before' '20250416182131' '--database' 'x.dump' '--storage' 'bucket'",
    );
    expect(renderAdoptCommand(p, { version: "v4.2.0", storageInBucket: false, urlsOnStdin: true })).toContain("'--from-v3' 'refuse' '--v41-needed-before' '20250416182131' '--urls-on-stdin'");
    expect(renderAdoptCommand(p, { version: "v4.15.1-ce", storageInBucket: false, urlsOnStdin: true })).toContain("'--target-newest' '20260611184600'");
  });
});
