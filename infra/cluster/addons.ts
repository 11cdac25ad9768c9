/**
 * The cluster's add-ons as k3s HelmChart manifests, which k3s's helm-controller installs from
 * /var/lib/rancher/k3s/server/manifests on the first control-plane server (written by cloud-init),
 * and the Secret the Hetzner controllers read (applied over SSH, on stdin: it holds the token).
 *
 * Why manifests and not `helm.v4.Chart`: a chart needs the cluster's kubeconfig at preview time,
 * which does not exist before the servers do; the cluster stack would preview incompletely and
 * need a Kubernetes provider. kube-hetzner chose the same for the same reason: its add-ons
 * (hcloud CCM and CSI among them) are HelmChart manifests applied by k3s, with `bootstrap: true`
 * for the cloud controller, which must run before any node is initialised. Pure renderers.
 */
import { stringify } from "yaml";
import { ADDONS, LB_ANNOTATIONS, NETWORK } from "../facts/cluster";

type Obj = Record<string, unknown>;

/** The Secret name and keys the hcloud CCM and CSI charts read by default (their values.yaml). */
export const HCLOUD_SECRET = { name: "hcloud", namespace: "kube-system" } as const;

function helmChart(name: string, a: (typeof ADDONS)[keyof typeof ADDONS], values: Obj, extra: Obj = {}): Obj {
  return {
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name, namespace: "kube-system" },
    spec: { repo: a.repo, chart: a.chart, version: a.version, targetNamespace: a.namespace, createNamespace: true, valuesContent: stringify(values), ...extra },
  };
}

export interface AddonSettings {
  location: string;
  /** The name Hetzner shows for the ingress load balancer. */
  loadBalancerName: string;
  acmeEmail: string;
}

export function renderAddons(s: AddonSettings): Obj[] {
  return [
    // bootstrap: the cloud controller initialises nodes, so it must run before any node is ready
    // (helm-controller then installs it with host networking and the uninitialised-node tolerations).
    helmChart("hcloud-cloud-controller-manager", ADDONS.ccm, { networking: { enabled: true, clusterCIDR: "10.42.0.0/16" } }, { bootstrap: true }),
    helmChart("hcloud-csi", ADDONS.csi, { storageClasses: [{ name: "hcloud-volumes", defaultStorageClass: true, reclaimPolicy: "Retain" }] }),
    helmChart("cert-manager", ADDONS.certManager, { crds: { enabled: true } }),
    helmChart("cloudnative-pg", ADDONS.cnpg, { config: { clusterWide: true } }),
    // The plugin's version is pinned here, not left to the chart's appVersion (see facts/cluster.ts).
    helmChart("plugin-barman-cloud", ADDONS.barmanPlugin, {
      image: { tag: ADDONS.barmanPlugin.pluginVersion },
      sidecarImage: { tag: ADDONS.barmanPlugin.pluginVersion },
    }),
    {
      // k3s's own Traefik, told where its load balancer is and whom to trust for client addresses.
      apiVersion: "helm.cattle.io/v1",
      kind: "HelmChartConfig",
      metadata: { name: "traefik", namespace: "kube-system" },
      spec: {
        valuesContent: stringify({
          service: {
            annotations: {
              [LB_ANNOTATIONS.location]: s.location,
              [LB_ANNOTATIONS.usePrivateIp]: "true",
              [LB_ANNOTATIONS.proxyProtocol]: "true",
              [LB_ANNOTATIONS.name]: s.loadBalancerName,
            },
          },
          // Proxy protocol only from the private network, where the load balancer's targets are:
          // Rails then sees the client's address, and nobody else can claim one.
          ports: {
            web: { proxyProtocol: { trustedIPs: [NETWORK.range] } },
            websecure: { proxyProtocol: { trustedIPs: [NETWORK.range] } },
          },
        }),
      },
    },
    {
      apiVersion: "cert-manager.io/v1",
      kind: "ClusterIssuer",
      metadata: { name: "letsencrypt" },
      spec: {
        acme: {
          email: s.acmeEmail,
          server: "https://acme-v02.api.letsencrypt.org/directory",
          privateKeySecretRef: { name: "letsencrypt-account-key" },
          solvers: [{ http01: { ingress: { ingressClassName: "traefik" } } }],
        },
      },
    },
  ];
}

/** One file per object, as k3s's manifests directory takes them. */
export function addonManifestFiles(s: AddonSettings): Record<string, string> {
  return Object.fromEntries(renderAddons(s).map((o) => [`chatwoot-${String((o.metadata as Obj).name)}-${String(o.kind).toLowerCase()}.yaml`, stringify(o)]));
}

/** The controllers' token and the private network's id, as the CCM (networking) and CSI read them. */
export function renderHcloudSecret(token: string, networkId: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Secret",
    metadata: HCLOUD_SECRET,
    type: "Opaque",
    stringData: { token, network: networkId },
  });
}
