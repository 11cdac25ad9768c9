// Loads infra/index.ts the way Pulumi's Node.js language host does for `pulumi up` (TypeScript
// through ts-node, registered by @pulumi/pulumi's own tsutils with the project's tsconfig), with
// the mock engine standing in for the CLI. Prints the stack's output names as JSON.
// Usage: node load-like-pulumi.js <repo root>   (config in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS)
"use strict";
const path = require("path");
const root = path.resolve(process.argv[2]);
process.chdir(root);
const pulumi = require(path.join(root, "node_modules/@pulumi/pulumi"));
const tsutils = require(path.join(root, "node_modules/@pulumi/pulumi/tsutils.js"));

pulumi.runtime.setMocks(
  {
    newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }),
    call: (a) => a.inputs,
  },
  "chatwoot",
  "production",
  true,
);

const tsconfig = path.join(root, "tsconfig.json");
const compilerOptions = tsutils.loadTypeScriptCompilerOptions(tsconfig);
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
require(tsnodeRequire).register({
  compiler: typescriptRequire,
  transpileOnly: compilerOptions.noCheck,
  project: tsconfig,
  skipProject: false,
  compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
});

const program = require(path.join(root, "infra/index.ts"));
process.stdout.write(JSON.stringify({ outputs: Object.keys(program).sort() }) + "\n");
