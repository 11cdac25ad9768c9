/**
 * The whole stack as one function: config → components → outputs. `index.ts` exports its result;
 * the offline plan and the tests call it under Pulumi's mocks, so all three run the same code.
 */
import * as pulumi from "@pulumi/pulumi";
import { cloudInitFor } from "./artifacts";
import { loadConfig } from "./config";
import { HetznerHost } from "./host";
import { ChatwootSecrets } from "./secrets";

export interface StackOutputs {
  url: pulumi.Output<string>;
  ipv4: pulumi.Output<string>;
  ipv6: pulumi.Output<string>;
}

/** Hetzner label values allow [a-z0-9._-]; stack names may hold more. */
function labelValue(v: string): string {
  return v.toLowerCase().replace(/[^a-z0-9._-]/g, "-").slice(0, 63);
}

export function chatwootStack(): StackOutputs {
  const config = loadConfig();
  for (const warning of config.warnings) pulumi.log.warn(warning);

  const stack = pulumi.getStack();
  const namePrefix = `chatwoot-${labelValue(stack)}`;
  const labels = { app: "chatwoot", stack: labelValue(stack), "managed-by": "pulumi" };

  const secrets = new ChatwootSecrets("chatwoot", {
    overrides: config.overrides,
    adminPassword: config.adminPassword,
  });

  const host = new HetznerHost("chatwoot", {
    namePrefix,
    location: config.location,
    serverType: config.serverType,
    image: config.image,
    volumeSizeGb: config.volumeSizeGb,
    sshPublicKeys: config.sshPublicKeys,
    sshAllowedCidrs: config.sshAllowedCidrs,
    serverBackups: config.serverBackups,
    domain: config.domain,
    dnsZone: config.dnsZone,
    userData: cloudInitFor(config),
    labels,
  });
  void secrets;

  return {
    url: pulumi.output(`https://${config.domain}`),
    ipv4: host.ipv4,
    ipv6: host.ipv6,
  };
}
