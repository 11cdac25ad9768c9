#!/usr/bin/env node
/**
 * Runs a TypeScript entry point on Node's own CommonJS loader: `node infra/ts-run.cjs <file.ts> …`.
 *
 * Why not tsx: tsx installs module-resolution hooks that every `require` goes through, so loading
 * @pulumi/pulumi (hundreds of modules) costs about three times what it costs plain Node. Here only
 * `.ts` files are touched: each is transpiled once by esbuild (type stripping and ES modules to
 * CommonJS, no type checking; `npm run typecheck` does that) and the result is cached by content;
 * Node's compile cache keeps the V8 bytecode of everything loaded. Both caches live under
 * node_modules/.cache, so a fresh `npm ci` starts clean and nothing lands in the repository.
 */
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

const repoRoot = path.resolve(__dirname, "..");
const cacheDir = path.join(repoRoot, "node_modules", ".cache", "chatwoot-ts-run");
const esbuildVersion = require("esbuild/package.json").version;
// The options below are part of the cache key: changing them invalidates every entry.
const transformOptions = { loader: "ts", format: "cjs", target: "node22", platform: "node" };
const optionsKey = JSON.stringify([esbuildVersion, transformOptions]);

if (typeof Module.enableCompileCache === "function") Module.enableCompileCache(path.join(cacheDir, "v8"));

let esbuild;
// The key is the options and the source, not the file's path: without a source map esbuild's
// output does not depend on it (the name only appears in error messages), so a worktree or copy of
// this repository at another path, as `plan --diff` makes, reuses what this checkout transpiled.
function transpile(source, filename) {
  const key = crypto.createHash("sha256").update(optionsKey).update("\0").update(source).digest("hex");
  const cached = path.join(cacheDir, "js", key.slice(0, 2), `${key}.js`);
  try {
    return fs.readFileSync(cached, "utf8");
  } catch {
    // not cached yet
  }
  esbuild ??= require("esbuild");
  const { code } = esbuild.transformSync(source, { ...transformOptions, sourcefile: filename });
  try {
    // Through a temporary name and a rename: a concurrent run never reads half an entry.
    fs.mkdirSync(path.dirname(cached), { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  } catch {
    // A read-only checkout still runs, only without the cache.
  }
  return code;
}

require.extensions[".ts"] = function loadTypeScript(module, filename) {
  module._compile(transpile(fs.readFileSync(filename, "utf8"), filename), filename);
};

// @pulumi/pulumi loads TypeScript's compiler and npm's Arborist as it starts, for serializing
// functions (runtime/closure), which a plan never does: about 0.35 s of a plan's 1 s, on every run
// (the cost upstream names in pulumi/pulumi#10185 and #3671). Here they load on first use instead:
// whatever uses them gets the real module, the same one. Only @pulumi/pulumi's own requires of
// these two are deferred, and only when they resolve (a missing one fails as it would have).
const pulumiDir = (() => {
  try {
    return path.dirname(require.resolve("@pulumi/pulumi/package.json")) + path.sep;
  } catch {
    return undefined;
  }
})();
const deferred = new Set(["typescript", "@npmcli/arborist"]);
function onFirstUse(load) {
  let real;
  const module = () => (real ??= load());
  // __esModule: TypeScript's import helpers then use this object as it is instead of copying the
  // module's properties (which would load it at once).
  return new Proxy(function deferredModule() {}, {
    get: (_, key) => (key === "__esModule" ? true : Reflect.get(module(), key)),
    has: (_, key) => Reflect.has(module(), key),
    apply: (_, self, args) => Reflect.apply(module(), self, args),
    construct: (_, args) => Reflect.construct(module(), args),
  });
}
const loadModule = Module._load;
Module._load = function loadDeferringClosureTools(request, parent, isMain) {
  if (pulumiDir && deferred.has(request) && parent?.filename?.startsWith(pulumiDir)) {
    try {
      Module._resolveFilename(request, parent, isMain);
      return onFirstUse(() => loadModule.call(Module, request, parent, isMain));
    } catch {
      // Not installed: loaded now, so that the caller's own fallback runs.
    }
  }
  return loadModule.apply(this, arguments);
};

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error("usage: node infra/ts-run.cjs <entry.ts> [args…]");
  process.exit(2);
}
const main = path.resolve(entry);
// The entry sees the usual argv ([node, entry, …args]) and is require.main.
process.argv = [process.argv[0], main, ...rest];
Module._load(main, null, true);
