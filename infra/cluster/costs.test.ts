/** The README's cost table: its server sums are the facts file's, at the targets' default sizes. */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { defaultServerType } from "../facts/hetzner";
import { serversMonthlyEur } from "../facts/prices";
import { clusterSchema } from "../config/cluster";
import { repoRoot } from "../lib/repo";

it("states the monthly server cost of one server and of the cluster at their defaults", () => {
  const readme = fs.readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const row = readme.split("\n").find((l) => l.startsWith("| servers at default sizes, per month |"))!;
  const d = clusterSchema.parse({ acmeEmail: "ops@example.com" });
  const server = serversMonthlyEur([defaultServerType("nbg1")]);
  const cluster = serversMonthlyEur([d.controlPlaneType, ...Array(d.agents).fill(d.agentType)]);
  const ha = serversMonthlyEur([...Array(3).fill(d.controlPlaneType), ...Array(d.agents).fill(d.agentType)]);
  expect([server, cluster, ha].every((x) => x !== undefined)).toBe(true);
  expect(row).toContain(`1 × ${defaultServerType("nbg1")}: **€${server!.toFixed(2)}**`);
  expect(row).toContain(`1 × ${d.controlPlaneType} + ${d.agents} × ${d.agentType}: **€${cluster!.toFixed(2)}**`);
  expect(row).toContain(`with 3 control planes (HA): **€${ha!.toFixed(2)}**`);
});
