/**
 * Runs the real program in-process under Pulumi's mock engine and records what it registers:
 * every resource with its inputs (secret values stay wrapped, so callers can tell them apart) and
 * its resource options (read through a stack transformation), plus the stack outputs and warnings.
 *
 * Used by `npm run plan` (preview mode: provider-computed values stay unknown, as in a first
 * `pulumi preview`) and by the tests (apply mode: computed values get deterministic stand-ins).
 * The mock engine is process-global; evaluations run one after another.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { ConfigError, loadConfig, SECRET_KEYS, UNREADABLE_SECRET } from "../config/load";
import { stackNames } from "../config/names";
import { chatwootStack } from "../program";
import { computedState } from "./stand-ins";

export const PROJECT = "chatwoot";
export { FAKE_BOOTSTRAP_RESULT } from "./stand-ins";

/** Pulumi's wire markers for secret and unknown values (stable parts of its RPC protocol). */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * preview: a first `pulumi preview` (computed values unknown); apply: `pulumi up` (stand-ins for
 * computed values); compare: a preview with the stand-ins, so two revisions compare by what
 * really differs, and secrets only `pulumi up` needs stay optional.
 */
export type Mode = "preview" | "apply" | "compare";

export interface ResourceOptionsSummary {
  protect: boolean;
  ignoreChanges: string[];
  deleteBeforeReplace: boolean;
  retainOnDelete: boolean;
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  /** Resources this one explicitly depends on, as "type::name". */
  dependsOn: string[];
  /** The parent resource as "type::name", if any. */
  parent?: string;
  /** The resource whose deletion takes this one with it (no Delete call of its own), as "type::name". */
  deletedWith?: string;
}

export interface PlannedResource {
  /** "type::name", unique within a stack. */
  key: string;
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** A read of an existing resource (`Resource.get`): nothing is created; it must exist. */
  read?: true;
  /** Inputs as the engine received them; secrets are `{ [SECRET_SIG]: SECRET_VALUE, value }`. */
  inputs: Record<string, unknown>;
  /**
   * For each top-level input built from other resources' outputs, those resources ("type::name",
   * custom resources only): the dependency graph the engine sees, which a replacement follows.
   */
  inputDependencies: Record<string, string[]>;
  options: ResourceOptionsSummary;
}

export interface Evaluation {
  resources: PlannedResource[];
  outputs: Record<string, unknown>;
  /** Names of stack outputs that are secret. */
  secretOutputs: string[];
  warnings: string[];
}

export interface EvaluateOptions {
  stack: string;
  /** Full config keys ("chatwoot:domain") to string values, as in Pulumi.<stack>.yaml. */
  config: Record<string, string>;
  /** Full keys whose values are secret. */
  secretKeys?: string[];
  mode?: Mode;
  /** The program; defaults to the real one. */
  program?: () => Record<string, unknown>;
  /** Id for a resource instead of the default (tests use it to simulate a new server). */
  idFor?: (type: string, name: string) => string | undefined;
  /** Extra state per resource, merged over the defaults (tests use it to fake command output). */
  extraState?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown> | undefined;
}

export function isSecretValue(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

export function isUnknownValue(v: unknown): boolean {
  if (v === UNKNOWN_VALUE) return true;
  // How the SDK represents an unknown it received back from the mock engine.
  return typeof v === "object" && v !== null && (v as Record<string, unknown>).__pulumiUnknown === true;
}

/** The id the mock engine gives a resource (Hetzner ids are numbers). */
export function mockId(type: string, name: string): string {
  return numericId(`${type}::${name}`);
}

function numericId(name: string): string {
  return String(parseInt(createHash("sha256").update(name).digest("hex").slice(0, 7), 16));
}

function summarizeOptions(opts: pulumi.ResourceOptions): ResourceOptionsSummary {
  const custom = opts as pulumi.CustomResourceOptions;
  const deps = opts.dependsOn === undefined ? [] : Array.isArray(opts.dependsOn) ? opts.dependsOn : [opts.dependsOn];
  const nameOf = (r: unknown) => {
    const res = r as { __pulumiType?: string; __name?: string };
    return `${res.__pulumiType}::${res.__name}`;
  };
  return {
    protect: opts.protect === true,
    ignoreChanges: opts.ignoreChanges ?? [],
    deleteBeforeReplace: custom.deleteBeforeReplace === true,
    retainOnDelete: opts.retainOnDelete === true,
    replaceOnChanges: opts.replaceOnChanges ?? [],
    additionalSecretOutputs: custom.additionalSecretOutputs ?? [],
    dependsOn: (deps as unknown[]).map(nameOf),
    parent: opts.parent ? nameOf(opts.parent) : undefined,
    deletedWith: opts.deletedWith ? nameOf(opts.deletedWith) : undefined,
  };
}

/** The custom resources each top-level input's Outputs come from, as "type::name". */
async function inputDependencies(props: Record<string, unknown>): Promise<Record<string, string[]>> {
  const outputsIn = (v: unknown, found: pulumi.Output<unknown>[] = []): pulumi.Output<unknown>[] => {
    if (pulumi.Output.isInstance(v)) found.push(v);
    else if (Array.isArray(v)) v.forEach((x) => outputsIn(x, found));
    else if (v && typeof v === "object" && !pulumi.Resource.isInstance(v)) Object.values(v).forEach((x) => outputsIn(x, found));
    return found;
  };
  const result: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(props)) {
    const sets = await Promise.all(
      outputsIn(value).map((o) => (o as unknown as { allResources(): Promise<Set<pulumi.Resource>> }).allResources()),
    );
    const names = new Set<string>();
    for (const r of sets.flatMap((set) => [...set])) {
      if (!pulumi.CustomResource.isInstance(r)) continue;
      const res = r as unknown as { __pulumiType?: string; __name?: string };
      names.add(`${res.__pulumiType}::${res.__name}`);
    }
    if (names.size > 0) result[key] = [...names].sort();
  }
  return result;
}

/**
 * Compare mode renders everything a value would reach (the env, the Kubernetes Secrets): a secret
 * that only `pulumi up` requires, and that is not set yet, gets the same stand-in as an encrypted
 * one, so that the rendering does not fail on what a preview only warns about.
 */
function withStandInSecrets(o: EvaluateOptions, warnings: string[]): Pick<EvaluateOptions, "config" | "secretKeys"> {
  const missing = new Set<string>();
  for (const w of warnings) {
    if (!w.startsWith("pulumi up will refuse to run: ")) continue;
    for (const m of w.matchAll(/chatwoot:([A-Za-z0-9]+)\b/g)) {
      const key = `chatwoot:${m[1]}`;
      if ((SECRET_KEYS as readonly string[]).includes(m[1]!) && !(key in o.config)) missing.add(key);
    }
  }
  return {
    config: { ...o.config, ...Object.fromEntries([...missing].map((k) => [k, UNREADABLE_SECRET])) },
    secretKeys: [...(o.secretKeys ?? []), ...missing],
  };
}

/** Evaluates the program once. Throws what the program throws (e.g. a ConfigError). */
export async function evaluate(o: EvaluateOptions): Promise<Evaluation> {
  const mode = o.mode ?? "apply";
  // The program validates config first and throws before registering anything; doing the same
  // here keeps that error out of the SDK's root-stack promises (which would report it as unhandled).
  const secretKeys = new Set(o.secretKeys ?? []);
  const checked = loadConfig({ values: o.config, isSecret: (k) => secretKeys.has(k) }, mode === "apply");
  if (mode === "compare") o = { ...o, ...withStandInSecrets(o, checked.warnings) };
  const names = stackNames(o.stack);
  if ("problem" in names) throw new ConfigError([names.problem]);
  const registered: Omit<PlannedResource, "options" | "inputDependencies">[] = [];
  const options = new Map<string, ResourceOptionsSummary>();
  const dependencies = new Map<string, Promise<Record<string, string[]>>>();

  await pulumi.runtime.setMocks(
    {
      newResource(a) {
        const id = o.idFor?.(a.type, a.name) ?? numericId(`${a.type}::${a.name}`);
        const urn = `urn:pulumi:${o.stack}::${PROJECT}::${a.type}::${a.name}`;
        if (a.type !== "pulumi:pulumi:Stack") {
          const read = a.id !== undefined && a.id !== "" && !a.type.startsWith("pulumi:") ? { read: true as const } : {};
          registered.push({ key: `${a.type}::${a.name}`, type: a.type, name: a.name, urn, custom: a.custom ?? true, ...read, inputs: a.inputs });
        }
        const state = {
          ...a.inputs,
          ...(mode !== "preview" ? computedState(a, id) : {}),
          ...(o.extraState?.(a) ?? {}),
        };
        return { id: a.custom === false ? undefined : id, state };
      },
      call(a) {
        return a.inputs;
      },
    },
    PROJECT,
    o.stack,
    mode !== "apply",
  );
  pulumi.runtime.setAllConfig(o.config, o.secretKeys ?? []);

  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    const text = args.map(String).join(" ");
    const m = /^warning: \[runtime\] ([\s\S]*)$/.exec(text);
    if (m) warnings.push(m[1]!);
    else originalWarn(...args);
  };

  let programOutputs: Record<string, unknown> = {};
  const failures: unknown[] = [];
  const onRejection = (e: unknown) => failures.push(e);
  process.on("unhandledRejection", onRejection);
  try {
    const program = o.program ?? chatwootStack;
    await pulumi.runtime.runInPulumiStack(async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        options.set(`${args.type}::${args.name}`, summarizeOptions(args.opts));
        dependencies.set(`${args.type}::${args.name}`, inputDependencies(args.props as Record<string, unknown>));
        return undefined;
      });
      programOutputs = program() as unknown as Record<string, unknown>;
      return programOutputs;
    });
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
  } finally {
    console.warn = originalWarn;
    process.off("unhandledRejection", onRejection);
  }
  if (failures.length > 0) throw failures[0];

  const outputs: Record<string, unknown> = {};
  const secretOutputs: string[] = [];
  for (const [key, value] of Object.entries(programOutputs)) {
    if (pulumi.Output.isInstance(value)) {
      if (await pulumi.isSecret(value)) secretOutputs.push(key);
      outputs[key] = await new Promise((resolve) => {
        // In preview mode an unknown output never resolves; report it as unknown instead of waiting.
        let settled = false;
        value.apply((v) => {
          settled = true;
          resolve(v);
          return v;
        });
        setImmediate(() => setImmediate(() => !settled && resolve(UNKNOWN_VALUE)));
      });
    } else {
      outputs[key] = value;
    }
  }

  // In preview mode an unknown value never settles, nor do its resources: such an input then
  // shows no dependency (the diff evaluates in compare mode, where every value is known).
  const settled = async (p: Promise<Record<string, string[]>> | undefined) =>
    p === undefined ? {} : Promise.race([p, new Promise<Record<string, string[]>>((resolve) => setImmediate(() => setImmediate(() => resolve({}))))]);
  const resources: PlannedResource[] = [];
  for (const r of registered) {
    resources.push({ ...r, inputDependencies: await settled(dependencies.get(r.key)), options: options.get(r.key) ?? summarizeOptions({}) });
  }
  return { resources, outputs, secretOutputs: secretOutputs.sort(), warnings };
}
