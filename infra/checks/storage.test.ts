/**
 * Attachments in an S3-compatible bucket: scripts/storage.rb (CORS for direct uploads, the
 * resumable move from the data volume) with the real aws-sdk-s3 and Active Storage services from
 * Debian's Ruby packages, against s3rver (npm: a local S3-compatible server) on loopback; and
 * scripts/storage.sh through the stand-in docker. Rails itself is a stand-in
 * (infra/test/active_storage_standin.rb). s3rver checks neither SigV4 signatures nor Content-MD5,
 * so nothing here claims that a wrong secret or a corrupted upload is refused; a real bucket does.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import S3rver from "s3rver";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { fakeHost } from "../test/fake-host";
import { envSettings } from "../test/fixtures";
import { describeWithTools, run, runAsync, tempDir } from "../test/tools";

const STANDIN = path.join(repoRoot, "infra/test/active_storage_standin.rb");
const SCRIPT = path.join(repoRoot, "scripts/storage.rb");
const BUCKETS = ["migrate", "resume", "broken", "cors", "viash"];
// s3rver's fixed credentials: they are only ever read from the environment, like Rails does.
const KEY_ID = "S3RVER";
const SECRET = "S3RVER";

type Blob = { key: string; checksum: string; service_name: string };

describeWithTools("attachments to an S3-compatible bucket: storage.rb with aws-sdk-s3 against s3rver", ["ruby"], () => {
  let server: S3rver;
  let endpoint = "";
  let work: string;
  beforeAll(async () => {
    const ok = run("ruby", ["-e", 'require "aws-sdk-s3"; require "active_storage"']);
    if (ok.status !== 0) throw new Error(`Debian's ruby-aws-sdk-s3 and ruby-activestorage are needed (.ci/run installs them): ${ok.stderr}`);
    work = tempDir("storage");
    server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: path.join(work, "s3"), configureBuckets: BUCKETS.map((name) => ({ name })) });
    const addr = await server.run();
    endpoint = `http://127.0.0.1:${addr.port}`;
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  let volume: string;
  let blobsFile: string;
  beforeEach(() => {
    volume = tempDir("volume");
    blobsFile = path.join(volume, "..", `${path.basename(volume)}-blobs.json`);
  });
  afterEach(() => {
    fs.rmSync(volume, { recursive: true, force: true });
    fs.rmSync(blobsFile, { force: true });
  });

  /** Files on the volume where the Disk service keeps them, and their blob rows. */
  const addFiles = (names: string[], blobs: Blob[] = []): Blob[] => {
    for (const name of names) {
      const key = crypto.createHash("sha1").update(name).digest("hex").slice(0, 28);
      const body = Buffer.from(`attachment ${name}\n`.repeat(50));
      const dir = path.join(volume, key.slice(0, 2), key.slice(2, 4));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, key), body);
      blobs.push({ key, checksum: crypto.createHash("md5").update(body).digest("base64"), service_name: "local" });
    }
    fs.writeFileSync(blobsFile, JSON.stringify(blobs));
    return blobs;
  };
  const blobs = (): Blob[] => JSON.parse(fs.readFileSync(blobsFile, "utf8"));
  const env = (bucket: string, over: Record<string, string> = {}) => ({
    ...process.env,
    STANDIN_STORAGE_ROOT: volume,
    STANDIN_BLOBS: blobsFile,
    STORAGE_BUCKET_NAME: bucket,
    STORAGE_REGION: "us-east-1",
    STORAGE_ENDPOINT: endpoint,
    STORAGE_FORCE_PATH_STYLE: "true",
    STORAGE_ACCESS_KEY_ID: KEY_ID,
    STORAGE_SECRET_ACCESS_KEY: SECRET,
    ...over,
  });
  // Asynchronous: the S3 server runs in this process and must keep answering meanwhile.
  const storage = async (args: string[], bucket: string, over: Record<string, string> = {}) => {
    const r = await runAsync("ruby", ["-r", STANDIN, SCRIPT, ...args], { env: env(bucket, over) });
    const line = r.stdout.split("\n").find((l) => l.startsWith("CHATWOOT_STORAGE_RESULT "));
    return { ...r, result: line ? JSON.parse(line.slice("CHATWOOT_STORAGE_RESULT ".length)) : undefined };
  };
  const object = async (bucket: string, key: string) => {
    const res = await fetch(`${endpoint}/${bucket}/${key}`);
    return res.ok ? Buffer.from(await res.arrayBuffer()) : undefined;
  };

  it("moves every blob into the bucket, byte for byte, and points its row there", async () => {
    const rows = addFiles(Array.from({ length: 20 }, (_, i) => `file-${i}`));
    const r = await storage(["migrate"], "migrate");
    expect(r.stderr).toBe("");
    expect(r.result).toEqual({ copied: 20, already_in_bucket: 0, missing_on_volume: 0, missing_examples: [] });
    expect(blobs().map((b) => b.service_name)).toEqual(Array(20).fill("s3_compatible"));
    for (const b of rows) {
      const body = await object("migrate", b.key);
      expect(crypto.createHash("md5").update(body!).digest("base64")).toBe(b.checksum);
    }
    // Done is done: a second run finds nothing left on the volume.
    expect((await storage(["migrate"], "migrate")).result).toMatchObject({ copied: 0, already_in_bucket: 0 });
  });

  it("resumes an interrupted move: objects already uploaded are not sent again, moved rows are left alone", async () => {
    addFiles(Array.from({ length: 10 }, (_, i) => `resume-${i}`));
    expect((await storage(["migrate"], "resume")).result.copied).toBe(10);
    // As a run killed between the upload and the row's update leaves it: 4 rows still say local.
    const interrupted = blobs().map((b, i) => (i < 4 ? { ...b, service_name: "local" } : b));
    fs.writeFileSync(blobsFile, JSON.stringify(interrupted));
    addFiles(["resume-new-1", "resume-new-2"], interrupted);
    const r = await storage(["migrate"], "resume");
    expect(r.result).toMatchObject({ copied: 2, already_in_bucket: 4, missing_on_volume: 0 });
    expect(blobs().every((b) => b.service_name === "s3_compatible")).toBe(true);
  });

  it("leaves a blob whose file is missing on the volume, and names it", async () => {
    const rows = addFiles(["kept-1", "lost-1"]);
    const lost = rows[1]!;
    fs.rmSync(path.join(volume, lost.key.slice(0, 2), lost.key.slice(2, 4), lost.key));
    const r = await storage(["migrate"], "migrate");
    expect(r.result).toMatchObject({ copied: 1, missing_on_volume: 1, missing_examples: [lost.key] });
    expect(blobs().find((b) => b.key === lost.key)!.service_name).toBe("local");
  });

  it("fails without showing the credentials when they are wrong", async () => {
    addFiles(["denied"]);
    // s3rver knows one key id; it does not check SigV4 signatures, so an unknown key id is the
    // refusal it can give (a real endpoint refuses a wrong secret the same way).
    const wrong = "WRONGKEYID0123456789";
    const r = await storage(["migrate"], "migrate", { STORAGE_ACCESS_KEY_ID: wrong, STORAGE_SECRET_ACCESS_KEY: "wrong-secret-value-0123456789" });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).not.toContain("wrong-secret-value");
    expect(r.stderr).toContain("check the chatwoot:storage settings and credentials");
    expect(blobs()[0]!.service_name).toBe("local");
  });

  it("sets the bucket's CORS so that the site's browsers, and only they, may upload", async () => {
    addFiles([]);
    const r = await storage(["cors", "https://chat.example.com"], "cors");
    expect(r.stderr).toBe("");
    expect(r.result).toEqual({ cors_origin: "https://chat.example.com", other_rules_kept: 0 });
    const preflight = (origin: string) =>
      fetch(`${endpoint}/cors/some-key`, {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "content-type,content-md5" },
      });
    const allowed = await preflight("https://chat.example.com");
    expect(allowed.status).toBe(200);
    // (s3rver answers a matching preflight with "*"; S3 echoes the origin. Either allows it.)
    expect(allowed.headers.get("access-control-allow-origin")).not.toBeNull();
    expect(allowed.headers.get("access-control-allow-methods")).toContain("PUT");
    const other = await preflight("https://evil.example.net");
    expect(other.status).toBe(403);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("merges its CORS rule into the bucket's configuration: another application's rule stays, its own is replaced", async () => {
    addFiles([]);
    // Another application's rule on the same bucket, set with the same SDK the way it would be.
    const other = await storage(["cors", "https://chat.example.com"], "cors");
    expect(other.status).toBe(0);
    const put = await runAsync("ruby", ["-e", `
      require 'aws-sdk-s3'
      c = Aws::S3::Client.new(endpoint: ARGV[0], region: 'us-east-1', access_key_id: 'S3RVER', secret_access_key: 'S3RVER', force_path_style: true)
      rules = c.get_bucket_cors(bucket: 'cors').cors_rules.map(&:to_h)
      c.put_bucket_cors(bucket: 'cors', cors_configuration: { cors_rules: rules + [{ id: 'other-app', allowed_origins: ['https://other.example.org'], allowed_methods: ['GET'] }] })
    `, endpoint]);
    expect(put.stderr).toBe("");
    const again = await storage(["cors", "https://support.example.com"], "cors");
    expect(again.result).toEqual({ cors_origin: "https://support.example.com", other_rules_kept: 1 });
    const preflight = (origin: string, method: string) =>
      fetch(`${endpoint}/cors/some-key`, { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": method } });
    expect((await preflight("https://other.example.org", "GET")).status).toBe(200);
    expect((await preflight("https://support.example.com", "PUT")).status).toBe(200);
    // The stack's previous origin is gone with its old rule.
    expect((await preflight("https://chat.example.com", "PUT")).status).toBe(403);
  });

  it("storage.sh sync runs both in the rails container when the bucket is configured, and nothing when it is not", async () => {
    const local = fakeHost();
    try {
      const r = local.exec("storage.sh", ["sync"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("nothing to do");
      expect(local.calls()).toEqual([]);
    } finally {
      local.cleanup();
    }
    const host = fakeHost({
      ...envSettings,
      storage: { bucket: "viash", region: "us-east-1", endpoint: "https://fsn1.your-objectstorage.com", forcePathStyle: true, directUploads: true },
    });
    try {
      fs.mkdirSync(path.join(host.app, "release"), { recursive: true });
      fs.writeFileSync(path.join(host.app, "release/current"), "chatwoot/chatwoot:v4.15.1");
      addFiles(["via-sh-1", "via-sh-2"]);
      // Rails has the real endpoint and credentials in its environment (the app's env file).
      const rails: NodeJS.ProcessEnv = env("viash");
      delete rails.PATH;
      const r = await host.execAsync("storage.sh", ["sync"], { env: { ...rails, STANDIN_MODELS: STANDIN } });
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`letting https://${envSettings.domain} upload to the bucket (CORS)`);
      expect(r.stdout).toMatch(/attachments: \{"copied":2,/);
      expect(host.calls().map((c) => c.replace(/^CHATWOOT_IMAGE=\S* /, ""))).toEqual([
        expect.stringMatching(/ cp .*scripts\/storage\.rb rails:\/tmp\/chatwoot-storage\.rb$/),
        expect.stringMatching(/ exec -T rails bundle exec rails runner \/tmp\/chatwoot-storage\.rb cors https:\/\/chat\.example\.com$/),
        expect.stringMatching(/ exec -T rails bundle exec rails runner \/tmp\/chatwoot-storage\.rb migrate$/),
      ]);
      expect(host.calls().join("\n")).not.toContain(SECRET);
    } finally {
      host.cleanup();
    }
  });
});
