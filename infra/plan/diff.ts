/**
 * Compares two plan snapshots and writes what a reviewer needs: replacements first and loudly
 * (with the input that forces each), then creates, deletes and updates; which remote steps will
 * run and why; unified diffs of the files that land on the host, secrets masked. Pure.
 */
import { createTwoFilesPatch } from "diff";
import { parseEnvFile } from "../chatwoot/env-file";
import { displayValue } from "./format";
import type { PlanSnapshot, SnapshotResource } from "./snapshot";
import { factsFor } from "./resource-facts";
import { stepsOfBundleFile, type StepWithFiles } from "../server/step-files";

export interface PlanDiff {
  changed: boolean;
  text: string;
  replaced: string[];
  created: string[];
  deleted: string[];
  updated: string[];
  /** Remote step name → why it runs. */
  steps: Record<string, string[]>;
  /** Every replaced resource as "type::name", remote steps included (for apply-order.ts). */
  replacements: string[];
}

const STEP_TYPE = "command:remote:Command";

/** Top-level input names whose values differ. */
function changedInputs(a: SnapshotResource, b: SnapshotResource): string[] {
  const keys = new Set([...Object.keys(a.inputs), ...Object.keys(b.inputs)]);
  return [...keys].filter((k) => JSON.stringify(a.inputs[k]) !== JSON.stringify(b.inputs[k])).sort();
}

/**
 * Changes the plan can show but Hetzner refuses only when pulumi up applies them, half-way through:
 * the diff refuses them up front (exit 1). Messages name keys and numbers, never secrets.
 */
export function refusedChanges(base: PlanSnapshot, head: PlanSnapshot): string[] {
  const refused: string[] = [];
  const [from, to] = [base.settings.volumeSizeGb, head.settings.volumeSizeGb];
  if (from !== undefined && to !== undefined && to < from) {
    refused.push(
      `chatwoot:volumeSizeGb ${from} → ${to}: a Hetzner volume cannot shrink, so pulumi up would fail when it applies this; ` +
        `keep ${from} or more (a smaller volume means a restore onto a new one: docs/disaster-recovery.md)`,
    );
  }
  return refused;
}

/** Why each remote step runs, from the settings and files both revisions put on the host. */
function stepReasons(base: PlanSnapshot, head: PlanSnapshot): Record<string, string[]> {
  const reasons = { host: [] as string[], version: [] as string[], bundle: [] as string[], env: [] as string[], bootstrap: [] as string[], restore: [] as string[] };
  // (Both sides must know a setting: a revision from before it was recorded says nothing about it.)
  const known = (k: keyof PlanSnapshot["settings"]) => base.settings[k] !== undefined && head.settings[k] !== undefined;
  if (known("volumeSizeGb") && head.settings.volumeSizeGb! > base.settings.volumeSizeGb!) {
    reasons.host.push(`volume ${base.settings.volumeSizeGb} → ${head.settings.volumeSizeGb} GB (the filesystem is grown)`);
  }
  if (known("sshPublicKeys") && JSON.stringify(base.settings.sshPublicKeys) !== JSON.stringify(head.settings.sshPublicKeys)) {
    reasons.host.push("SSH public keys changed (authorized_keys is rewritten)");
  }
  if (base.settings.chatwootVersion !== head.settings.chatwootVersion) {
    reasons.version.push(`version ${base.settings.chatwootVersion} → ${head.settings.chatwootVersion}`);
  }
  const paths = [...new Set([...Object.keys(base.bundle), ...Object.keys(head.bundle)])].sort();
  const files = paths.filter((p) => base.bundle[p] !== head.bundle[p]);
  if (files.length) reasons.bundle.push(`bundle file${files.length > 1 ? "s" : ""} changed: ${files.join(", ")}`);
  // Each step re-runs for the files it runs (server/step-files.ts); verify also for deploy's.
  const filesOf = (...steps: StepWithFiles[]) => {
    const used = files.filter((f) => stepsOfBundleFile(f).some((s) => steps.includes(s)));
    return used.length ? [`file${used.length > 1 ? "s" : ""} it runs changed: ${used.join(", ")}`] : [];
  };

  const envKey = "env (secrets masked)";
  const [ea, eb] = [parseEnvFile(base.artifacts[envKey] ?? ""), parseEnvFile(head.artifacts[envKey] ?? "")];
  const envKeys = [...new Set([...ea.keys(), ...eb.keys()])].filter((k) => ea.get(k) !== eb.get(k)).sort();
  if (envKeys.length) reasons.env.push(`env changed: ${envKeys.join(", ")}`);
  // The plan sees ciphertext only: a new ciphertext may hold the same value (re-encrypted).
  const secrets = [...new Set([...Object.keys(base.secretDigests), ...Object.keys(head.secretDigests)])]
    .filter((k) => base.secretDigests[k] !== head.secretDigests[k])
    .sort();
  const said = (keys: string[]) => `secret config changed or re-encrypted (values not shown): ${keys.join(", ")}`;
  // Where each secret goes: the admin password and Captain's key only into the bootstrap's input; the old deploy
  // key nowhere (it is no longer read); every other one into the .env.
  const toBootstrap: string[] = secrets.filter((k) => k === "chatwoot:adminPassword" || k === "chatwoot:captainOpenAiApiKey");
  const unused: string[] = secrets.filter((k) => k === "chatwoot:sshPrivateKey");
  const toEnv = secrets.filter((k) => !toBootstrap.includes(k) && !unused.includes(k));
  if (toEnv.length) reasons.env.push(said(toEnv));
  const bootstrapInput = toBootstrap.length ? [said(toBootstrap)] : [];

  const [ba, bb] = [(base.settings.bootstrap ?? {}) as Record<string, unknown>, (head.settings.bootstrap ?? {}) as Record<string, unknown>];
  const fields = [...new Set([...Object.keys(ba), ...Object.keys(bb)])].filter((k) => JSON.stringify(ba[k]) !== JSON.stringify(bb[k]));
  if (fields.length) reasons.bootstrap.push(`bootstrap settings changed: ${fields.sort().join(", ")}`);
  const resized =
    known("serverType") && base.settings.serverType !== head.settings.serverType
      ? [`server type ${base.settings.serverType} → ${head.settings.serverType} (a power cycle: Chatwoot is sized to it and checked again)`]
      : [];
  if (base.settings.restoreFrom !== head.settings.restoreFrom) {
    reasons.restore.push(`restoreFrom ${base.settings.restoreFrom ?? "unset"} → ${head.settings.restoreFrom ?? "unset"}`);
  }
  // Which step each kind of change re-runs (see the header of infra/server/deploy.ts).
  return {
    "wait-ready": reasons.host,
    upload: reasons.bundle,
    "write-env": reasons.env,
    // The restore depends on the snapshot and the server only.
    restore: reasons.restore,
    // A resize too: scripts/tuning.sh sizes Puma, Sidekiq and PostgreSQL to the new server.
    deploy: [...reasons.version, ...filesOf("deploy"), ...reasons.env, ...resized],
    // After an upgrade too: Chatwoot's migrations can switch disabled features back on.
    bootstrap: [...reasons.version, ...reasons.bootstrap, ...filesOf("bootstrap"), ...bootstrapInput],
    verify: [...reasons.version, ...filesOf("deploy", "verify"), ...reasons.env, ...reasons.bootstrap, ...resized],
  };
}

/** `forceReplace`: resource names replaced as `pulumi up --replace <urn>` would (a runbook's step). */
export function diffSnapshots(base: PlanSnapshot, head: PlanSnapshot, labels: { base: string; head: string }, forceReplace: string[] = []): PlanDiff {
  const a = new Map(base.resources.filter((r) => r.custom).map((r) => [r.key, r]));
  const b = new Map(head.resources.filter((r) => r.custom).map((r) => [r.key, r]));
  const created = [...b.keys()].filter((k) => !a.has(k));
  const deleted = [...a.keys()].filter((k) => !b.has(k));
  const replace = new Map<string, string[]>(); // key → why
  const update = new Map<string, string[]>(); // key → changed inputs

  for (const [key, before] of a) {
    const after = b.get(key);
    if (!after) continue;
    const changed = changedInputs(before, after).filter((k) => !after.options.ignoreChanges.includes(k));
    if (changed.length === 0) continue;
    const forcing = changed.filter((k) => factsFor(after.type).replaceOn.includes(k));
    if (forcing.length) replace.set(key, [`forced by ${forcing.join(", ")}`]);
    else update.set(key, changed);
  }
  for (const [key, r] of b) {
    if (!a.has(key) || !forceReplace.includes(r.name)) continue;
    replace.set(key, ["--replace"]);
    update.delete(key);
  }
  // What a replacement takes with it, along the dependency graph the program registers (the head's):
  // an input built from a replaced resource's outputs changes too. Ids and computed values look the
  // same offline (stand-ins by name), so nothing else shows it. A new resource takes nothing along.
  const viaDependency = new Map<string, string[]>(); // key → "<input> changes with the new <name>"
  const queue = [...replace.keys()];
  while (queue.length > 0) {
    const replaced = queue.shift()!;
    const from = b.get(replaced)!.name;
    for (const [key, r] of b) {
      if (!a.has(key) || key === replaced) continue;
      for (const [input, deps] of Object.entries(r.inputDependencies ?? {})) {
        if (!deps.includes(replaced) || r.options.ignoreChanges.includes(input)) continue;
        if (factsFor(r.type).replaceOn.includes(input)) {
          if (!replace.has(key)) queue.push(key);
          replace.set(key, [...new Set([...(replace.get(key) ?? []), `new ${from} (${input})`])]);
          update.delete(key);
          viaDependency.delete(key);
        } else if (!replace.has(key)) {
          update.set(key, [...new Set([...(update.get(key) ?? []), input])]);
          viaDependency.set(key, [...(viaDependency.get(key) ?? []), `${input} changes with the new ${from}`]);
        }
      }
    }
  }

  const reasons = stepReasons(base, head);
  const steps: Record<string, string[]> = {};
  for (const [key, r] of b) {
    if (r.type !== STEP_TYPE) continue;
    const step = r.name.replace(/^chatwoot-/, "");
    if (created.includes(key)) steps[r.name] = ["new step", ...(reasons[step] ?? [])];
    else if (replace.has(key)) steps[r.name] = [...replace.get(key)!, ...(reasons[step] ?? [])];
    else if (update.has(key)) {
      const own = reasons[step]?.length ? reasons[step]! : [];
      steps[r.name] = own.length || viaDependency.has(key) ? [...own, ...(viaDependency.get(key) ?? [])] : [`inputs changed: ${update.get(key)!.join(", ")}`];
    }
  }

  // A changed secret re-runs the steps that carry it, though the masked inputs look the same:
  // the env file's (write-env, deploy, verify), or the bootstrap's input (the admin password).
  const secretSteps = [
    ...(reasons["write-env"]!.some((r) => r.startsWith("secret config changed")) ? ["write-env", "deploy", "verify"] : []),
    ...(reasons.bootstrap!.some((r) => r.startsWith("secret config changed")) ? ["bootstrap"] : []),
  ];
  for (const step of secretSteps) {
    const key = [...b.keys()].find((k) => b.get(k)!.type === STEP_TYPE && b.get(k)!.name === `chatwoot-${step}`);
    if (key && !steps[b.get(key)!.name]) steps[b.get(key)!.name] = reasons[step]!;
  }

  const out: string[] = [`Plan diff for stack "${head.stack}": ${labels.base} → ${labels.head} (offline; nothing was contacted)`, ""];
  const line = (key: string) => {
    const r = (b.get(key) ?? a.get(key))!;
    return `${r.type}  ${r.name}`;
  };
  const infra = (keys: string[]) => keys.filter((k) => (b.get(k) ?? a.get(k))!.type !== STEP_TYPE);

  const replacedInfra = infra([...replace.keys()]);
  if (replacedInfra.length) {
    out.push(`!! ${replacedInfra.length} RESOURCE${replacedInfra.length > 1 ? "S" : ""} WILL BE REPLACED (deleted and created again):`);
    for (const key of replacedInfra) {
      const [before, after] = [a.get(key)!, b.get(key)!];
      const notes = [...replace.get(key)!];
      if (after.options.deleteBeforeReplace) notes.push("deleted first");
      if (after.options.protect) notes.push("PROTECTED: pulumi up will refuse until it is unprotected");
      out.push(`!!   ${line(key)}  (${notes.join("; ")})`);
      for (const input of changedInputs(before, after).filter((k) => factsFor(after.type).replaceOn.includes(k))) {
        out.push(`!!       ${input}: ${displayValue(before.inputs[input])} → ${displayValue(after.inputs[input])}`);
      }
    }
    out.push("");
  }
  const section = (title: string, keys: string[], mark: string, detail?: (k: string) => string[]) => {
    if (!keys.length) return;
    out.push(title);
    for (const k of keys) {
      out.push(`  ${mark} ${line(k)}`);
      for (const d of detail?.(k) ?? []) out.push(`        ${d}`);
    }
    out.push("");
  };
  section("To create:", infra(created), "+");
  section("To delete:", infra(deleted), "-", (k) => (a.get(k)!.options.protect ? ["PROTECTED: pulumi up will refuse until it is unprotected"] : []));
  section("To update in place:", infra([...update.keys()]), "~", (k) => [
    ...changedInputs(a.get(k)!, b.get(k)!)
      .filter((input) => update.get(k)!.includes(input))
      .map((input) => `${input}: ${displayValue(a.get(k)!.inputs[input])} → ${displayValue(b.get(k)!.inputs[input])}`),
    ...(viaDependency.get(k) ?? []),
  ]);
  const removedSteps = deleted.filter((k) => a.get(k)!.type === STEP_TYPE);
  if (Object.keys(steps).length || removedSteps.length) {
    out.push("Remote steps that will run on the server:");
    for (const [name, why] of Object.entries(steps)) out.push(`  > ${name.padEnd(20)} ${why.join("; ")}`);
    for (const k of removedSteps) out.push(`  - ${a.get(k)!.name.padEnd(20)} removed (nothing runs on the server)`);
    out.push("");
  }
  const newWarnings = head.warnings.filter((w) => !base.warnings.includes(w));
  if (newWarnings.length) out.push("New warnings:", ...newWarnings.map((w) => `  ! ${w}`), "");

  const outputs = [...new Set([...Object.keys(base.outputs), ...Object.keys(head.outputs)])].filter(
    (k) => JSON.stringify(base.outputs[k]) !== JSON.stringify(head.outputs[k]),
  );
  if (outputs.length) {
    out.push("Stack outputs that change:");
    for (const k of outputs) out.push(`  ${k}: ${displayValue(base.outputs[k])} → ${displayValue(head.outputs[k])}`);
    out.push("");
  }

  let fileDiffs = 0;
  for (const name of Object.keys(head.artifacts)) {
    const [x, y] = [base.artifacts[name] ?? "", head.artifacts[name] ?? ""];
    if (x === y) continue;
    fileDiffs++;
    out.push(createTwoFilesPatch(`${name} (${labels.base})`, `${name} (${labels.head})`, x, y, undefined, undefined, { context: 3 }).trimEnd());
    out.push("");
  }

  const counts = {
    replace: replacedInfra.length,
    create: infra(created).length,
    delete: infra(deleted).length,
    update: infra([...update.keys()]).length,
    steps: Object.keys(steps).length,
  };
  const changed = created.length + deleted.length + replace.size + update.size + fileDiffs + outputs.length + counts.steps > 0;
  out.push(
    changed
      ? `Summary: ${counts.replace} to replace, ${counts.create} to create, ${counts.delete} to delete, ${counts.update} to update; ${counts.steps} remote step(s) run.`
      : "No changes: pulumi up would do nothing.",
  );
  return {
    changed,
    text: out.join("\n") + "\n",
    replaced: replacedInfra.map((k) => b.get(k)!.name),
    created: infra(created).map((k) => b.get(k)!.name),
    deleted: infra(deleted).map((k) => a.get(k)!.name),
    updated: infra([...update.keys()]).map((k) => b.get(k)!.name),
    steps,
    replacements: [...replace.keys()],
  };
}
