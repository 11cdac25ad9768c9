/**
 * Reads a Pulumi.<stack>.yaml the way the Pulumi CLI hands it to a program: "namespace:key" →
 * string, structured values as JSON. Encrypted (`secure:`) values cannot be read offline; they
 * become UNREADABLE_SECRET, so the plan knows they are set without knowing them.
 */
import * as fs from "node:fs";
import { parseDocument } from "yaml";
import { ConfigError, UNREADABLE_SECRET } from "../config";
import { shortHash } from "../render/hash";

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
  const doc: unknown = parsed.toJS();
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
