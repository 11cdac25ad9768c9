/** Turns an Evaluation into the text a reviewer reads. Pure. */
import { shortHash } from "../lib/hash";
import { isSecretValue, isUnknownValue, type Evaluation, type PlannedResource } from "./engine";
import { factsFor } from "./resource-facts";

const UNKNOWN = "(known after apply)";

/** One input value as a single readable line; secrets never shown. */
export function displayValue(v: unknown): string {
  if (isSecretValue(v)) return "[secret]";
  if (isUnknownValue(v)) return UNKNOWN;
  // An input one side does not have (an imported resource's create-only input, a new setting).
  if (v === undefined) return "(not set)";
  if (typeof v === "string") {
    if (v.includes("\n")) return `<${v.split("\n").length} lines, sha256 ${shortHash(v)}>`;
    return v.length > 100 ? `${v.slice(0, 97)}...` : v;
  }
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null)) {
    return `[${v.map(displayValue).join(", ")}]`;
  }
  const json = JSON.stringify(v, (_k, x) => (isSecretValue(x) ? "[secret]" : isUnknownValue(x) ? UNKNOWN : x));
  return json.length > 160 ? `${json.slice(0, 157)}...` : json;
}

function flags(r: PlannedResource): string {
  const f: string[] = [];
  if (r.options.protect) f.push("protected");
  if (r.options.deleteBeforeReplace) f.push("delete-before-replace");
  if (r.options.ignoreChanges.length) f.push(`ignores changes to ${r.options.ignoreChanges.join(", ")}`);
  if (r.options.deletedWith) f.push(`deleted with ${r.options.deletedWith.split("::")[1]}`);
  return f.length ? `  [${f.join("; ")}]` : "";
}

/** A remote step in a few lines: the script it runs, and its own summary comments. */
export function commandSummary(create: string): string[] {
  const lines = create.split("\n");
  const out: string[] = [];
  if (!lines[0]!.startsWith("set ")) out.push(`runs: ${lines[0]}`);
  else out.push(`runs: inline script (${lines.filter((l) => !l.startsWith("#")).length} lines, sha256 ${shortHash(create)})`);
  for (const l of lines) if (/^# \S/.test(l)) out.push(l);
  return out;
}

export function formatResources(ev: Evaluation): string[] {
  const lines: string[] = [];
  const children = new Map<string | undefined, PlannedResource[]>();
  const components = new Set(ev.resources.filter((r) => !r.custom).map((r) => r.key));
  for (const r of ev.resources) {
    const parent = r.options.parent && components.has(r.options.parent) ? r.options.parent : undefined;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const emit = (r: PlannedResource, depth: number) => {
    const pad = "  ".repeat(depth + 1);
    if (r.read) {
      lines.push(`${pad}> ${r.type}  ${r.name}  (read: must exist)`);
      return;
    }
    lines.push(`${pad}+ ${r.type}  ${r.name}${flags(r)}`);
    const meta = r.type.startsWith("kubernetes:") ? (r.inputs.metadata as { name?: unknown; namespace?: unknown } | undefined) : undefined;
    if (meta?.name !== undefined) lines.push(`${pad}    object: ${meta.namespace === undefined ? "" : `${displayValue(meta.namespace)}/`}${displayValue(meta.name)}`);
    const facts = factsFor(r.type);
    for (const key of facts.show) {
      if (!(key in r.inputs)) continue;
      const v = r.inputs[key];
      if (r.type === "command:remote:Command" && key === "create" && typeof v === "string") {
        for (const l of commandSummary(v)) lines.push(`${pad}    ${l}`);
      } else {
        lines.push(`${pad}    ${key}: ${displayValue(v)}`);
      }
    }
    const forcing = facts.replaceOn.filter((k) => k in r.inputs && !r.options.ignoreChanges.includes(k));
    if (forcing.length) lines.push(`${pad}    replaced if these change: ${forcing.join(", ")}`);
    if (!r.custom) for (const child of children.get(r.key) ?? []) emit(child, depth + 1);
  };
  for (const r of children.get(undefined) ?? []) emit(r, 0);
  return lines;
}

export function formatPlan(stack: string, ev: Evaluation, written?: { dir: string; files: string[] }): string {
  const protectedCount = ev.resources.filter((r) => r.options.protect).length;
  const reads = ev.resources.filter((r) => r.read).length;
  const out: string[] = [
    `Offline plan for stack "${stack}": the real program under Pulumi's mock engine; nothing was contacted.`,
    "",
    `Resources to create: ${ev.resources.length - reads} (${protectedCount} protected)${reads ? `; existing objects read: ${reads}` : ""}`,
    ...formatResources(ev),
    "",
    "Stack outputs:",
    ...Object.entries(ev.outputs).map(
      ([k, v]) => `  ${k}: ${ev.secretOutputs.includes(k) ? "[secret]" : displayValue(v)}`,
    ),
  ];
  out.push("", ev.warnings.length ? "Warnings:" : "Warnings: none");
  for (const w of ev.warnings) out.push(`  ! ${w}`);
  if (written) {
    out.push("", `Rendered artifacts (secrets masked) in ${written.dir}:`, ...written.files.map((f) => `  ${f}`));
  }
  return out.join("\n") + "\n";
}
