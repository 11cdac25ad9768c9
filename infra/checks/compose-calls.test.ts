/**
 * Every docker compose call the host scripts make, parsed by the real Compose v2.
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { fakeHost } from "../test/fake-host";
import { NEW, OLD, RUNNING_SERVICES } from "../test/deploy-calls";
import { composeV2Binary } from "../test/go-tools";
import { describeWithTools, run } from "../test/tools";

describeWithTools("every docker compose call the host scripts make, parsed by the real Compose v2", ["go"], () => {
  // The stand-in docker accepts anything; Compose v2 itself must accept each call's flags. With
  // no engine behind DOCKER_HOST, a well-formed call fails only at the connection.
  it("has no flag or argument Compose v2 would refuse", () => {
    const composeBin = composeV2Binary()!;
    const calls = new Set<string>();
    const record = (prepare: (h: ReturnType<typeof fakeHost>) => void, script: string, args: string[], opts: Parameters<ReturnType<typeof fakeHost>["exec"]>[2] = {}) => {
      const h = fakeHost();
      try {
        prepare(h);
        h.exec(script, args, opts);
        // The image is not a flag or argument: one image per call shape (a real Compose run costs
        // about 0.2 s of CPU).
        for (const c of h.calls()) calls.add(c.replace(/ \[job lock held\]$/, "").replaceAll(h.app, "@APP@").replace(/^CHATWOOT_IMAGE=\S*/, `CHATWOOT_IMAGE=${NEW}`));
      } finally {
        h.cleanup();
      }
    };
    const deployed = (h: ReturnType<typeof fakeHost>) => {
      fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
      fs.writeFileSync(path.join(h.app, "release/current"), `${OLD}\n`);
      fs.writeFileSync(path.join(h.app, "release/previous"), `${NEW}\n`);
    };
    const running = (h: ReturnType<typeof fakeHost>) => h.reply([[`${RUNNING_SERVICES}$`, "backup\ncaddy"]]);
    record(() => {}, "deploy.sh", ["--version", "v4.16.0"]);
    record((h) => { deployed(h); running(h); fs.appendFileSync(path.join(h.app, "bundle/docker/backup/chatwoot-backup"), "#\n"); }, "deploy.sh", ["--version", "v4.16.0"]);
    record(deployed, "deploy.sh", ["--version", "v4.16.0"], { fail: " up -d --wait --remove-orphans$" });
    record(deployed, "rollback.sh", ["--yes"]);
    const serving = (h: ReturnType<typeof fakeHost>) => {
      deployed(h);
      h.reply([[`${RUNNING_SERVICES}$`, "backup\ncaddy\nrails"]]);
    };
    record(serving, "deploy.sh", ["--version", "v4.16.0"]);
    record(serving, "deploy.sh", ["--version", "v4.16.0"], { fail: "--no-deps rails-surge$" });
    record(serving, "rollback.sh", ["--yes"]);
    record(deployed, "backup.sh", ["database"]);
    record(deployed, "restore.sh", ["--yes", "--snapshot", "latest"]);
    record(deployed, "restore.sh", ["--before-deploy", "--snapshot", "latest"]);
    record(deployed, "bootstrap.sh", [], { input: "{}" });
    // Captain's key changed: Rails and Sidekiq are recreated for it.
    const captain = JSON.stringify({
      account: { name: "Acme", locale: "en" },
      admin: { email: "ops@example.com", name: "Ops", password: "Initial!Passw0rd" },
      inbox: { name: "API" },
      disable_features: [],
      installation_configs: { CAPTAIN_OPEN_AI_API_KEY: "sk-test-0123456789abcdefghij" },
    });
    record(deployed, "bootstrap.sh", [], { input: captain });
    expect([...calls].filter((c) => c.includes("--force-recreate")).map((c) => c.replace(/^.* up /, "up "))).toEqual(
      expect.arrayContaining(["up -d --wait --no-deps --force-recreate rails", "up -d --wait --no-deps --force-recreate sidekiq"]),
    );
    expect(calls.size).toBeGreaterThan(15);
    // The scenarios above did reach the web-tier switch and the backup service's restart.
    expect([...calls].some((c) => c.endsWith(" up -d --wait --no-deps rails-surge"))).toBe(true);
    expect([...calls].some((c) => c.endsWith(" up -d --wait --no-deps --force-recreate backup"))).toBe(true);

    const host = fakeHost();
    try {
      // What compose.sh writes (the scoped env files, live/), for the project to load.
      deployed(host);
      expect(host.exec("compose.sh", ["version"]).status).toBe(0);
      const refused: string[] = [];
      for (const call of calls) {
        const m = /^CHATWOOT_IMAGE=(\S*) compose (.*)$/.exec(call.replaceAll("@APP@", host.app));
        if (!m) continue;
        const r = run(composeBin, m[2]!.split(" "), {
          env: {
            PATH: process.env.PATH,
            HOME: host.root,
            DOCKER_HOST: `unix://${host.root}/no-engine.sock`,
            CHATWOOT_IMAGE: m[1] || "chatwoot/chatwoot:v4.15.1",
            CHATWOOT_ENV_FILE: path.join(host.app, ".env"),
            CHATWOOT_APP_ENV_FILE: path.join(host.app, "env/app.env"),
            CHATWOOT_BACKUP_ENV_FILE: path.join(host.app, "env/backup.env"),
            CHATWOOT_LIVE_DIR: path.join(host.app, "live"),
            COMPOSE_PROFILES: "backup",
          },
        });
        const text = r.stdout + r.stderr;
        // Parsed, the project loaded, and only the missing engine stopped it (or it needed none).
        if (r.status !== 0 && !/Cannot connect to the Docker daemon/.test(text)) {
          refused.push(`${m[2]} → ${text.trim().split("\n")[0]}`);
        }
      }
      expect(refused).toEqual([]);
    } finally {
      host.cleanup();
    }
  });
});
