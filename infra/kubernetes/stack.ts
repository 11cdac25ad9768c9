/**
 * The Kubernetes target's stack: the same config, secrets, env renderer, bootstrap and verify as
 * the server target, deployed onto a cluster (chatwoot:target "kubernetes"). program.ts calls it.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapSettingsFor, bootstrapSettingsHash, parseBootstrapResult } from "../chatwoot/bootstrap";
import { envSecretsFor, secretInstallationConfigsFor } from "../chatwoot/env-secrets";
import { ChatwootSecrets } from "../chatwoot/secrets";
import type { ChatwootConfig } from "../config/load";
import { sha256 } from "../lib/hash";
import { envSettingsFor } from "../server/artifacts";
import { shellQuote } from "../server/commands";
import { renderAppEnv } from "./app-env";
import { ChatwootOnKubernetes } from "./app";
import { kubernetesNames } from "./names";

export interface KubernetesStackOutputs {
  url: pulumi.Output<string>;
  accountId: pulumi.Output<number>;
  inboxId: pulumi.Output<number>;
  inboxIdentifier: pulumi.Output<string>;
  webhookId: pulumi.Output<number | undefined>;
  /** The migration Job of the release that serves. */
  migrationJob: pulumi.Output<string>;
  /** Where the database's backups go; absent without chatwoot:kubernetes.postgresBackup. */
  backupRepository: pulumi.Output<string | undefined>;
  adminPassword: pulumi.Output<string>;
  apiAccessToken: pulumi.Output<string>;
  platformToken: pulumi.Output<string>;
  webhookSecret: pulumi.Output<string>;
}

/** The verify step's command: secret-free; the probe's token travels on stdin. */
export function renderKubernetesVerifyCommand(v: { domain: string; helpCenterDomain?: string; version: string; frameOrigins: string[]; inputsHash: string }): string {
  const q = shellQuote;
  return [
    `# verify Chatwoot through the cluster's ingress (inputs ${v.inputsHash.slice(0, 16)})`,
    [
      "bash scripts/verify.sh --external",
      `--domain ${q(v.domain)}`,
      `--connect ${q(`${v.domain}:443`)}`,
      `--version ${q(v.version)}`,
      ...(v.helpCenterDomain ? [`--help-center ${q(v.helpCenterDomain)}`] : []),
      ...(v.frameOrigins.length ? [`--frame-origins ${q(v.frameOrigins.join(" "))}`] : []),
      "--timeout 600",
    ].join(" "),
  ].join("\n");
}

export function kubernetesStack(config: ChatwootConfig, stack: string, stackLabel: string): KubernetesStackOutputs {
  const k = config.kubernetes;
  const provider = k.clusterStack
    ? new k8s.Provider("cluster", { kubeconfig: new pulumi.StackReference(k.clusterStack).requireOutput("kubeconfig") as pulumi.Output<string> })
    : undefined;
  const secrets = new ChatwootSecrets("chatwoot", { overrides: config.overrides, adminPassword: config.adminPassword });
  const settings = envSettingsFor(config);
  const names = kubernetesNames(k.namespace);
  // Secret as a whole: the provider's SDK makes a Secret's stringData secret in any case.
  const appEnv = pulumi.secret(envSecretsFor(config, secrets).apply((s) => renderAppEnv(settings, s, names)));
  const bootstrap = bootstrapSettingsFor(config);
  const backupCredentials =
    config.backupCredentials.s3AccessKeyId && config.backupCredentials.s3SecretAccessKey
      ? { accessKeyId: config.backupCredentials.s3AccessKeyId, secretAccessKey: config.backupCredentials.s3SecretAccessKey }
      : undefined;

  const app = new ChatwootOnKubernetes(
    "chatwoot",
    {
      config: k,
      stack,
      stackLabel,
      version: config.chatwootVersion,
      appEnv,
      checksumKey: pulumi.output(secrets.secretKeyBase),
      postgresPassword: pulumi.output(secrets.postgresPassword),
      redisPassword: pulumi.output(secrets.redisPassword),
      backupCredentials,
      edge: { domain: config.domain, helpCenterDomain: config.helpCenterDomain, embedAllowedOrigins: config.embedAllowedOrigins, adminAllowedCidrs: config.adminAllowedCidrs },
      bootstrap,
      adminPassword: pulumi.output(secrets.adminPassword),
      webhookSecret: pulumi.output(secrets.webhookSecret),
      secretInstallationConfigs: secretInstallationConfigsFor(config),
    },
    provider ? { providers: { kubernetes: provider } } : undefined,
  );

  const result = app.bootstrapResult.apply(parseBootstrapResult);
  const inputsHash = sha256(JSON.stringify([config.chatwootVersion, bootstrapSettingsHash(bootstrap), k, config.embedAllowedOrigins, config.adminAllowedCidrs]));
  const probe = pulumi.secret(
    pulumi.all([result, appEnv]).apply(([r, env]) =>
      JSON.stringify({
        api_token: r.api_access_token,
        account_id: r.account_id,
        inbox_id: r.inbox_id,
        webhook_url: bootstrap.webhook?.url ?? null,
        // A rotated secret changes the env but nothing in the command: verify re-runs with it.
        env_sha256: sha256(JSON.stringify(env)),
      }),
    ),
  );
  // On the operator's machine (or CI), from the project directory, through the public ingress.
  new command.local.Command(
    "chatwoot-verify",
    {
      create: renderKubernetesVerifyCommand({
        domain: config.domain,
        helpCenterDomain: config.helpCenterDomain,
        version: config.chatwootVersion,
        frameOrigins: config.embedAllowedOrigins,
        inputsHash,
      }),
      stdin: probe,
      triggers: [app.migrationJob],
    },
    { dependsOn: [app], additionalSecretOutputs: ["stdout", "stderr"] },
  );

  const b = k.postgresBackup;
  return {
    url: pulumi.output(`https://${config.domain}`),
    // Ids, not credentials: the result line is secret as a whole for its tokens.
    accountId: pulumi.unsecret(result.account_id),
    inboxId: pulumi.unsecret(result.inbox_id),
    inboxIdentifier: pulumi.unsecret(result.inbox_identifier),
    webhookId: pulumi.unsecret(result.apply((r) => r.webhook_id ?? undefined)),
    migrationJob: app.migrationJob,
    backupRepository: pulumi.output(b ? `s3://${b.bucket}/${b.path ?? `chatwoot/${stack}`}` : undefined),
    adminPassword: pulumi.secret(secrets.adminPassword),
    apiAccessToken: pulumi.secret(result.api_access_token),
    platformToken: pulumi.secret(result.platform_token),
    webhookSecret: pulumi.secret(secrets.webhookSecret),
  };
}
