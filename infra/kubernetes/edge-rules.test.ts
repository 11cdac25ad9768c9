/**
 * The cluster's edge (Traefik Middlewares and IngressRoute) must give the guarantees of the server
 * target's Caddyfile. Both are turned into one rule set ("where | what"): the Caddyfile through the
 * real Caddy's `caddy adapt` (the JSON it runs), the Traefik objects from the renderers. The sets
 * are compared, not the texts, so a rule added to either side without the other fails here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { caddyBinary } from "../test/caddy";
import { describeWithTools, run, tempDir } from "../test/tools";
import { NOBODY, renderIngressRoute, renderMiddlewares, type EdgeInput } from "./ingress";
import { kubernetesNames } from "./names";

type Json = any;
const EVERYWHERE = "everywhere";
const BUT_WIDGET = "everywhere but /widget";

/** Caddy's path list as one scope: /x and /x/* are one path. */
const pathScope = (paths: string[]) => [...new Set(paths.map((p) => p.replace(/\/\*$/, "")))].join(" ");
/** Caddy's default (compose.yaml) when the env file narrows nothing: both families. */
const everyone = (cidrs: string[]) => cidrs.includes("0.0.0.0/0") && cidrs.includes("::/0");

/** The rules of the site block of an adapted Caddyfile. */
function caddyRules(adapted: Json): Set<string> {
  const rules = new Set<string>();
  const servers = Object.values(adapted.apps.http.servers) as Json[];
  // The site block: the route that proxies to Rails (the other one is the loopback health check).
  const site = servers.flatMap((s) => s.routes).find((r: Json) => r.match?.[0]?.host && JSON.stringify(r.handle).includes('"reverse_proxy"'));
  for (const h of site.match[0].host) rules.add(`host ${h}`);
  for (const route of site.handle[0].routes) {
    const m = route.match?.[0] ?? {};
    let scope = EVERYWHERE;
    if (m.not?.[0]?.path) scope = m.not[0].path.some((p: string) => p === "/widget") ? BUT_WIDGET : `all but ${pathScope(m.not[0].path)}`;
    if (m.path) scope = pathScope(m.path);
    const outside = m.not?.[0]?.remote_ip?.ranges as string[] | undefined;
    for (const h of route.handle) {
      if (h.handler === "headers") {
        for (const name of h.response?.delete ?? []) rules.add(`${scope} | response-remove ${name}`);
        for (const [name, [value]] of Object.entries(h.response?.set ?? {}) as [string, string[]][]) rules.add(`${scope} | response-set ${name}: ${value}`);
      } else if (h.handler === "static_response") {
        if (outside) {
          if (!everyone(outside)) rules.add(`${scope} | only from ${[...outside].sort().join(" ")}`);
        } else rules.add(`${scope} | refuse`);
      } else if (h.handler === "reverse_proxy") {
        for (const name of h.headers?.request?.delete ?? []) rules.add(`${scope} | request-remove ${name}`);
      }
    }
  }
  return rules;
}

/** The same rules from the Traefik objects: an effect on every route is "everywhere", and so on. */
function traefikRules(i: EdgeInput): Set<string> {
  const middlewares = new Map(renderMiddlewares(i).map((m) => [m.metadata.name, m.spec as Json]));
  const route = renderIngressRoute(i);
  const rules = new Set<string>();
  const routes = (route.spec.routes as Json[]).map((r) => {
    const paths = [...(r.match as string).matchAll(/Path\(`([^`]+)`\)/g)].map((m) => m[1]!);
    for (const h of (r.match as string).matchAll(/Host\(`([^`]+)`\)/g)) rules.add(`host ${h[1]}`);
    return { scope: paths.length ? pathScope(paths) : "rest", effects: r.middlewares.flatMap((ref: Json) => effects(middlewares.get(ref.name))) as string[] };
  });
  for (const effect of new Set(routes.flatMap((r) => r.effects))) {
    const having = routes.filter((r) => r.effects.includes(effect)).map((r) => r.scope);
    let scope = having.join(" ");
    if (having.length === routes.length) scope = EVERYWHERE;
    else if (having.length === routes.length - 1 && !having.includes("/widget")) scope = BUT_WIDGET;
    rules.add(`${scope} | ${effect}`);
  }
  return rules;
}

function effects(spec: Json): string[] {
  const out: string[] = [];
  const h = spec.headers;
  if (h) {
    for (const [name, v] of Object.entries(h.customResponseHeaders ?? {})) if (v === "") out.push(`response-remove ${name}`);
    for (const [name, v] of Object.entries(h.customRequestHeaders ?? {})) if (v === "") out.push(`request-remove ${name}`);
    if (h.contentSecurityPolicy) out.push(`response-set Content-Security-Policy: ${h.contentSecurityPolicy}`);
    if (h.stsSeconds) out.push(`response-set Strict-Transport-Security: max-age=${h.stsSeconds}`);
  }
  const allow = spec.ipAllowList?.sourceRange as string[] | undefined;
  if (allow) out.push(allow.length === 1 && allow[0] === NOBODY ? "refuse" : `only from ${[...allow].sort().join(" ")}`);
  return out;
}

const cases: { name: string; origins: string[]; adminCidrs?: string[] }[] = [
  { name: "an embed allowlist and narrowed admin networks", origins: ["https://app.example.com", "https://admin.example.com"], adminCidrs: ["198.51.100.0/24", "2001:db8::/32"] },
  { name: "no allowlist, admin paths open to everyone", origins: [] },
  // IPv4 open, IPv6 closed: a restriction on both sides, not "everyone".
  { name: "admin paths from every IPv4 address only", origins: [], adminCidrs: ["0.0.0.0/0"] },
];

describeWithTools("the cluster's edge gives the Caddyfile's guarantees", ["go"], () => {
  const adapt = (caddyfile: string, c: (typeof cases)[number]) => {
    const r = run(caddyBinary(), ["adapt", "--config", caddyfile, "--adapter", "caddyfile"], {
      env: {
        ...process.env,
        CHATWOOT_SITE_ADDRESS: "chat.example.com",
        CHATWOOT_UPSTREAM: "127.0.0.1:3000",
        CHATWOOT_FRAME_MODE: c.origins.length ? "allowlist" : "any",
        CHATWOOT_FRAME_ORIGINS: c.origins.join(" "),
        ...(c.adminCidrs ? { CHATWOOT_ADMIN_CIDRS: c.adminCidrs.join(" ") } : {}),
      },
    });
    if (r.status !== 0) throw new Error(`caddy adapt failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const edge = (c: (typeof cases)[number]): EdgeInput => ({
    names: kubernetesNames("chatwoot"),
    stackLabel: "test",
    domain: "chat.example.com",
    embedAllowedOrigins: c.origins,
    adminAllowedCidrs: c.adminCidrs,
    clusterIssuer: "letsencrypt",
    entryPoint: "websecure",
  });

  for (const c of cases) {
    it(`expresses every rule of the Caddyfile, and no other: ${c.name}`, () => {
      const fromCaddy = caddyRules(adapt(path.join(repoRoot, "docker/Caddyfile"), c));
      const fromTraefik = traefikRules(edge(c));
      expect([...fromTraefik].sort()).toEqual([...fromCaddy].sort());
      expect(fromCaddy.size).toBeGreaterThanOrEqual(c.origins.length ? 10 : 8);
    });
  }

  it("would notice a rule the Caddyfile gains or loses", () => {
    const dir = tempDir("edge-rules");
    try {
      const changed = path.join(dir, "Caddyfile");
      fs.writeFileSync(changed, fs.readFileSync(path.join(repoRoot, "docker/Caddyfile"), "utf8").replace(/^\s*header_up -Client-Ip\n/m, ""));
      const c = cases[0]!;
      expect([...caddyRules(adapt(changed, c))].sort()).not.toEqual([...traefikRules(edge(c))].sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
