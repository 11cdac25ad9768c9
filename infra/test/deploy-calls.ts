/**
 * The docker calls the host scripts make, as the TEST STAND-IN docker records them (one line
 * "CHATWOOT_IMAGE=<image> <args>"), for the tests of deploy.sh and rollback.sh.
 */
export const SCHEMA_QUERY = "exec -T postgres psql -U postgres -d chatwoot -XAt -c select coalesce(max(version), '') from schema_migrations";
export const SCHEMA_RE = "psql .* from schema_migrations$";
export const CLOSE_ONBOARDING = 'exec -T redis sh -c REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli DEL alfred:CHATWOOT_INSTALLATION_ONBOARDING';
export const NEW = "chatwoot/chatwoot:v4.16.0";
export const OLD = "chatwoot/chatwoot:v4.15.1";
export const compose = (app: string, rest: string) => `compose --project-name chatwoot --env-file ${app}/.env -f ${app}/bundle/docker/compose.yaml ${rest}`;
/** The call that asks which services run (scripts/lib.sh, read_running_services). */
export const RUNNING_SERVICES = "ps --status running --services";
/** Canned answers: Rails and Caddy are running (the switch runs). */
export const RUNNING: [string, string][] = [[`${RUNNING_SERVICES}$`, "caddy\nrails"]];
export const RELOAD_TO_SURGE = "exec -T -e CHATWOOT_UPSTREAM=127.0.0.1:3001 caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile";
export const RELOAD_TO_RAILS = "exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile";
/** The web-tier switch to `image`, step by step (scripts/lib.sh). */
export const SWITCH = (app: string, image: string) => [
  `CHATWOOT_IMAGE=${image} ${compose(app, "up -d --wait --no-deps rails-surge")}`,
  `CHATWOOT_IMAGE=${image} ${compose(app, RELOAD_TO_SURGE)}`,
  `CHATWOOT_IMAGE=${image} ${compose(app, "up -d --wait --no-deps rails")}`,
  `CHATWOOT_IMAGE=${image} ${compose(app, RELOAD_TO_RAILS)}`,
  `CHATWOOT_IMAGE=${image} ${compose(app, "rm --stop --force rails-surge")}`,
];
