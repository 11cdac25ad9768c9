/**
 * manifests.yaml: every Kubernetes object the program registers, as the offline plan evaluated it,
 * one YAML document each, with every secret value masked (a Secret's keys stay visible). The plan's
 * `--out` writes it, `--diff` compares it, and the dry-run test sends it to a real kube-apiserver.
 * Pure.
 */
import { stringify } from "yaml";
import { isSecretValue, isUnknownValue, type PlannedResource } from "../plan/engine";

export const MASKED = "<secret>";
export const UNKNOWN = "<known after apply>";

/** Masks secrets and marks unknowns; a secret map (a Secret's data) keeps its keys. */
function mask(v: unknown, keepKeys = false): unknown {
  if (isSecretValue(v)) {
    const inner = v.value;
    if (keepKeys && inner && typeof inner === "object" && !Array.isArray(inner)) {
      return Object.fromEntries(Object.keys(inner).sort().map((k) => [k, MASKED]));
    }
    return MASKED;
  }
  if (isUnknownValue(v)) return UNKNOWN;
  if (Array.isArray(v)) return v.map((x) => mask(x));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x, k === "stringData" || k === "data")]));
  return v;
}

/** The objects of the evaluated program, masked, in the order they were registered. */
export function kubernetesObjects(resources: readonly PlannedResource[]): Record<string, unknown>[] {
  return resources
    .filter((r) => r.custom && !r.read && r.type.startsWith("kubernetes:"))
    .map((r) => {
      const { apiVersion, kind, metadata, ...rest } = mask(r.inputs) as Record<string, unknown>;
      // Secret data is written base64-encoded by the server; stringData is what the program gives.
      return { apiVersion, kind, metadata, ...rest };
    });
}

/** What the plan says of values derived from generated secrets. */
export const MANIFESTS_NOTE =
  "Values derived from generated secrets (checksum annotations, the bootstrap Job's name) are stand-ins; pulumi up computes the real ones.";

export function renderManifests(resources: readonly PlannedResource[], note?: string): string {
  const header = [
    "# Every Kubernetes object this stack registers, secrets masked (offline plan: nothing was contacted).",
    ...(note ? [`# ${note}`] : []),
  ].join("\n");
  const docs = kubernetesObjects(resources).map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd());
  return `${header}\n---\n${docs.join("\n---\n")}\n`;
}
