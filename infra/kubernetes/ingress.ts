/**
 * The site's edge on the cluster: Traefik Middlewares and an IngressRoute with the guarantees the
 * server target's Caddyfile gives, and a cert-manager Certificate for its TLS. Pure renderers.
 *
 * Rule by rule, as docker/Caddyfile (infra/kubernetes/edge-rules.test.ts compares the two sets):
 * - X-Frame-Options removed, and with chatwoot:embedAllowedOrigins a frame-ancestors policy, on
 *   everything but /widget, whose framing headers Chatwoot sets per inbox;
 * - Strict-Transport-Security everywhere;
 * - /installation refused (Traefik has no static response: an IP allow list no client matches
 *   answers 403; Caddy answers 404);
 * - /super_admin and /monitoring/sidekiq only from chatwoot:adminAllowedCidrs, when narrowed;
 * - client-sent Forwarded, X-Real-Ip, Client-Ip and True-Client-Ip dropped (Traefik sets
 *   X-Forwarded-For and X-Real-Ip itself from the connection, which the load balancer's proxy
 *   protocol makes the client's own);
 * - websockets on /cable: Traefik passes upgrades on every route.
 * A plain Ingress cannot express header removal or a refused path, so there is no Ingress
 * fallback: on another ingress controller, these rules must be written for it (docs/kubernetes.md).
 */
import type { CustomObject } from "./data";
import { labelsFor, type KubernetesNames } from "./names";
import { chatwoot } from "../facts/chatwoot";
import { opensEverything } from "../chatwoot/env";

export interface EdgeInput {
  names: KubernetesNames;
  stackLabel: string;
  domain: string;
  helpCenterDomain?: string;
  embedAllowedOrigins: string[];
  /** Who may reach the admin paths; undefined or everything: no restriction. */
  adminAllowedCidrs?: string[];
  clusterIssuer: string;
  entryPoint: string;
}

/** Client-sent address headers Rails would otherwise believe (docker/Caddyfile's header_up list). */
export const CLIENT_ADDRESS_HEADERS = ["Forwarded", "X-Real-Ip", "Client-Ip", "True-Client-Ip"] as const;
export const HSTS_SECONDS = 31536000;
/** An address no TCP client can have: an allow list of only it refuses everyone (403). */
export const NOBODY = "255.255.255.255/32";

export const MIDDLEWARES = {
  stripClientAddress: "chatwoot-strip-client-address",
  hsts: "chatwoot-hsts",
  framePolicy: "chatwoot-frame-policy",
  refuse: "chatwoot-refuse",
  adminNetworks: "chatwoot-admin-networks",
} as const;

/** The server's rule: both families open, or none given, is no restriction. */
const unrestricted = (cidrs: string[] | undefined) => !cidrs || cidrs.length === 0 || opensEverything(cidrs);

function middleware(i: EdgeInput, name: string, spec: Record<string, unknown>): CustomObject {
  return { apiVersion: "traefik.io/v1alpha1", kind: "Middleware", metadata: { name, namespace: i.names.namespace, labels: labelsFor("edge", i.stackLabel) }, spec };
}

export function renderMiddlewares(i: EdgeInput): CustomObject[] {
  const frame: Record<string, unknown> = { customResponseHeaders: { "X-Frame-Options": "" } };
  if (i.embedAllowedOrigins.length > 0) frame.contentSecurityPolicy = `frame-ancestors 'self' ${i.embedAllowedOrigins.join(" ")}`;
  return [
    // An empty value removes the header (Traefik's headers middleware).
    middleware(i, MIDDLEWARES.stripClientAddress, { headers: { customRequestHeaders: Object.fromEntries(CLIENT_ADDRESS_HEADERS.map((h) => [h, ""])) } }),
    middleware(i, MIDDLEWARES.hsts, { headers: { stsSeconds: HSTS_SECONDS } }),
    middleware(i, MIDDLEWARES.framePolicy, { headers: frame }),
    middleware(i, MIDDLEWARES.refuse, { ipAllowList: { sourceRange: [NOBODY] } }),
    ...(unrestricted(i.adminAllowedCidrs) ? [] : [middleware(i, MIDDLEWARES.adminNetworks, { ipAllowList: { sourceRange: i.adminAllowedCidrs } })]),
  ];
}

const pathRule = (paths: string[]) => paths.map((p) => `Path(\`${p}\`) || PathPrefix(\`${p}/\`)`).join(" || ");

export function renderIngressRoute(i: EdgeInput): CustomObject {
  const hosts = [i.domain, ...(i.helpCenterDomain ? [i.helpCenterDomain] : [])].map((h) => `Host(\`${h}\`)`).join(" || ");
  const ns = i.names.namespace;
  const ref = (name: string) => ({ name, namespace: ns });
  const service = [{ name: i.names.webService, namespace: ns, port: chatwoot.railsPort }];
  const base = [ref(MIDDLEWARES.stripClientAddress), ref(MIDDLEWARES.hsts)];
  const route = (match: string, priority: number, middlewares: { name: string; namespace: string }[]) => ({ kind: "Rule", match, priority, middlewares, services: service });
  const admin = !unrestricted(i.adminAllowedCidrs);
  return {
    apiVersion: "traefik.io/v1alpha1",
    kind: "IngressRoute",
    metadata: { name: i.names.ingressRoute, namespace: ns, labels: labelsFor("edge", i.stackLabel) },
    spec: {
      entryPoints: [i.entryPoint],
      routes: [
        // The frame policy too, so that every route but /widget has it (a refused answer has nothing to frame).
        route(`(${hosts}) && (${pathRule(["/installation"])})`, 400, [...base, ref(MIDDLEWARES.framePolicy), ref(MIDDLEWARES.refuse)]),
        ...(admin ? [route(`(${hosts}) && (${pathRule(["/super_admin", "/monitoring/sidekiq"])})`, 300, [...base, ref(MIDDLEWARES.framePolicy), ref(MIDDLEWARES.adminNetworks)])] : []),
        route(`(${hosts}) && (${pathRule(["/widget"])})`, 200, base),
        route(hosts, 100, [...base, ref(MIDDLEWARES.framePolicy)]),
      ],
      tls: { secretName: i.names.tlsSecret },
    },
  };
}

export function renderCertificate(i: EdgeInput): CustomObject {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: i.names.certificate, namespace: i.names.namespace, labels: labelsFor("edge", i.stackLabel) },
    spec: {
      secretName: i.names.tlsSecret,
      dnsNames: [i.domain, ...(i.helpCenterDomain ? [i.helpCenterDomain] : [])],
      issuerRef: { kind: "ClusterIssuer", name: i.clusterIssuer, group: "cert-manager.io" },
    },
  };
}
