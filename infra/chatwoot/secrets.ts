/**
 * Every secret the deployment needs, generated once and kept (encrypted) in Pulumi state, or taken
 * from `chatwoot:*` overrides when restoring an existing installation.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { SecretOverrides } from "../config/load";

export interface ChatwootSecretsArgs {
  /** Values restored from config for disaster recovery; each replaces its generated counterpart. */
  overrides: SecretOverrides;
  /** Admin password from config; generated when absent. */
  adminPassword?: pulumi.Input<string>;
}

/** Characters for a generated admin password: Chatwoot's accepted specials minus shell-awkward ones. */
const ADMIN_PASSWORD_SPECIALS = "!@#%^*()_+-=[]{}|";

export class ChatwootSecrets extends pulumi.ComponentResource {
  /** Rails `SECRET_KEY_BASE`: 128 hex characters, like `rails secret`. */
  public readonly secretKeyBase: pulumi.Output<string>;
  /** The three ActiveRecord encryption keys: 32 alphanumerics each, like `rails db:encryption:init`. */
  public readonly encryptionPrimaryKey: pulumi.Output<string>;
  public readonly encryptionDeterministicKey: pulumi.Output<string>;
  public readonly encryptionKeyDerivationSalt: pulumi.Output<string>;
  public readonly postgresPassword: pulumi.Output<string>;
  public readonly redisPassword: pulumi.Output<string>;
  /** Password of the SuperAdmin; only used when the user is first created. */
  public readonly adminPassword: pulumi.Output<string>;
  /** Signing secret of the account webhook (`X-Chatwoot-Signature`). */
  public readonly webhookSecret: pulumi.Output<string>;

  constructor(name: string, args: ChatwootSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:index:ChatwootSecrets", name, {}, opts);
    const o = args.overrides;

    // protect: these keys decrypt data already written (sessions, encrypted columns) and the
    // Postgres password is fixed at initdb; replacing any of them silently breaks the installation.
    const keep = { parent: this, protect: true };
    this.secretKeyBase = o.secretKeyBase ?? new random.RandomBytes(`${name}-secret-key-base`, { length: 64 }, keep).hex;
    this.encryptionPrimaryKey = o.encryptionPrimaryKey ?? this.alphanumeric(`${name}-ar-primary-key`, 32, keep);
    this.encryptionDeterministicKey =
      o.encryptionDeterministicKey ?? this.alphanumeric(`${name}-ar-deterministic-key`, 32, keep);
    this.encryptionKeyDerivationSalt =
      o.encryptionKeyDerivationSalt ?? this.alphanumeric(`${name}-ar-key-derivation-salt`, 32, keep);
    this.postgresPassword = o.postgresPassword ?? this.alphanumeric(`${name}-postgres-password`, 40, keep);

    // Not protected: Redis reads its password at start, the webhook secret is re-applied by every
    // bootstrap, so replacing either is a plain rotation.
    this.redisPassword = this.alphanumeric(`${name}-redis-password`, 40, { parent: this });
    this.webhookSecret = o.webhookSecret ?? new random.RandomBytes(`${name}-webhook-secret`, { length: 32 }, { parent: this }).hex;
    this.adminPassword = args.adminPassword
      ? pulumi.secret(args.adminPassword)
      : new random.RandomPassword(
          `${name}-admin-password`,
          {
            length: 24,
            minUpper: 2,
            minLower: 2,
            minNumeric: 2,
            minSpecial: 2,
            overrideSpecial: ADMIN_PASSWORD_SPECIALS,
          },
          { parent: this },
        ).result;

    this.registerOutputs({});
  }

  private alphanumeric(name: string, length: number, opts: pulumi.CustomResourceOptions): pulumi.Output<string> {
    return new random.RandomPassword(name, { length, special: false }, opts).result;
  }
}
