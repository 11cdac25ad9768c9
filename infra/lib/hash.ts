import { createHash } from "node:crypto";

export function sha256(content: string | Buffer): string {
  return createHash("sha256").update(content).digest("hex");
}

/** A short, still collision-safe-enough prefix for showing in command text and plans. */
export function shortHash(content: string | Buffer): string {
  return sha256(content).slice(0, 12);
}
