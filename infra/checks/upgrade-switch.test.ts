/**
 * An upgrade serves every request: deploy.sh's web-tier switch, run for real against Caddy and
 * stand-in Rails processes under a steady load (infra/test/upgrade-rig.ts). It counts failed
 * requests; it does not time anything (`npm run bench` reports the latency).
 */
import { expect, it } from "vitest";
import { upgradeUnderLoad } from "../test/upgrade-rig";
import { describeWithTools } from "../test/tools";

describeWithTools("an upgrade under load, through real Caddy", ["go", "curl"], () => {
  it("switches from v4.15.1 to v4.16.0 with no failed request", async () => {
    const r = await upgradeUnderLoad({ mode: "deploy", concurrency: 2, warmup: 40, bootMs: 1500 });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // Both releases answered, so the load really ran across the switch.
    expect(r.releases).toEqual(["v4.15.1", "v4.16.0"]);
    expect(r.requests).toBeGreaterThan(80);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
  });

  it("a migration that changes the schema under the old release fails no request: prepared statements are off", async () => {
    const r = await upgradeUnderLoad({ mode: "deploy", schemaChange: true, concurrency: 2, warmup: 40, bootMs: 1500 });
    expect(r.status).toBe(0);
    expect(r.releases).toEqual(["v4.15.1", "v4.16.0"]);
    expect(r.failures).toEqual([]);
    expect(r.failed).toBe(0);
  });

  it("with prepared statements on (the env before), the same migration costs a transaction per connection: the count can fail", async () => {
    const r = await upgradeUnderLoad({ mode: "deploy", schemaChange: true, preparedStatements: true, concurrency: 2, warmup: 40, bootMs: 1500 });
    expect(r.status).toBe(0);
    expect(r.releases).toEqual(["v4.15.1", "v4.16.0"]);
    // The old release keeps serving on the new schema while the new one boots beside it: its 5
    // pooled connections fail a POST each (PreparedStatementCacheExpired).
    expect(r.failures.every((f) => f.startsWith("500 POST"))).toBe(true);
    expect(r.failed).toBeGreaterThan(0);
    expect(r.failed).toBeLessThanOrEqual(5);
  });

  it("where recreating Rails in place (the previous deploy) fails requests: the count can fail", async () => {
    const r = await upgradeUnderLoad({ mode: "recreate", concurrency: 2, warmup: 40, bootMs: 1500 });
    expect(r.status).toBe(0);
    expect(r.releases).toEqual(["v4.15.1", "v4.16.0"]);
    expect(r.failed).toBeGreaterThan(0);
  });
});
