/**
 * Chatwoot's web and Sidekiq tiers as Kubernetes objects: Deployments, the web Service and the
 * PodDisruptionBudgets. Pure renderers (config in, plain objects out), tested as data. Commands,
 * probes and paths are Chatwoot's (its Dockerfile's entrypoints and the official chart 2.0.23,
 * read for facts); grace periods, spread and budgets are this project's.
 */
import type * as k8s from "@pulumi/kubernetes";
import { chatwoot } from "../facts/chatwoot";
import { images, SIDEKIQ_GRACE_SECONDS, SIDEKIQ_SHUTDOWN_SECONDS, WEB_GRACE_SECONDS, WEB_PRESTOP_SECONDS } from "../facts/kubernetes";
import type { KubernetesConfig } from "../config/kubernetes";
import { labelsFor, selectorFor, type KubernetesNames } from "./names";

type Deployment = k8s.types.input.apps.v1.Deployment;
type Container = k8s.types.input.core.v1.Container;

export interface WorkloadInput {
  names: KubernetesNames;
  /** The stack's label value (config/names.ts). */
  stackLabel: string;
  version: string;
  tiers: Pick<KubernetesConfig, "web" | "sidekiq">;
  /** secretChecksum of the app Secret: a changed Secret rolls every pod. */
  envChecksum: string;
}

/** The annotation carrying the app Secret's checksum. */
export const ENV_CHECKSUM_ANNOTATION = "chatwoot.hetzner/app-env-checksum";

/** FORCE_SSL answers plain-http probes with a redirect unless the proxy header says https. */
const httpsHeader = [{ name: "X-Forwarded-Proto", value: "https" }];

function appContainer(i: WorkloadInput, name: string, t: { cpu: string; memory: string }): Container {
  return {
    name,
    image: images.chatwoot(i.version),
    imagePullPolicy: "IfNotPresent",
    envFrom: [{ secretRef: { name: i.names.appEnvSecret } }],
    // The memory request is the limit: a process that outgrows it is restarted, not its neighbours.
    resources: { requests: { cpu: t.cpu, memory: t.memory }, limits: { memory: t.memory } },
    securityContext: { allowPrivilegeEscalation: false },
    volumeMounts: [{ name: "tmp", mountPath: "/app/tmp" }],
  };
}

/** One replica per node where possible; a node that cannot take one does not block a rollout. */
function spread(selector: Record<string, string>) {
  return [
    { maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
    { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
  ];
}

function podMeta(i: WorkloadInput, component: string) {
  return { labels: labelsFor(component, i.stackLabel), annotations: { [ENV_CHECKSUM_ANNOTATION]: i.envChecksum } };
}

/** A tier's Deployment: one container, its grace period, spread over nodes and zones. */
function tierDeployment(i: WorkloadInput, tier: "web" | "sidekiq", graceSeconds: number, container: Container): Deployment {
  const selector = selectorFor(tier, i.stackLabel);
  return {
    metadata: { name: i.names[tier], namespace: i.names.namespace, labels: labelsFor(tier, i.stackLabel) },
    spec: {
      replicas: i.tiers[tier].replicas,
      selector: { matchLabels: selector },
      // A new pod is ready before an old one stops: never fewer ready pods than replicas.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: podMeta(i, tier),
        spec: {
          terminationGracePeriodSeconds: graceSeconds,
          topologySpreadConstraints: spread(selector),
          containers: [container],
          volumes: [{ name: "tmp", emptyDir: {} }],
        },
      },
    },
  };
}

export function renderWebDeployment(i: WorkloadInput): Deployment {
  const port = chatwoot.railsPort;
  return tierDeployment(i, "web", WEB_GRACE_SECONDS, {
    ...appContainer(i, "rails", i.tiers.web),
    command: ["docker/entrypoints/rails.sh"],
    args: ["bundle", "exec", "rails", "s", "-p", String(port), "-b", "0.0.0.0"],
    ports: [{ name: "http", containerPort: port }],
    // Rails boots in about a minute on a cold node: up to 10 minutes before liveness counts.
    startupProbe: { httpGet: { path: "/health", port, httpHeaders: httpsHeader }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 60 },
    livenessProbe: { httpGet: { path: "/health", port, httpHeaders: httpsHeader }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 3 },
    readinessProbe: { httpGet: { path: "/api", port, httpHeaders: httpsHeader }, periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
    // Endpoints are removed asynchronously: keep serving while the proxies catch up.
    lifecycle: { preStop: { sleep: { seconds: WEB_PRESTOP_SECONDS } } },
  });
}

export function renderSidekiqDeployment(i: WorkloadInput): Deployment {
  // Sidekiq's -t, plus time to exit: unfinished jobs go back to Redis before SIGKILL.
  return tierDeployment(i, "sidekiq", SIDEKIQ_GRACE_SECONDS, {
    ...appContainer(i, "sidekiq", i.tiers.sidekiq),
    command: ["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml", "-t", String(SIDEKIQ_SHUTDOWN_SECONDS)],
    // Sidekiq renames its process to "sidekiq <version> …" (as the server target checks it).
    livenessProbe: { exec: { command: ["sh", "-c", "ps -o args | grep -q '^sidekiq'"] }, initialDelaySeconds: 120, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 },
  });
}

export function renderWebService(i: Pick<WorkloadInput, "names" | "stackLabel">): k8s.types.input.core.v1.Service {
  return {
    metadata: { name: i.names.webService, namespace: i.names.namespace, labels: labelsFor("web", i.stackLabel) },
    spec: { type: "ClusterIP", selector: selectorFor("web", i.stackLabel), ports: [{ name: "http", port: chatwoot.railsPort, targetPort: "http" }] },
  };
}

/** A drain or an upgrade of the nodes never takes the last ready pod of a tier. */
export function renderDisruptionBudget(i: Pick<WorkloadInput, "names" | "stackLabel">, component: "web" | "sidekiq"): k8s.types.input.policy.v1.PodDisruptionBudget {
  return {
    metadata: { name: `chatwoot-${component}`, namespace: i.names.namespace, labels: labelsFor(component, i.stackLabel) },
    spec: { minAvailable: 1, selector: { matchLabels: selectorFor(component, i.stackLabel) } },
  };
}
