/**
 * bootstrap.rb against in-memory stand-ins of Chatwoot's models (labelled as such).
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import chatwootFacts from "../facts/chatwoot-upstream.json";
import { repoRoot } from "../lib/repo";
import { fakeHost } from "../test/fake-host";
import { OLD, SWITCH, compose } from "../test/deploy-calls";
import { describeWithTools, run } from "../test/tools";
const MODELS = path.join(repoRoot, "infra/test/chatwoot_models.rb");

describeWithTools("bootstrap.rb with in-memory stand-ins of Chatwoot's models", ["ruby"], () => {
  let host: ReturnType<typeof fakeHost>;
  const config = (patch: Record<string, unknown> = {}) =>
    JSON.stringify({
      account: { name: "Acme Support", locale: "en" },
      admin: { email: "Ops@Example.com", name: "Ops", password: "Initial!Passw0rd" },
      inbox: { name: "Escalations" },
      webhook: { url: "https://app.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created"], secret: "whsec-0123456789abcdef" },
      disable_features: ["campaigns"],
      ...patch,
    });
  const bootstrap = (input: string) => {
    const r = host.exec("bootstrap.sh", [], { input });
    return { ...r, result: r.status === 0 ? JSON.parse(r.stdout.trim()) : undefined };
  };
  beforeEach(() => {
    host = fakeHost();
    fs.mkdirSync(path.join(host.app, "release"));
    fs.writeFileSync(path.join(host.app, "release/current"), OLD);
  });
  afterEach(() => host.cleanup());

  it("creates everything on the first run and prints one JSON line", () => {
    const r = bootstrap(config());
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.result).toMatchObject({
      account_id: 1,
      admin_user_id: 1,
      inbox_id: 1,
      webhook_id: 1,
      created: ["admin", "account", "membership", "inbox", "webhook", "platform_app"],
      disabled_features: ["campaigns"],
    });
    expect(r.result.api_access_token).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.result.platform_token).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.result.inbox_identifier).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(host.writes()).toContain("redis-delete CHATWOOT_INSTALLATION_ONBOARDING");
    expect(host.writes()).toContain("create InstallationConfig 1");
    expect(host.calls()[0]).toMatch(/ cp .*scripts\/bootstrap\.rb rails:\/tmp\/chatwoot-bootstrap\.rb$/);
    expect(host.calls()[1]).toMatch(/ exec -T rails bundle exec rails runner \/tmp\/chatwoot-bootstrap\.rb$/);
  });

  it("sets the installation's names and Captain's key once, changes them in place, and returns only their names", () => {
    const key = "sk-test-0123456789abcdefghij";
    const first = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Support", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    // Nothing but the restart for Captain's key (tested below) is said.
    expect(first.stderr.trim().split("\n").filter((l) => !l.startsWith("==> "))).toEqual([
      "bootstrap.sh: Captain's key changed: restarting Rails (without downtime) and Sidekiq so that every process reads it",
    ]);
    expect(first.result.installation_configs_set).toEqual(["BRAND_NAME", "CAPTAIN_OPEN_AI_API_KEY", "INSTALLATION_NAME"]);
    expect(first.stdout).not.toContain(key);
    const again = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Support", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    expect(again.result.installation_configs_set).toEqual([]);
    const renamed = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Help", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    expect(renamed.result.installation_configs_set).toEqual(["INSTALLATION_NAME"]);
    // Not given: left as it is (an operator may have set it in the super admin console).
    expect(bootstrap(config()).result.installation_configs_set).toEqual([]);
    const bad = bootstrap(config({ installation_configs: { LOGO: "x" } }));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`installation_configs must map some of ${chatwootFacts.installationConfigs.values.join(", ")} to strings`);
  });

  it("restarts Rails beside itself and Sidekiq when Captain's key changes, so that every process reads it, and only then", () => {
    const key = "sk-test-0123456789abcdefghij";
    const withKey = (k: string) => config({ installation_configs: { CAPTAIN_OPEN_AI_API_KEY: k } });
    const restart = [
      ...SWITCH(host.app, OLD).map((c) => c.replace("up -d --wait --no-deps rails", "up -d --wait --no-deps --force-recreate rails").replace("--force-recreate rails-surge", "rails-surge")),
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps --force-recreate sidekiq")}`,
    ];
    const restartCalls = () => host.calls().filter((c) => / (up|rm|exec -T (-e \S+ )?caddy) /.test(c));
    const first = bootstrap(withKey(key));
    expect(first.status).toBe(0);
    expect(first.stdout.trim().split("\n")).toHaveLength(1);
    expect(first.stderr).toContain("Captain's key changed: restarting Rails (without downtime) and Sidekiq");
    expect(first.stdout + first.stderr).not.toContain(key);
    expect(restartCalls()).toEqual(restart);
    host.resetCalls();
    expect(bootstrap(withKey(key)).status).toBe(0);
    expect(restartCalls()).toEqual([]);
  });

  it("a failed restart for Captain's key fails the step, and the next run restarts although the key is set", () => {
    const input = config({ installation_configs: { CAPTAIN_OPEN_AI_API_KEY: "sk-test-0123456789abcdefghij" } });
    const failed = host.exec("bootstrap.sh", [], { input, fail: "up -d --wait --no-deps rails-surge$" });
    expect(failed.status).toBe(1);
    expect(failed.stderr).toContain("the restart for Captain's key failed; the key is set, and the next pulumi up restarts again");
    expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
    host.resetCalls();
    const retried = bootstrap(input);
    expect(retried.status).toBe(0);
    expect(retried.result.installation_configs_set).toEqual([]);
    expect(host.calls().some((c) => c.endsWith("up -d --wait --no-deps --force-recreate sidekiq"))).toBe(true);
    host.resetCalls();
    expect(bootstrap(input).status).toBe(0);
    expect(host.calls().some((c) => c.includes("--force-recreate"))).toBe(false);
  });

  it("turns direct uploads on and off as the boolean the dashboard reads, over ConfigLoader's seeded false", () => {
    const models = path.join(repoRoot, "infra/test/chatwoot_models.rb");
    const env = { PATH: process.env.PATH, FAKE_CHATWOOT_DB: path.join(host.root, "db"), FAKE_CHATWOOT_LOG: path.join(host.root, "writes.log") };
    const stored = () => run("ruby", ["-r", models, "-e", "p GlobalConfigService.load('DIRECT_UPLOADS_ENABLED', nil)"], { env }).stdout.trim();
    run("ruby", ["-r", models, "-e", "InstallationConfig.create!(name: 'DIRECT_UPLOADS_ENABLED', value: false, locked: false)"], { env });
    const on = bootstrap(config({ installation_configs: { DIRECT_UPLOADS_ENABLED: true } }));
    expect(on.stderr).toBe("");
    expect(on.result.installation_configs_set).toEqual(["DIRECT_UPLOADS_ENABLED"]);
    expect(stored()).toBe("true");
    expect(bootstrap(config({ installation_configs: { DIRECT_UPLOADS_ENABLED: true } })).result.installation_configs_set).toEqual([]);
    expect(bootstrap(config({ installation_configs: { DIRECT_UPLOADS_ENABLED: false } })).result.installation_configs_set).toEqual(["DIRECT_UPLOADS_ENABLED"]);
    // A string would be truthy in the dashboard's JavaScript whatever it says: refused.
    const text = bootstrap(config({ installation_configs: { DIRECT_UPLOADS_ENABLED: "false" } }));
    expect(text.status).toBe(2);
    expect(text.stderr).toContain("(DIRECT_UPLOADS_ENABLED: true or false)");
  });

  it("sets the sign-in clients where Chatwoot reads them, which an env file alone cannot once ConfigLoader has seeded the table", () => {
    const models = path.join(repoRoot, "infra/test/chatwoot_models.rb");
    const probeEnv = { FAKE_CHATWOOT_DB: path.join(host.root, "db"), FAKE_CHATWOOT_LOG: path.join(host.root, "writes.log") };
    const ruby = (code: string, env: Record<string, string> = {}) => {
      const r = run("ruby", ["-r", models, "-e", code], { env: { PATH: process.env.PATH, ...probeEnv, ...env } });
      expect(r.stderr).toBe("");
      return r.stdout.trim();
    };
    const names = ["GOOGLE_OAUTH_CLIENT_ID", "GOOGLE_OAUTH_CLIENT_SECRET", "AZURE_APP_ID", "AZURE_APP_SECRET"];
    const load = (env: Record<string, string> = {}) =>
      JSON.parse(ruby(`puts JSON.generate(${JSON.stringify(names)}.to_h { |n| [n, GlobalConfigService.load(n, nil)] })`, env));
    // db:migrate runs ConfigLoader, which seeds every installation_config.yml entry; these have no value.
    ruby(`${JSON.stringify(names)}.each { |n| InstallationConfig.create!(name: n, value: nil, locked: false) }`);
    const envValues = { GOOGLE_OAUTH_CLIENT_ID: "1234-abc.apps.googleusercontent.com", GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-from-the-env-file", AZURE_APP_ID: "11111111-2222-3333-4444-555555555555", AZURE_APP_SECRET: "azure~secret.from-the-env-file" };
    // The premise: with the rows seeded, GlobalConfigService ignores the environment altogether.
    expect(load(envValues)).toEqual(Object.fromEntries(names.map((n) => [n, null])));

    const configured = { ...envValues, GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-configured-secret", AZURE_APP_SECRET: "azure~configured.secret-0001" };
    const first = bootstrap(config({ installation_configs: configured }));
    expect(first.stderr).toBe("");
    expect(first.result.installation_configs_set).toEqual([...names].sort());
    for (const secret of [configured.GOOGLE_OAUTH_CLIENT_SECRET, configured.AZURE_APP_SECRET]) {
      expect(first.stdout).not.toContain(secret);
      expect(host.writes().join("\n")).not.toContain(secret);
    }
    expect(load()).toEqual(configured);

    // A rotated Azure secret reaches the table; nothing else is written.
    const rotated = { ...configured, AZURE_APP_SECRET: "azure~rotated.secret-0002" };
    expect(bootstrap(config({ installation_configs: rotated })).result.installation_configs_set).toEqual(["AZURE_APP_SECRET"]);
    expect(load(envValues)).toEqual(rotated);
  });

  it("creates nothing on the second and third runs and returns the same ids and tokens", () => {
    const first = bootstrap(config()).result;
    const writesAfterFirst = host.writes().length;
    for (const _ of [2, 3]) {
      const again = bootstrap(config()).result;
      expect(again).toEqual({ ...first, created: [] });
    }
    expect(host.writes().length).toBe(writesAfterFirst);
  });

  it("finds a restored installation's account, admin and inbox on a new server instead of creating them", () => {
    const first = bootstrap(config()).result;
    // A restore brings the database over to a new server; the bootstrap then runs there for the first time.
    const restored = fs.readFileSync(path.join(host.root, "db"));
    host.cleanup();
    host = fakeHost();
    fs.mkdirSync(path.join(host.app, "release"));
    fs.writeFileSync(path.join(host.app, "release/current"), OLD);
    fs.writeFileSync(path.join(host.root, "db"), restored);
    const onNewServer = bootstrap(config()).result;
    expect(onNewServer).toEqual({ ...first, created: [] });
  });

  it("updates a changed webhook subscription list in place", () => {
    const first = bootstrap(config()).result;
    const changed = bootstrap(
      config({ webhook: { url: "https://app.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created", "conversation_created"], secret: "whsec-0123456789abcdef" } }),
    ).result;
    expect(changed.webhook_id).toBe(first.webhook_id);
    expect(changed.created).toEqual([]);
    expect(host.writes().at(-1)).toBe(`update Webhook ${first.webhook_id} subscriptions`);
  });

  it("renames the account and inbox in place, never sets the password again", () => {
    const first = bootstrap(config()).result;
    const r = bootstrap(config({ account: { name: "Acme Help", locale: "de" }, inbox: { name: "Support" }, admin: { email: "ops@example.com", name: "Ops", password: "Other!Passw0rd" } })).result;
    expect(r.account_id).toBe(first.account_id);
    expect(r.inbox_id).toBe(first.inbox_id);
    expect(host.writes()).toEqual(expect.arrayContaining([`update Account ${first.account_id} name,locale`, `update Inbox ${first.inbox_id} name`]));
    expect(host.writes().some((w) => w.startsWith("update User"))).toBe(false);
  });

  it("replaces the webhook when its URL (the identity) changes", () => {
    const first = bootstrap(config()).result;
    const r = bootstrap(config({ webhook: { url: "https://new.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created"], secret: "whsec-0123456789abcdef" } })).result;
    expect(r.webhook_id).not.toBe(first.webhook_id);
    expect(r.removed_webhooks).toEqual([first.webhook_id]);
  });

  it("rejects invalid input with exit 2 and a clear message, printing no secret", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops" } }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bootstrap: invalid input: admin.password is required");
    const notJson = bootstrap("{nope");
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toContain("stdin is not JSON");
    const unknown = bootstrap(config({ disable_features: ["teleportation"] }));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown Chatwoot feature(s): teleportation");
  });

  it("fails on a password Chatwoot would refuse, naming the field and not the password", () => {
    const weak = "weakpassword";
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: weak } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("bootstrap: User is invalid: password (values are not shown");
    expect(r.stderr + r.stdout).not.toContain(weak);
    expect(r.stderr + r.stdout).not.toContain("whsec-0123456789abcdef");
  });

  it("does not let the password gem's message quote the characters it rejects", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: "Pässwort1!x§" } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("User is invalid: password");
    expect(r.stderr + r.stdout).not.toMatch(/[ä§]/);
  });

  it("accepts the gem's specials the old rule refused", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: "Correct.Horse.Battery9" } }));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("fails on a locale Account.locale= raises on, without the value, like Rails does in Chatwoot", () => {
    const r = bootstrap(config({ account: { name: "Acme Support", locale: "de_DE" } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bootstrap: ArgumentError (message withheld");
    expect(r.stderr).not.toContain("de_DE");
    expect(bootstrap(config({ account: { name: "Acme Support", locale: "pt_BR" } })).status).toBe(0);
  });

  it("refuses 'flags', which answers respond_to?(feature_flags?) but is no feature", () => {
    const r = bootstrap(config({ disable_features: ["flags"] }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown Chatwoot feature(s): flags");
  });

  it("fails when disable_features! returns false (a validation failure it does not raise)", () => {
    expect(bootstrap(config({ disable_features: [] })).status).toBe(0);
    const r = host.exec("bootstrap.sh", [], { input: config({ disable_features: ["campaigns", "captain_tasks"] }), env: { FAKE_ACCOUNT_INVALID: "1" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("could not disable features on the account: invalid limits");
  });

  it("disables again what an upgrade migration switched back on", () => {
    expect(bootstrap(config({ disable_features: ["captain_tasks"] })).status).toBe(0);
    // What db/migrate/20260120121402_enable_captain_tasks_for_existing_accounts.rb does.
    const upgrade = path.join(host.root, "upgrade.rb");
    fs.writeFileSync(upgrade, "Account.where({}).each { |a| a.enable_features!('captain_tasks') }\n");
    const u = run("ruby", ["-r", MODELS, upgrade], { env: { FAKE_CHATWOOT_DB: path.join(host.root, "db"), FAKE_CHATWOOT_LOG: path.join(host.root, "writes.log") } });
    expect(u.status).toBe(0);
    expect(host.writes().filter((w) => w.startsWith("update Account"))).toHaveLength(2);
    const again = bootstrap(config({ disable_features: ["captain_tasks"] }));
    expect(again.status).toBe(0);
    expect(host.writes().filter((w) => w.startsWith("update Account"))).toHaveLength(3);
  });
});
