/**
 * The floor for `npm run plan`: a one-resource Pulumi program under the same mock engine, loaded
 * the same way (infra/ts-run.cjs). What the plan costs above this is the project's own.
 */
import * as pulumi from "@pulumi/pulumi";

class Thing extends pulumi.CustomResource {
  constructor(name: string) {
    super("test:index:Thing", name, { value: 1 });
  }
}

async function main(): Promise<void> {
  await pulumi.runtime.setMocks(
    { newResource: (a) => ({ id: `${a.name}-id`, state: a.inputs }), call: (a) => a.inputs },
    "floor",
    "bench",
    true,
  );
  await pulumi.runtime.runInPulumiStack(async () => {
    const r = new Thing("one");
    return { urn: r.urn };
  });
  console.log("floor: one resource registered");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
