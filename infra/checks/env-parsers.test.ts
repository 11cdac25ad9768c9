/**
 * The rendered .env means the same thing to Docker Compose v2 (its real dotenv parser, compose-go
 * at the version Compose v2.24.6 pins) and to bash, for every value the renderer accepts; what it
 * cannot encode it refuses. A generated corpus of quotes, backslashes, $, #, =, spaces, tabs and
 * unicode, exhaustive over short strings, plus the full rendered file.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, expect, it } from "vitest";
import { envLine, envValueProblem } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { dotenvCheckBinary } from "../test/go-tools";
import { envSecrets, envSettings } from "../test/fixtures";
import { describeWithTools, run, tempDir } from "../test/tools";

const ALPHABET = ["a", "'", "\\", "$", "#", '"', "`", " ", "=", "\t", "é", "😀", "{", "}", "\n", "!"];

/** Every string of up to three characters of the alphabet, plus longer hand-picked ones. */
function corpus(): string[] {
  const out = [""];
  let layer = [""];
  for (let n = 1; n <= 3; n++) {
    layer = layer.flatMap((p) => ALPHABET.map((c) => p + c));
    out.push(...layer);
  }
  out.push("pass\\", "pass\\\\", "pass\\\\\\", "\\'", "${HOME}", "$(whoami)", "a #comment", "x'y", "\\n", "FORCE_SSL=false", "ends with space ");
  return out;
}

describeWithTools("the .env, read by Compose v2's parser and by bash", ["go", "bash"], () => {
  let parser: string;
  let dir: string;
  beforeAll(() => {
    parser = dotenvCheckBinary()!;
    dir = tempDir("dotenv");
    return () => fs.rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  const composeRead = (file: string): Record<string, string> => {
    const r = run(parser, [file]);
    if (r.status !== 0) throw new Error(`compose-go refused ${path.basename(file)}`);
    return JSON.parse(r.stdout);
  };
  const bashRead = (file: string, names: string[]): Record<string, string> => {
    const r = run("bash", ["-c", `set -a; . "$1"; for n in "\${@:2}"; do printf '%s\\0' "\${!n}"; done`, "bash", file, ...names]);
    if (r.status !== 0) throw new Error(`bash refused ${path.basename(file)}: ${r.stderr}`);
    const values = r.stdout.split("\0").slice(0, names.length);
    return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
  };

  it("reads every accepted value byte for byte the same in both, and the value itself", () => {
    const values = corpus();
    const accepted = values.filter((v) => envValueProblem(v) === undefined);
    const refused = values.filter((v) => envValueProblem(v) !== undefined);
    // The corpus holds both kinds, so neither side of the rule goes untested.
    expect(accepted.length).toBeGreaterThan(2000);
    expect(refused.length).toBeGreaterThan(1000);
    const names = accepted.map((_, i) => `V${i}`);
    // A sentinel after each value: a value that swallowed the next line would change it.
    const lines = accepted.flatMap((v, i) => [envLine(names[i]!, v), envLine(`S${i}`, "sentinel")]);
    const file = path.join(dir, "corpus.env");
    fs.writeFileSync(file, lines.join("\n") + "\n");
    const compose = composeRead(file);
    const bash = bashRead(file, names);
    const mismatches = accepted.filter((v, i) => compose[names[i]!] !== v || bash[names[i]!] !== v || compose[`S${i}`] !== "sentinel");
    expect(mismatches.map((v) => JSON.stringify(v))).toEqual([]);
  });

  it("refuses exactly the values the two would read differently, naming only the variable", () => {
    for (const v of ["secret-pass\\", "x'secret", "a\nsecret", "a\rsecret"]) {
      expect(() => envLine("SMTP_PASSWORD", v)).toThrow(/^env value for SMTP_PASSWORD must not/);
      try {
        envLine("SMTP_PASSWORD", v);
      } catch (e) {
        expect((e as Error).message).not.toContain(v);
      }
    }
    // What the rule is for: a trailing backslash makes Compose run into the next line, a secret.
    const broken = path.join(dir, "broken.env");
    fs.writeFileSync(broken, "SMTP_USERNAME='mailer\\'\nSMTP_PASSWORD='sentinel-secret'\n");
    expect(() => composeRead(broken)).toThrow("compose-go refused");
  });

  it("reads the whole rendered file the same in both", () => {
    const text = renderEnvFile(envSettings, envSecrets);
    const file = path.join(dir, "rendered.env");
    fs.writeFileSync(file, text);
    const compose = composeRead(file);
    const names = Object.keys(compose);
    expect(names.length).toBeGreaterThan(30);
    expect(bashRead(file, names)).toEqual(compose);
    expect(compose.POSTGRES_PASSWORD).toBe(envSecrets.POSTGRES_PASSWORD);
  });
});
