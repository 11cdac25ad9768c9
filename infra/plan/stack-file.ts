/**
 * Reads a Pulumi.<stack>.yaml the way the Pulumi CLI hands it to a program: "namespace:key" →
 * string, structured values as JSON. Encrypted (`secure:`) values cannot be read offline; they
 * become UNREADABLE_SECRET, so the plan knows they are set without knowing them.
 */
import * as fs from "node:fs";
import { type Document, isPair, isScalar, parseDocument, visit } from "yaml";
import { ConfigError, UNREADABLE_SECRET } from "../config/load";
import { shortHash } from "../lib/hash";

export interface StackConfig {
  config: Record<string, string>;
  secretKeys: string[];
  /** Short hash of each encrypted value as committed: tells a changed secret without reading it. */
  secretDigests: Record<string, string>;
}

function isSecure(v: unknown): boolean {
  return typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && "secure" in v;
}

export function readStackFile(file: string): StackConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? "read error"}`);
  }
  const parsed = parseDocument(text);
  if (parsed.errors.length > 0) {
    // File, line, column and the problem; never the excerpt the parser would quote (a value there
    // may be a secret someone forgot to encrypt).
    throw new ConfigError(
      parsed.errors.map((e) => {
        const at = e.linePos?.[0];
        const problem = e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
        return `${file}${at ? `:${at.line}:${at.col}` : ""}: YAML syntax error: ${problem}`;
      }),
    );
  }
  // An alias without its anchor (or too many aliases) makes toJS throw with the alias's name in
  // the message: report the key it is under instead, as a configuration error.
  const aliasAt = unresolvedAliasKey(parsed);
  if (aliasAt !== undefined) throw new ConfigError([`${file}: YAML error under ${aliasAt}: an alias (*…) names no anchor (&…) defined before it`]);
  let doc: unknown;
  try {
    doc = parsed.toJS();
  } catch {
    throw new ConfigError([`${file}: YAML error: the file cannot be read as data (aliases nested too deep or too many of them)`]);
  }
  const raw = (doc as { config?: Record<string, unknown> } | null)?.config ?? {};
  if (typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${file}: "config" must be a mapping`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const secretDigests: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (isSecure(value)) {
      config[key] = UNREADABLE_SECRET;
      secretKeys.push(key);
      secretDigests[key] = shortHash(String((value as { secure: unknown }).secure));
    } else if (typeof value === "string") {
      config[key] = value;
    } else {
      config[key] = JSON.stringify(value);
    }
  }
  return { config, secretKeys, secretDigests };
}

/** The key path of the first alias whose anchor is not defined, or undefined. */
function unresolvedAliasKey(doc: Document): string | undefined {
  let found: string | undefined;
  visit(doc, {
    Alias(_key, node, path) {
      if (found !== undefined || node.resolve(doc) !== undefined) return;
      const keys = path.filter(isPair).map((pair) => (isScalar(pair.key) ? String(pair.key.value) : "?"));
      found = keys.filter((k) => k !== "config").join(".") || "the top level";
      return visit.BREAK;
    },
  });
  return found;
}
