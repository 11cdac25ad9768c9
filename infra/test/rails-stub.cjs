#!/usr/bin/env node
/**
 * TEST STAND-IN FOR A RAILS (PUMA) WEB SERVER, NOT CHATWOOT. Used by the upgrade switch test and
 * benchmark. It behaves the way the switch depends on:
 *   - booting takes --boot-ms; meanwhile the port accepts connections (as Docker's published port
 *     does) but resets them, and /health does not answer 200;
 *   - once booted, every request takes --work-ms and answers 200 with the release it runs;
 *   - on SIGTERM it stops accepting, finishes the requests in flight (Puma's graceful stop),
 *     closes idle keep-alive connections and exits 0;
 *   - with --schema-file, it notices a schema change the way an old Rails does when a migration
 *     adds columns under it: the file names the schema; once it differs from the one the stub
 *     booted on, each of its --db-pool database connections fails the first transaction it runs
 *     (a POST here), as ActiveRecord raises PreparedStatementCacheExpired inside a transaction for
 *     a cached plan whose result type changed; reads outside a transaction are retried and pass.
 *     With --prepared-statements false (DATABASE_URL's prepared_statements=false), nothing is
 *     cached and nothing fails (infra/checks/prepared-statements.test.ts shows that with
 *     ActiveRecord and PostgreSQL).
 *
 *   node rails-stub.cjs --port 3000 --release v4.16.0 [--boot-ms 1500] [--work-ms 20] [--pid-file F]
 *                       [--schema-file F --db-pool 5] [--prepared-statements false]
 */
"use strict";
const http = require("node:http");
const fs = require("node:fs");

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port);
const release = args.release ?? "unknown";
const bootMs = Number(args["boot-ms"] ?? 1500);
const workMs = Number(args["work-ms"] ?? 20);
let ready = false;
let inFlight = 0;
const schemaFile = args["schema-file"];
const readSchema = () => (schemaFile ? fs.readFileSync(schemaFile, "utf8").trim() : "");
const bootedSchema = readSchema();
// Connections whose cached statements still expect the schema the stub booted on (none when
// prepared statements are off).
let staleConnections = args["prepared-statements"] === "false" ? 0 : Number(args["db-pool"] ?? 5);

/** Whether this request fails on a cached plan of a schema that changed under it. */
function failsOnStaleSchema(req) {
  if (!schemaFile || req.method !== "POST" || staleConnections === 0 || readSchema() === bootedSchema) return false;
  staleConnections--;
  return true;
}

const server = http.createServer((req, res) => {
  if (!ready) {
    req.socket.destroy();
    return;
  }
  inFlight++;
  req.resume();
  req.on("end", () => {
    setTimeout(() => {
      if (failsOnStaleSchema(req)) {
        res.writeHead(500, { "content-type": "application/json" });
        res.end(JSON.stringify({ release, error: "PreparedStatementCacheExpired" }));
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ release, path: req.url }));
      }
      inFlight--;
    }, req.url === "/health" ? 0 : workMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, "127.0.0.1", () => {
  if (args["pid-file"]) fs.writeFileSync(args["pid-file"], String(process.pid));
  setTimeout(() => (ready = true), bootMs);
});
process.on("SIGTERM", () => {
  // close() stops accepting and, on Node 19+, closes idle keep-alive connections; busy ones close
  // after their response (Connection: close).
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  const poll = setInterval(() => {
    server.closeIdleConnections();
    if (inFlight === 0) clearInterval(poll);
  }, 10);
});
