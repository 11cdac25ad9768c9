/**
 * Facts the cluster target (a k3s cluster on Hetzner Cloud) relies on, each naming its source.
 * Versions are pinned here and nowhere else; an upgrade is a change of this file and the
 * documented one-node-at-a-time procedure (docs/cluster.md).
 */
import type { Location } from "./hetzner";

/**
 * k3s, installed from its GitHub release (k3s-io/k3s) and checked against the sha256 pinned here,
 * not against a checksum file fetched from the same place as the binary (which catches a corrupt
 * download, not a replaced release). v1.36: the Kubernetes minor the cloud controller manager 1.35
 * supports (its version policy: 1.33 to 1.36). v1.36.3+k3s1 was released after the release notes
 * read here (v1.36.0 to v1.36.2); that its binary is published under this tag was read from a
 * distribution's package of it, which fetches releases/download/v1.36.3+k3s1/k3s.
 * `binarySha256`: the linux/amd64 `k3s` asset's line of that release's sha256sum-amd64.txt. The
 * release page could not be read here; the value is the one several independent projects pin for
 * this release (Dockerfiles, Terraform version manifests and install scripts, each naming it as
 * the `k3s` amd64 binary of v1.36.3+k3s1, beside the same arm64 value), and no source read gave
 * another. `helmController` is the helm-controller k3s v1.36.0 to v1.36.2 embed (their release
 * notes); the dry-run tests apply its CRDs, the stricter of the two served versions.
 */
export const K3S = {
  version: "v1.36.3+k3s1",
  binarySha256: "2f98a9f8fe5782479ee2d54e70a1b10a7f6fd4cae8d38ed3098452dc6eed76b5",
  releaseUrl: "https://github.com/k3s-io/k3s/releases/download",
  helmController: "v0.17.1",
} as const;

/**
 * The add-ons, as k3s's helm-controller installs them from HelmChart manifests. Repositories and
 * chart names from each project's install docs; chart versions as each index lists them for the
 * pinned application version.
 */
export const ADDONS = {
  // hetznercloud/hcloud-cloud-controller-manager: chart version = application version.
  ccm: { repo: "https://charts.hetzner.cloud", chart: "hcloud-cloud-controller-manager", version: "1.35.0", namespace: "kube-system" },
  // hetznercloud/csi-driver: chart version = application version; StorageClass hcloud-volumes.
  csi: { repo: "https://charts.hetzner.cloud", chart: "hcloud-csi", version: "2.22.1", namespace: "kube-system" },
  // cert-manager's chart (charts.jetstack.io): chart version = application version.
  certManager: { repo: "https://charts.jetstack.io", chart: "cert-manager", version: "v1.21.1", namespace: "cert-manager" },
  // cloudnative-pg/charts, charts/cloudnative-pg/Chart.yaml: version 0.29.0, appVersion 1.30.0.
  cnpg: { repo: "https://cloudnative-pg.github.io/charts", chart: "cloudnative-pg", version: "0.29.0", namespace: "cnpg-system" },
  // cloudnative-pg/charts, plugin-barman-cloud (needs CNPG >= 1.26 and cert-manager). Chart 0.7.0
  // carries plugin v0.13.0 (2026-06-10); 0.8.1 (2026-09-30) is the newest release read, and its
  // appVersion was not. So the plugin's images are pinned by tag, as the plugin's own 0.14.0
  // installation guide does (`image.tag` and `sidecarImage.tag`, both keys of the chart's
  // values.yaml): the plugin runs v0.14.0 whatever the chart's default.
  barmanPlugin: { repo: "https://cloudnative-pg.github.io/charts", chart: "plugin-barman-cloud", version: "0.8.1", namespace: "cnpg-system", pluginVersion: "v0.14.0" },
} as const;

/** The private network: nodes on 10.0.1.0/24; k3s's own pod and service ranges stay its defaults (10.42/16, 10.43/16). */
export const NETWORK = { range: "10.0.0.0/16", subnet: "10.0.1.0/24" } as const;

/** Hetzner's network zone of each location (docs.hetzner.cloud, Networks: network zones). */
export const NETWORK_ZONES: Readonly<Record<Location, string>> = {
  fsn1: "eu-central",
  nbg1: "eu-central",
  hel1: "eu-central",
  ash: "us-east",
  hil: "us-west",
  sin: "ap-southeast",
};

/** The taint that keeps application pods off the control-plane servers (k3s's node-taint). */
export const CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule";

/** Where k3s reads its config, its drop-ins, and the manifests its deploy controller applies (k3s docs). */
export const K3S_PATHS = {
  config: "/etc/rancher/k3s/config.yaml",
  configDropIns: "/etc/rancher/k3s/config.yaml.d",
  manifests: "/var/lib/rancher/k3s/server/manifests",
  kubeconfig: "/etc/rancher/k3s/k3s.yaml",
  binary: "/usr/local/bin/k3s",
} as const;

/** Traefik's Service annotations for the Hetzner load balancer (hcloud-cloud-controller-manager docs, load_balancer_annotations.md). */
export const LB_ANNOTATIONS = {
  location: "load-balancer.hetzner.cloud/location",
  usePrivateIp: "load-balancer.hetzner.cloud/use-private-ip",
  proxyProtocol: "load-balancer.hetzner.cloud/uses-proxyprotocol",
  name: "load-balancer.hetzner.cloud/name",
} as const;
