/**
 * The deploy steps under the mock engine: order, options, secrecy, outputs, and exactly which
 * steps re-run for each kind of change (what a PR preview will show).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { bundleFiles } from "./artifacts";
import { parseBootstrapResult } from "../chatwoot/bootstrap";
import { evaluate, FAKE_BOOTSTRAP_RESULT, isSecretValue, type Evaluation, type EvaluateOptions } from "../plan/engine";
import { chatwootStack } from "../program";
import { byType, knownSecretValues, plainStrings } from "../test/evaluation";
import { baseConfig, baseSecrets, pulumiConfig, TEST_PUBLIC_KEY, type PublicValues } from "../test/fixtures";

const COMMAND = "command:remote:Command";
const STEPS = ["wait-ready", "upload", "write-env", "deploy", "bootstrap", "verify"] as const;

const steps = (ev: Evaluation) => new Map(byType(ev, COMMAND).map((r) => [r.name.replace(/^chatwoot-/, ""), r]));

function run(values: PublicValues = baseConfig, extra: Partial<EvaluateOptions> = {}): Promise<Evaluation> {
  return evaluate({ stack: "production", ...pulumiConfig(values, baseSecrets), ...extra });
}

/** Steps whose inputs differ between two evaluations, and how: "update" or "replace" (triggers). */
function reruns(a: Evaluation, b: Evaluation): Record<string, "update" | "replace"> {
  const out: Record<string, "update" | "replace"> = {};
  const [sa, sb] = [steps(a), steps(b)];
  for (const name of STEPS) {
    const [x, y] = [sa.get(name)!.inputs, sb.get(name)!.inputs];
    if (JSON.stringify(x.triggers) !== JSON.stringify(y.triggers)) out[name] = "replace";
    else if (JSON.stringify(x) !== JSON.stringify(y)) out[name] = "update";
  }
  return out;
}

describe("deploy steps", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await run();
  });

  it("are the six documented steps, each a child of ChatwootDeployment", () => {
    expect([...steps(ev).keys()]).toEqual([...STEPS]);
    for (const r of steps(ev).values()) expect(r.options.parent).toBe("chatwoot:index:ChatwootDeployment::chatwoot");
  });

  it("run in order: wait-ready after the volume attachment, then upload and env, deploy, bootstrap, verify", () => {
    const deps = (n: string) => steps(ev).get(n)!.options.dependsOn.map((d) => d.split("::")[1]);
    expect(deps("wait-ready")).toEqual(["chatwoot-data-attachment", "chatwoot-server"]);
    expect(deps("upload")).toEqual(["chatwoot-wait-ready"]);
    expect(deps("write-env")).toEqual(["chatwoot-wait-ready"]);
    expect(deps("deploy").sort()).toEqual(["chatwoot-upload", "chatwoot-write-env"]);
    expect(deps("bootstrap")).toEqual(["chatwoot-deploy"]);
    expect(deps("verify")).toEqual(["chatwoot-bootstrap"]);
  });

  it("connect as root to the primary IPv4 with generous dial retries", () => {
    const conn = steps(ev).get("deploy")!.inputs.connection;
    expect(isSecretValue(conn)).toBe(true);
    expect((conn as { value: Record<string, unknown> }).value).toMatchObject({
      host: "203.0.113.10",
      user: "root",
      dialErrorLimit: 60,
      perDialTimeout: 10,
    });
  });

  it("are replaced only for a new server, and have no delete script that a dead server could block", () => {
    for (const [name, r] of steps(ev)) {
      expect(r.inputs.triggers, name).toEqual([expect.any(String)]);
      expect(r.inputs.delete, name).toBeUndefined();
      expect(r.inputs.addPreviousOutputInEnv, name).toBe(false);
    }
  });

  it("never put a secret in command text", () => {
    const secrets = knownSecretValues(ev, baseSecrets);
    expect(secrets.length).toBeGreaterThanOrEqual(10);
    for (const [name, r] of steps(ev)) {
      expect(isSecretValue(r.inputs.create), `${name} create is plain text`).toBe(false);
      const text = plainStrings(r.inputs.create).join("\n");
      for (const s of secrets) expect(text.includes(s), `${name} command text holds a secret`).toBe(false);
    }
  });

  it("send secrets only on stdin, marked secret", () => {
    const s = steps(ev);
    for (const name of ["write-env", "deploy", "bootstrap", "verify"]) {
      expect(isSecretValue(s.get(name)!.inputs.stdin), name).toBe(true);
    }
    const env = (s.get("write-env")!.inputs.stdin as { value: string }).value;
    expect(env).toContain(`SMTP_PASSWORD='${baseSecrets.smtpPassword}'`);
    expect(env).toMatch(/^SECRET_KEY_BASE='[0-9a-f]{128}'$/m);
    const bootstrap = JSON.parse((s.get("bootstrap")!.inputs.stdin as { value: string }).value);
    expect(bootstrap).toMatchObject({
      account: { name: "Acme Support", locale: "en" },
      admin: { email: "ops@example.com", name: "Ops", password: expect.any(String) },
      inbox: { name: "Escalations" },
      webhook: { url: "https://app.example.com/hooks/chatwoot", subscriptions: ["message_created", "conversation_created"], secret: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    // Public keys are not secret: authorized_keys for wait-ready travels in plain stdin.
    expect(s.get("wait-ready")!.inputs.stdin).toContain("ssh-ed25519 ");
  });

  it("mark stdout/stderr secret and silence logs where secrets can appear", () => {
    for (const [name, r] of steps(ev)) {
      const secret = ["write-env", "bootstrap", "verify"].includes(name);
      expect(r.options.additionalSecretOutputs.includes("stdout"), name).toBe(secret);
      expect(r.options.additionalSecretOutputs.includes("stderr"), name).toBe(secret);
      expect(r.inputs.logging, name).toBe(secret ? "none" : undefined);
    }
  });

  it("show reviewers what changes: masked env, file hashes, version", () => {
    const s = steps(ev);
    expect(s.get("write-env")!.inputs.create).toContain("#   SECRET_KEY_BASE='<secret>'");
    expect(s.get("write-env")!.inputs.create).toContain("#   FRONTEND_URL='https://chat.example.com'");
    expect(s.get("upload")!.inputs.create).toMatch(/#   docker\/compose\.yaml [0-9a-f]{12}/);
    expect(s.get("upload")!.inputs.create).toMatch(/#   scripts\/deploy\.sh [0-9a-f]{12} \(x\)/);
    expect(s.get("deploy")!.inputs.create).toContain("--version 'v4.15.1'");
    expect(s.get("verify")!.inputs.create).toContain("--domain 'chat.example.com'");
    expect(s.get("verify")!.inputs.create).toContain("--frame-origins 'https://app.example.com'");
  });

  it("export ids in clear and tokens as secrets", () => {
    const r = parseBootstrapResult(FAKE_BOOTSTRAP_RESULT);
    expect(ev.outputs).toMatchObject({ accountId: r.account_id, inboxId: r.inbox_id, inboxIdentifier: r.inbox_identifier, webhookId: r.webhook_id });
    expect(ev.secretOutputs).toEqual(["adminPassword", "apiAccessToken", "backupPassword", "platformToken", "webhookSecret"]);
    expect(ev.outputs.apiAccessToken).toBe(r.api_access_token);
  });
});

describe("what re-runs", () => {
  let base: Evaluation;
  beforeAll(async () => {
    base = await run();
  });

  it("nothing when nothing changed", async () => {
    expect(reruns(base, await run())).toEqual({});
  });

  it("deploy, bootstrap and verify on a version bump: upgrade migrations can switch disabled features back on", async () => {
    const bumped = await run({ ...baseConfig, chatwootVersion: "v4.16.0" });
    expect(reruns(base, bumped)).toEqual({ deploy: "update", bootstrap: "update", verify: "update" });
    expect(steps(bumped).get("bootstrap")!.inputs.create).toContain("release v4.16.0");
  });

  it("for a changed file, only the steps that run it: verify.sh → verify; rollback.sh → nothing but the upload", async () => {
    const edit = (name: string) =>
      bundleFiles().map((f) => (f.path === name ? { ...f, content: Buffer.concat([f.content, Buffer.from("# changed\n")]) } : f));
    const withFiles = (files: ReturnType<typeof bundleFiles>) => run(baseConfig, { program: () => chatwootStack({ bundle: files }) as never });
    expect(reruns(base, await withFiles(edit("scripts/verify.sh")))).toEqual({ upload: "update", verify: "update" });
    expect(reruns(base, await withFiles(edit("scripts/rollback.sh")))).toEqual({ upload: "update" });
    expect(reruns(base, await withFiles(edit("scripts/restore.sh")))).toEqual({ upload: "update" });
    expect(reruns(base, await withFiles(edit("docker/compose.yaml")))).toEqual({ upload: "update", deploy: "update", verify: "update" });
    expect(reruns(base, await withFiles(edit("scripts/compose.sh")))).toEqual({ upload: "update", deploy: "update", bootstrap: "update", verify: "update" });
  });

  it("bootstrap and verify when bootstrap.rb changes (new convergence logic runs on the next pulumi up)", async () => {
    const files = bundleFiles().map((f) =>
      f.path === "scripts/bootstrap.rb" ? { ...f, content: Buffer.concat([f.content, Buffer.from("# changed\n")]) } : f,
    );
    const changed = await run(baseConfig, { program: () => chatwootStack({ bundle: files }) as never });
    expect(reruns(base, changed)).toMatchObject({ bootstrap: "update" });
  });

  it("only wait-ready (authorized_keys) when operators' SSH keys rotate; the connection stays the stack's deploy key", async () => {
    const second = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJSbCvCvGnF+DqvwC++jPgfy2w7ub8f36qLTwgquyKG second";
    const rotated = await run({ ...baseConfig, sshPublicKeys: [second] });
    expect(reruns(base, rotated)).toEqual({ "wait-ready": "update" });
    const stdin = steps(rotated).get("wait-ready")!.inputs.stdin as string;
    expect(stdin).toContain(second);
    expect(stdin).not.toContain(TEST_PUBLIC_KEY.split(" ")[1]);
    expect(stdin.trim().split("\n").at(-1)).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ chatwoot-deploy$/);
  });

  it("write-env, deploy and verify when an env value changes", async () => {
    const smtp = { ...(baseConfig.smtp as object), address: "mail.example.org" };
    expect(reruns(base, await run({ ...baseConfig, smtp }))).toEqual({ "write-env": "update", deploy: "update", verify: "update" });
  });

  it("write-env, deploy and verify when a generated secret is rotated", async () => {
    const rotated = await run(baseConfig, {
      extraState: (a) => (a.name === "chatwoot-redis-password" ? { result: "RotatedRedisPassword000000000000000000000" } : undefined),
    });
    expect(reruns(base, rotated)).toEqual({ "write-env": "update", deploy: "update", verify: "update" });
  });

  it("upload, deploy and verify when a bundle file changes", async () => {
    const files = bundleFiles().map((f) =>
      f.path === "docker/Caddyfile" ? { ...f, content: Buffer.concat([f.content, Buffer.from("# changed\n")]) } : f,
    );
    const changed = await run(baseConfig, { program: () => chatwootStack({ bundle: files }) as never });
    expect(reruns(base, changed)).toEqual({ upload: "update", deploy: "update", verify: "update" });
    const upload = steps(changed).get("upload")!.inputs.create as string;
    const before = steps(base).get("upload")!.inputs.create as string;
    const diff = upload.split("\n").filter((l) => !before.split("\n").includes(l));
    expect(diff).toEqual([
      expect.stringMatching(/^release="bundles\/[0-9a-f]{12}-/),
      expect.stringMatching(/^echo "bundle [0-9a-f]{12}: \d+ files/),
      expect.stringMatching(/^#   docker\/Caddyfile [0-9a-f]{12}$/),
    ]);
  });

  it("only wait-ready, which grows the filesystem, when the volume grows", async () => {
    const grown = await run({ ...baseConfig, volumeSizeGb: 40 });
    expect(reruns(base, grown)).toEqual({ "wait-ready": "update" });
    expect(steps(grown).get("wait-ready")!.inputs.create).toContain('resize2fs "$dev"');
  });

  it("bootstrap and verify when a bootstrap field changes", async () => {
    expect(reruns(base, await run({ ...baseConfig, inbox: { name: "Support" } }))).toEqual({ bootstrap: "update", verify: "update" });
    const webhook = { url: "https://app.example.com/hooks/chatwoot", subscriptions: ["message_created"] };
    expect(reruns(base, await run({ ...baseConfig, webhook }))).toEqual({ bootstrap: "update", verify: "update" });
  });

  it("only the bootstrap (and verify) when Captain's key or the installation's name changes; the key only on stdin", async () => {
    const key = "sk-test-0123456789abcdefghij";
    const withKey = await evaluate({ stack: "production", ...pulumiConfig(baseConfig, { ...baseSecrets, captainOpenAiApiKey: key }) });
    expect(reruns(base, withKey)).toEqual({ bootstrap: "update" });
    const input = JSON.parse((steps(withKey).get("bootstrap")!.inputs.stdin as { value: string }).value);
    expect(input.installation_configs).toEqual({ CAPTAIN_OPEN_AI_API_KEY: key });
    for (const [name, r] of steps(withKey)) expect(plainStrings(r.inputs.create).join("\n"), name).not.toContain(key);
    const named = await run({ ...baseConfig, installation: { name: "Acme Help", brandName: "Acme" } });
    expect(reruns(base, named)).toEqual({ bootstrap: "update", verify: "update" });
    expect(JSON.parse((steps(named).get("bootstrap")!.inputs.stdin as { value: string }).value).installation_configs).toEqual({
      INSTALLATION_NAME: "Acme Help",
      BRAND_NAME: "Acme",
    });
  });

  it("the sign-in clients reach the bootstrap as installation configs, their secrets only on stdin", async () => {
    const secrets = { googleOauthClientSecret: "GOCSPX-google-secret-0001", microsoftOauthClientSecret: "abc8Q~azure.client-secret_01" };
    const signIn = { googleSignIn: { clientId: "1234-abc.apps.googleusercontent.com" }, microsoftSignIn: { clientId: "11111111-2222-3333-4444-555555555555" } };
    const withBoth = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, ...signIn }, { ...baseSecrets, ...secrets }) });
    const input = JSON.parse((steps(withBoth).get("bootstrap")!.inputs.stdin as { value: string }).value);
    expect(input.installation_configs).toEqual({
      GOOGLE_OAUTH_CLIENT_ID: "1234-abc.apps.googleusercontent.com",
      GOOGLE_OAUTH_CLIENT_SECRET: secrets.googleOauthClientSecret,
      AZURE_APP_ID: "11111111-2222-3333-4444-555555555555",
      AZURE_APP_SECRET: secrets.microsoftOauthClientSecret,
    });
    for (const [name, r] of steps(withBoth)) {
      for (const secret of Object.values(secrets)) expect(plainStrings(r.inputs.create).join("\n"), name).not.toContain(secret);
    }
    // Only Microsoft's: it lives in installation configs alone, so the env file and the deploy stay as they were.
    const microsoftOnly = await evaluate({
      stack: "production",
      ...pulumiConfig({ ...baseConfig, microsoftSignIn: signIn.microsoftSignIn }, { ...baseSecrets, microsoftOauthClientSecret: secrets.microsoftOauthClientSecret }),
    });
    expect(reruns(base, microsoftOnly)).toEqual({ bootstrap: "update", verify: "update" });
    // A lone secret, without its client id, is not handed on.
    const lone = await evaluate({ stack: "production", ...pulumiConfig(baseConfig, { ...baseSecrets, microsoftOauthClientSecret: secrets.microsoftOauthClientSecret }) });
    expect(JSON.parse((steps(lone).get("bootstrap")!.inputs.stdin as { value: string }).value).installation_configs).toEqual({});
  });

  it("write-env, deploy and verify, which checks the new name too, when the help center gets its own domain", async () => {
    const help = await run({ ...baseConfig, helpCenterDomain: "help.example.com" });
    expect(reruns(base, help)).toEqual({ "write-env": "update", deploy: "update", verify: "update" });
    expect(steps(help).get("verify")!.inputs.create).toContain("--domain 'chat.example.com' --help-center 'help.example.com'");
  });

  it("deploy (sizing) and verify after a resize, which power-cycles the server", async () => {
    expect(reruns(base, await run({ ...baseConfig, serverType: "cx43" }))).toEqual({ deploy: "update", verify: "update" });
  });

  it("every step, as a replacement, on a new server", async () => {
    const rebuilt = await run(baseConfig, { idFor: (type) => (type === "hcloud:index/server:Server" ? "999999" : undefined) });
    expect(reruns(base, rebuilt)).toEqual(Object.fromEntries(STEPS.map((s) => [s, "replace"])));
  });
});

describe("parseBootstrapResult", () => {
  it("takes the last line and checks the fields", () => {
    expect(parseBootstrapResult(`noise\n${FAKE_BOOTSTRAP_RESULT}\n`).inbox_id).toBe(2);
    expect(() => parseBootstrapResult("not json")).toThrow("bootstrap did not print its JSON result line");
    expect(() => parseBootstrapResult('{"account_id":1}')).toThrow("bootstrap result lacks inbox_id");
  });
});
