import * as path from "node:path";

/** The repository's root: the bundle (docker/, scripts/) and the stack files are read from here. */
export const repoRoot = path.resolve(__dirname, "../..");
