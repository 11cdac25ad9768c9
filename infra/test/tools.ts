/**
 * Real tools for artifact checks. A check whose tool is missing is skipped locally with a printed
 * reason, and fails under CI=true: CI must never pass by skipping.
 */
import { describe, it } from "vitest";
import { hasTool } from "./run";

export { hasTool, run, runAsync, tempDir, which } from "./run";

/** describe() that needs the given tools on PATH. */
export function describeWithTools(title: string, tools: string[], body: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const reason = `${missing.join(", ")} not installed (.ci/run installs it)`;
  if (process.env.CI === "true") {
    describe(title, () => {
      it(`requires ${missing.join(", ")}`, () => {
        throw new Error(`${reason}; under CI=true a missing tool is a failure`);
      });
    });
  } else {
    console.warn(`SKIPPED "${title}": ${reason}`);
    describe.skip(title, body);
  }
}

