#!/usr/bin/env bash
# Destroys a Kubernetes stack and the cluster stack under it in the order that leaves nothing
# billed (docs/cluster.md, "Destroying without leaving anything billed"): the load balancer and the
# volumes belong to the cluster's controllers, not to Pulumi, so they must go while the cluster
# still runs them.
#
#   npm run cluster:destroy -- --app <kubernetes stack> --cluster <cluster stack> [--yes]
#
# 1. destroys the Kubernetes stack (its Services and PVCs with it);
# 2. deletes k3s's Traefik (its LoadBalancer Service: the cloud controller deletes the LB) and
#    every PersistentVolume left (reclaim policy Retain: their Hetzner volumes);
# 3. waits until the cluster's controllers report neither left;
# 4. destroys the cluster stack.
# It stops at the first step that fails, saying which, so that nothing is destroyed out of order.
# Needs pulumi and kubectl; the kubeconfig comes from the cluster stack's output (on stdin of a
# temporary file readable only by you, deleted on exit). Exit: 0 done, 1 a step failed, 2 usage.
set -euo pipefail

app="" cluster="" yes=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --app) app=${2:-}; shift 2 ;;
    --cluster) cluster=${2:-}; shift 2 ;;
    --yes) yes=1; shift ;;
    *) echo "cluster-destroy.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$app" || -z "$cluster" ]]; then
  echo "usage: cluster-destroy.sh --app <kubernetes stack> --cluster <cluster stack> [--yes]" >&2
  exit 2
fi
for tool in pulumi kubectl; do
  command -v "$tool" >/dev/null || { echo "cluster-destroy.sh: $tool is not installed" >&2; exit 1; }
done
step() { printf '==> %s\n' "$*"; }
fail() { echo "cluster-destroy.sh: $*; nothing after this step was done" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(umask 077 && pulumi stack output --stack "$cluster" --show-secrets kubeconfig >"$work/kubeconfig") ||
  fail "could not read the kubeconfig output of stack $cluster"
export KUBECONFIG="$work/kubeconfig"
confirm=()
[[ -n "$yes" ]] && confirm=(--yes --skip-preview)

step "1/4 destroying the Kubernetes stack $app"
pulumi destroy --stack "$app" "${confirm[@]}" ||
  fail "pulumi destroy --stack $app failed (a protected database needs: pulumi state unprotect --stack $app --all)"

step "2/4 deleting Traefik's load balancer and the volumes left behind"
kubectl -n kube-system delete helmchart traefik --ignore-not-found --wait=true || fail "could not delete Traefik's HelmChart"
kubectl -n kube-system delete service traefik --ignore-not-found --wait=true || fail "could not delete Traefik's Service"
kubectl delete pvc --all --all-namespaces --wait=true || fail "could not delete the PersistentVolumeClaims"
kubectl delete pv --all --wait=true || fail "could not delete the PersistentVolumes"

step "3/4 waiting until no LoadBalancer Service and no PersistentVolume is left"
for _ in $(seq 60); do
  lbs=$(kubectl get services --all-namespaces -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.name}{"\n"}{end}' | grep -c . || true)
  pvs=$(kubectl get pv -o name | grep -c . || true)
  [[ "$lbs" -eq 0 && "$pvs" -eq 0 ]] && break
  sleep 5
done
[[ "$lbs" -eq 0 && "$pvs" -eq 0 ]] ||
  fail "$lbs LoadBalancer Service(s) and $pvs PersistentVolume(s) are still there; the cluster stack was not destroyed"

step "4/4 destroying the cluster stack $cluster"
pulumi destroy --stack "$cluster" "${confirm[@]}" || fail "pulumi destroy --stack $cluster failed"
step "done: check the Hetzner project (hcloud load-balancer list; hcloud volume list) for anything created outside these stacks"
