/**
 * A Chatwoot-shaped database for the backup tests: the tables a restore must bring back whole
 * (accounts, users, inboxes, contacts, conversations, messages, attachments' blobs) and the two
 * triggers that make restores of Chatwoot tricky: one creates a `conv_dpid_seq_<account id>`
 * sequence for every new account, the other numbers each conversation from its account's sequence.
 * Shapes follow Chatwoot's schema; only the columns a restore could get wrong are kept.
 */
export interface DatasetSize {
  accounts: number;
  conversationsPerAccount: number;
  /** Total messages, spread over all conversations. */
  messages: number;
  /** Characters of text per message. */
  messageLength: number;
}

export const SCHEMA_SQL = `
CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE TABLE accounts (
  id bigserial PRIMARY KEY, name varchar NOT NULL, locale integer DEFAULT 0,
  custom_attributes jsonb DEFAULT '{}'::jsonb,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE users (
  id bigserial PRIMARY KEY, email varchar NOT NULL UNIQUE, name varchar NOT NULL,
  encrypted_password varchar NOT NULL, type varchar,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
CREATE TABLE account_users (
  id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, user_id bigint NOT NULL REFERENCES users,
  role integer DEFAULT 0, UNIQUE (account_id, user_id));
CREATE TABLE inboxes (
  id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, name varchar NOT NULL,
  channel_type varchar, channel_id bigint NOT NULL DEFAULT 0);
CREATE TABLE contacts (
  id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, name varchar, email varchar,
  additional_attributes jsonb DEFAULT '{}'::jsonb);
CREATE TABLE conversations (
  id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts, inbox_id bigint NOT NULL REFERENCES inboxes,
  contact_id bigint REFERENCES contacts, display_id integer NOT NULL, status integer NOT NULL DEFAULT 0,
  uuid uuid NOT NULL DEFAULT gen_random_uuid(), custom_attributes jsonb DEFAULT '{}'::jsonb,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now(),
  UNIQUE (account_id, display_id));
CREATE TABLE messages (
  id bigserial PRIMARY KEY, account_id bigint NOT NULL, inbox_id bigint NOT NULL,
  conversation_id bigint NOT NULL REFERENCES conversations, content text, message_type integer NOT NULL,
  content_attributes json DEFAULT '{}'::json, created_at timestamp(6) NOT NULL DEFAULT now());
CREATE INDEX index_messages_on_conversation_id ON messages (conversation_id);
CREATE INDEX index_messages_on_account_id_and_created_at ON messages (account_id, created_at);
CREATE TABLE active_storage_blobs (
  id bigserial PRIMARY KEY, key varchar NOT NULL UNIQUE, filename varchar NOT NULL, content_type varchar,
  byte_size bigint NOT NULL, checksum varchar, service_name varchar NOT NULL DEFAULT 'local');

CREATE FUNCTION accounts_after_insert_row_tr() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE SEQUENCE IF NOT EXISTS conv_dpid_seq_%s', NEW.id);
  RETURN NULL;
END $$;
CREATE TRIGGER accounts_after_insert_row_tr AFTER INSERT ON accounts
  FOR EACH ROW EXECUTE FUNCTION accounts_after_insert_row_tr();
CREATE FUNCTION conversations_before_insert_row_tr() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.display_id := nextval('conv_dpid_seq_' || NEW.account_id);
  RETURN NEW;
END $$;
CREATE TRIGGER conversations_before_insert_row_tr BEFORE INSERT ON conversations
  FOR EACH ROW EXECUTE FUNCTION conversations_before_insert_row_tr();
`;

/** Fills the schema; conversations get their display ids from the per-account sequences. */
export function dataSql(n: DatasetSize): string {
  const conversations = n.accounts * n.conversationsPerAccount;
  return `
INSERT INTO accounts (name) SELECT 'Account ' || i FROM generate_series(1, ${n.accounts}) i;
INSERT INTO users (email, name, encrypted_password)
  SELECT 'agent' || i || '@example.com', 'Agent ' || i, md5(i::text) FROM generate_series(1, ${n.accounts * 3}) i;
INSERT INTO account_users (account_id, user_id, role) SELECT ((u - 1) % ${n.accounts}) + 1, u, u % 2 FROM generate_series(1, ${n.accounts * 3}) u;
INSERT INTO inboxes (account_id, name, channel_type) SELECT a, 'API', 'Channel::Api' FROM generate_series(1, ${n.accounts}) a;
INSERT INTO contacts (account_id, name, email, additional_attributes)
  SELECT ((i - 1) % ${n.accounts}) + 1, 'Contact ' || i, 'c' || i || '@example.org', jsonb_build_object('city', 'City ' || (i % 97))
  FROM generate_series(1, ${conversations}) i;
INSERT INTO conversations (account_id, inbox_id, contact_id, display_id, status, custom_attributes)
  SELECT ((i - 1) % ${n.accounts}) + 1, ((i - 1) % ${n.accounts}) + 1, i, 0, i % 3, jsonb_build_object('priority', i % 5)
  FROM generate_series(1, ${conversations}) i ORDER BY i;
INSERT INTO messages (account_id, inbox_id, conversation_id, content, message_type, created_at)
  SELECT c.account_id, c.inbox_id, c.id,
         left(repeat(md5(m::text) || ' ', ${Math.ceil(n.messageLength / 33) + 1}), ${n.messageLength}),
         m % 3, timestamp '2026-01-01' + (m || ' seconds')::interval
  FROM generate_series(1, ${n.messages}) m
  JOIN conversations c ON c.id = ((m - 1) % ${conversations}) + 1;
INSERT INTO active_storage_blobs (key, filename, content_type, byte_size, checksum)
  SELECT md5('blob' || i), 'file' || i || '.bin', 'application/octet-stream', 1024 * i, md5(i::text) FROM generate_series(1, 20) i;
ANALYZE;
`;
}

export const TABLES = [
  "accounts",
  "users",
  "account_users",
  "inboxes",
  "contacts",
  "conversations",
  "messages",
  "active_storage_blobs",
] as const;

/** One query that fingerprints the data: per table its row count and an md5 over every row's md5. */
export const FINGERPRINT_SQL = TABLES.map(
  (t) => `SELECT '${t}', count(*), md5(coalesce(string_agg(md5(x::text), '' ORDER BY x.id), '')) FROM ${t} x`,
).join(" UNION ALL ");

/** Every conv_dpid_seq_<id> sequence with its last value. */
export const SEQUENCES_SQL = `SELECT sequencename || '=' || coalesce(last_value, 0) FROM pg_sequences
  WHERE sequencename LIKE 'conv_dpid_seq_%' ORDER BY sequencename`;

/** The old installation of seed 001, as adoption finds it: the records its platform app uses. */
export const ADOPTED = {
  accountId: 1,
  inboxId: 1,
  webhookId: 1,
  webhookUrl: "https://platform.example.com/api/webhooks/chatwoot",
  adminEmail: "agent1@example.com",
  platformAppName: "VisualKit Platform",
  platformToken: "kfujZswsgiWmDiuidF6WwEBh",
  userToken: "oldUserApiToken0123456789",
} as const;

/**
 * What the bootstrap and Rails' migrations look for besides the data: schema_migrations (its
 * newest version says which release wrote the dump), ar_internal_metadata (without it,
 * db:chatwoot_prepare would load a fresh schema), the API channel, the webhook, the platform app
 * and the access tokens. Column shapes follow Chatwoot's db/schema.rb.
 */
export function adoptionSql(newestMigration: string): string {
  const a = ADOPTED;
  return `
CREATE TABLE schema_migrations (version varchar PRIMARY KEY);
INSERT INTO schema_migrations VALUES ('20190101000000'), ('20230512000000'), ('${newestMigration}');
CREATE TABLE ar_internal_metadata (key varchar PRIMARY KEY, value varchar,
  created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now());
INSERT INTO ar_internal_metadata (key, value) VALUES ('environment', 'production');
CREATE TABLE channel_api (
  id bigserial PRIMARY KEY, account_id integer NOT NULL, webhook_url varchar, identifier varchar UNIQUE,
  hmac_token varchar, hmac_mandatory boolean DEFAULT false, additional_attributes jsonb DEFAULT '{}'::jsonb, secret varchar);
INSERT INTO channel_api (account_id, webhook_url, identifier) SELECT id, '', 'identifier' || id FROM accounts ORDER BY id;
UPDATE inboxes SET channel_id = id;
CREATE TABLE webhooks (
  id bigserial PRIMARY KEY, account_id integer, inbox_id integer, url text, webhook_type integer DEFAULT 0,
  subscriptions jsonb DEFAULT '[]'::jsonb, name varchar, secret varchar);
INSERT INTO webhooks (account_id, url, subscriptions, name, secret)
  VALUES (${a.accountId}, '${a.webhookUrl}', '["message_created", "conversation_status_changed"]', 'platform', 'oldWebhookSecret0123456789abcdef');
CREATE TABLE platform_apps (id bigserial PRIMARY KEY, name varchar NOT NULL);
INSERT INTO platform_apps (name) VALUES ('${a.platformAppName}');
CREATE TABLE platform_app_permissibles (
  id bigserial PRIMARY KEY, platform_app_id bigint NOT NULL, permissible_type varchar, permissible_id bigint);
INSERT INTO platform_app_permissibles (platform_app_id, permissible_type, permissible_id) VALUES (1, 'Account', ${a.accountId}), (1, 'User', 1);
CREATE TABLE access_tokens (id bigserial PRIMARY KEY, owner_type varchar, owner_id bigint, token varchar UNIQUE);
INSERT INTO access_tokens (owner_type, owner_id, token)
  VALUES ('PlatformApp', 1, '${a.platformToken}'), ('User', 1, '${a.userToken}');
INSERT INTO access_tokens (owner_type, owner_id, token) SELECT 'User', id, md5('token' || id) FROM users WHERE id > 1;
UPDATE users SET type = 'SuperAdmin' WHERE id = 1;
CREATE TABLE installation_configs (id bigserial PRIMARY KEY, name varchar NOT NULL, serialized_value jsonb, locked boolean DEFAULT true);
INSERT INTO installation_configs (name, serialized_value, locked) VALUES ('ENABLE_ACCOUNT_SIGNUP', '{"value": false}', false);
`;
}
