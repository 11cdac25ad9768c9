/**
 * The remote steps' shell text: as strings, through shellcheck, and the upload run for real. One
 * test group per step, as in commands.ts, which is why it is a little over ~300 lines.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bundleFiles } from "./artifacts";
import { describeWithTools, run, tempDir } from "../test/tools";
import { manifestSummary, renderBundle, type BundleFile } from "./bundle";
import { ENV_FILE_END } from "../chatwoot/env-file";
import { SHUTDOWN_BEFORE_DELETION_SECONDS } from "../facts/hetzner";
import { repoRoot } from "../lib/repo";
import {
  CHATWOOT_UNIT,
  SHUTDOWN_STOP_SECONDS,
  renderShutdownUnit,
  renderBootstrapCommand,
  renderDeployCommand,
  renderUploadCommand,
  renderVerifyCommand,
  renderWaitReadyCommand,
  renderWatchdogUnits,
  WATCHDOG_SERVICE,
  WATCHDOG_TIMER,
  dockerApiCheck,
  MIN_DOCKER_API,
  renderWriteEnvCommand,
  shellQuote,
} from "./commands";

const paths = { appDir: "/opt/chatwoot", dataDir: "/srv/chatwoot" };
const files: BundleFile[] = [
  { path: "docker/compose.yaml", mode: "0644", content: Buffer.from("services: {}\n") },
  { path: "scripts/deploy.sh", mode: "0755", content: Buffer.from("#!/bin/sh\necho deployed\n") },
  { path: "scripts/empty.txt", mode: "0644", content: Buffer.alloc(0) },
];

function allCommands(appDir = paths.appDir): Record<string, string> {
  const p = { ...paths, appDir };
  const bundle = renderBundle(files);
  return {
    waitReady: renderWaitReadyCommand({ ...p, volumeDevice: "/dev/disk/by-id/scsi-0HC_Volume_123", volumeSizeGb: 20 }),
    upload: renderUploadCommand(p, bundle, manifestSummary(files)),
    writeEnv: renderWriteEnvCommand(p, "# header\nA='1'\nSECRET_KEY_BASE='<secret>'\n"),
    deploy: renderDeployCommand(p, { version: "v4.15.1", bundleHash: "a".repeat(64), maskedEnvHash: "b".repeat(64), serverType: "cx33" }),
    bootstrap: renderBootstrapCommand(p, { configHash: "c".repeat(64), version: "v4.15.1", scriptHash: "e".repeat(64) }),
    verify: renderVerifyCommand(p, { domain: "chat.example.com", version: "v4.15.1", frameOrigins: ["https://a.example.com"], inputsHash: "d".repeat(64) }, { v4: "203.0.113.10", v6: "2001:db8::1" }),
  };
}

describe("command text", () => {
  it("quotes words for sh", () => {
    expect(shellQuote("plain")).toBe("'plain'");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("names the script and the version for deploy, the checks for verify", () => {
    const c = allCommands();
    expect(c.deploy.split("\n")[0]).toBe("'/opt/chatwoot/bundle/scripts/deploy.sh' --version 'v4.15.1'");
    expect(c.deploy).toContain("# files aaaaaaaaaaaa, env (masked) bbbbbbbbbbbb\n# sized on a cx33 (scripts/tuning.sh)");
    expect(c.verify.split("\n")[0]).toBe(
      "'/opt/chatwoot/bundle/scripts/verify.sh' --domain 'chat.example.com' --version 'v4.15.1' --frame-origins 'https://a.example.com' --public-ipv4 '203.0.113.10' --public-ipv6 '2001:db8::1' --watchdog",
    );
    const withHelp = renderVerifyCommand(
      paths,
      { domain: "chat.example.com", helpCenterDomain: "help.example.com", version: "v4.15.1", frameOrigins: [], inputsHash: "d".repeat(64) },
      { v4: "203.0.113.10", v6: "2001:db8::1" },
    );
    expect(withHelp.split("\n")[0]).toContain("--domain 'chat.example.com' --help-center 'help.example.com' --version 'v4.15.1'");
  });

  it("waits for cloud-init accepting exit 2, mounts by device id with nofail", () => {
    const c = allCommands().waitReady;
    expect(c).toContain('if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then');
    expect(c).toContain("dev='/dev/disk/by-id/scsi-0HC_Volume_123'");
    expect(c).toContain('line="$dev /srv/chatwoot ext4 defaults,nofail,discard 0 2"');
  });

  it("lists the bundle's files with hashes and marks executables", () => {
    const c = allCommands().upload;
    expect(c).toMatch(/^# {3}docker\/compose\.yaml [0-9a-f]{12}$/m);
    expect(c).toMatch(/^# {3}scripts\/deploy\.sh [0-9a-f]{12} \(x\)$/m);
  });

  it("shows the masked env file as comments only", () => {
    const c = allCommands().writeEnv;
    expect(c).toContain("#   SECRET_KEY_BASE='<secret>'");
    expect(c.split("\n").filter((l) => !l.startsWith("#")).join("\n")).not.toContain("<secret>");
  });
});

describe("wait-ready's Docker Engine check, against a stand-in docker", () => {
  // TEST STAND-IN for `docker version`: prints the API version it is given, or fails like a
  // missing daemon when given none.
  function check(api: string | undefined) {
    const dir = tempDir("docker-api");
    const docker = path.join(dir, "docker");
    fs.writeFileSync(docker, api === undefined ? "#!/bin/sh\nexit 1\n" : `#!/bin/sh\necho '${api}'\n`, { mode: 0o755 });
    const r = run("sh", ["-c", `${dockerApiCheck}\necho engine-ok`], { env: { PATH: `${dir}:/usr/bin:/bin` } });
    fs.rmSync(dir, { recursive: true, force: true });
    return r;
  }

  it.each(["1.44", "1.45", "1.47", "1.100"])("accepts API %s", (api) => {
    const r = check(api);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("engine-ok");
  });

  it.each(["1.43", "1.41", "1.9"])("refuses API %s, saying what is needed", (api) => {
    const r = check(api);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Docker Engine API ${api} is older than ${MIN_DOCKER_API}`);
  });

  it("refuses when no daemon answers", () => {
    const r = check(undefined);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Docker Engine API unknown");
  });
});

describeWithTools("shellcheck on the rendered commands", ["shellcheck"], () => {
  it.each(Object.entries(allCommands()))("%s passes", (_name, text) => {
    const r = run("shellcheck", ["-s", "sh", "-"], { input: text });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("the upload step, run by a real shell", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const upload = (appDir: string, payload: string, bundleFilesList = files) =>
    run("sh", ["-c", renderUploadCommand({ ...paths, appDir }, renderBundle(bundleFilesList), manifestSummary(bundleFilesList))], { input: payload });

  it("unpacks every file with its mode and writes the manifest", () => {
    const app = tempDir("upload");
    dirs.push(app);
    const r = upload(app, renderBundle(files).payload);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(app, "bundle/docker/compose.yaml"), "utf8")).toBe("services: {}\n");
    expect(fs.statSync(path.join(app, "bundle/scripts/deploy.sh")).mode & 0o777).toBe(0o755);
    expect(fs.statSync(path.join(app, "bundle/docker/compose.yaml")).mode & 0o777).toBe(0o644);
    expect(fs.readFileSync(path.join(app, "bundle/scripts/empty.txt")).length).toBe(0);
    expect(fs.readFileSync(path.join(app, "bundle/MANIFEST"), "utf8")).toBe(renderBundle(files).manifest);
  });

  it("replaces the whole bundle, so removed files disappear", () => {
    const app = tempDir("upload");
    dirs.push(app);
    expect(upload(app, renderBundle(files).payload).status).toBe(0);
    const fewer = files.filter((f) => f.path !== "scripts/empty.txt");
    expect(upload(app, renderBundle(fewer).payload, fewer).status).toBe(0);
    expect(fs.existsSync(path.join(app, "bundle/scripts/empty.txt"))).toBe(false);
    expect(fs.existsSync(path.join(app, "bundle.previous/scripts/empty.txt"))).toBe(true);
    expect(fs.readdirSync(app).sort()).toEqual(["bundle", "bundle.previous", "bundles"]);
    expect(fs.lstatSync(path.join(app, "bundle")).isSymbolicLink()).toBe(true);
  });

  it("keeps only the current and the previous release, and cleans up after an interrupted upload", () => {
    const app = tempDir("upload");
    dirs.push(app);
    for (let i = 0; i < 3; i++) expect(upload(app, renderBundle(files).payload).status).toBe(0);
    fs.mkdirSync(path.join(app, "bundles/.staging-leftover"));
    expect(upload(app, renderBundle(files).payload).status).toBe(0);
    const releases = fs.readdirSync(path.join(app, "bundles"));
    expect(releases).toHaveLength(2);
    expect(releases.sort()).toEqual([fs.readlinkSync(path.join(app, "bundle")), fs.readlinkSync(path.join(app, "bundle.previous"))].map((l) => l.replace("bundles/", "")).sort());
  });

  it("switches with one rename: a kill at any point leaves a complete bundle", () => {
    // Kill the upload after each line of its script: "bundle" is always a complete release.
    const app = tempDir("upload");
    dirs.push(app);
    expect(upload(app, renderBundle(files).payload).status).toBe(0);
    const script = renderUploadCommand({ ...paths, appDir: app }, renderBundle(files), manifestSummary(files)).split("\n");
    const switchAt = script.findIndex((l) => l.startsWith("ln -sfn \"$release\""));
    for (let cut = switchAt - 2; cut <= switchAt + 1; cut++) {
      const partial = [...script.slice(0, cut), "exit 0"].join("\n");
      run("sh", ["-c", partial], { input: renderBundle(files).payload });
      expect(fs.readFileSync(path.join(app, "bundle/docker/compose.yaml"), "utf8"), `cut after line ${cut}`).toBe("services: {}\n");
      expect(fs.readFileSync(path.join(app, "bundle/MANIFEST"), "utf8").trim().split("\n")).toHaveLength(files.length);
    }
  });

  it("moves a plain bundle directory of an earlier version into the release layout", () => {
    const app = tempDir("upload");
    dirs.push(app);
    fs.mkdirSync(path.join(app, "bundle/docker"), { recursive: true });
    fs.writeFileSync(path.join(app, "bundle/docker/old.txt"), "old\n");
    expect(upload(app, renderBundle(files).payload).status).toBe(0);
    expect(fs.lstatSync(path.join(app, "bundle")).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(app, "bundle.previous/docker/old.txt"), "utf8")).toBe("old\n");
  });

  it("refuses a corrupted or truncated payload and keeps the previous bundle", () => {
    const app = tempDir("upload");
    dirs.push(app);
    expect(upload(app, renderBundle(files).payload).status).toBe(0);
    const corrupted = renderBundle(files).payload.replace("c2VydmljZXM", "c2VydmljZXN");
    const r = upload(app, corrupted);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("checksum mismatch: docker/compose.yaml");
    const truncated = renderBundle(files).payload.split("\n").slice(0, 1).join("\n") + "\n";
    expect(upload(app, truncated).stderr).toContain("bundle incomplete: expected 3 files");
    expect(fs.readFileSync(path.join(app, "bundle/docker/compose.yaml"), "utf8")).toBe("services: {}\n");
    expect(fs.readdirSync(path.join(app, "bundles"))).toHaveLength(1);
  });

  it("carries the real bundle intact", () => {
    const app = tempDir("upload");
    dirs.push(app);
    const real = bundleFiles();
    const r = upload(app, renderBundle(real).payload, real);
    expect(r.status).toBe(0);
    for (const f of real) expect(fs.readFileSync(path.join(app, "bundle", f.path))).toEqual(f.content);
  });
});

describe("the shutdown unit wait-ready installs", () => {
  const unit = renderShutdownUnit(paths);

  it("stops the containers while Docker runs and before the data volume is unmounted", () => {
    // Units stop in reverse start order: After= docker and the mount means stopped before both.
    expect(unit).toContain("After=docker.service");
    expect(unit).toContain(`RequiresMountsFor=${paths.dataDir}`);
    expect(unit).toContain(`ExecStop=-${paths.appDir}/bundle/scripts/compose.sh stop`);
    expect(unit).toMatch(/TimeoutStopSec=\d+/);
  });

  it("stops everything within the provider's wait before it deletes a server being replaced", () => {
    const stops = [...unit.matchAll(/^ExecStop=-\S+ stop -t (\d+)(.*)$/gm)].map((m) => ({ seconds: Number(m[1]), services: m[2]!.trim() }));
    // First the app tier, then everything else (the datastores last).
    expect(stops).toEqual([
      { seconds: SHUTDOWN_STOP_SECONDS.app, services: "caddy rails sidekiq" },
      { seconds: SHUTDOWN_STOP_SECONDS.datastores, services: "" },
    ]);
    // A few seconds are left for systemd and Docker themselves.
    expect(stops.reduce((t, s) => t + s.seconds, 0)).toBeLessThanOrEqual(SHUTDOWN_BEFORE_DELETION_SECONDS - 3);
    // Sidekiq's own shutdown timeout ends first: it pushes unfinished jobs back before Docker kills it.
    const compose = fs.readFileSync(path.join(repoRoot, "docker/compose.yaml"), "utf8");
    const sidekiqTimeout = Number(/"sidekiq", "-C", "config\/sidekiq\.yml", "-t", "(\d+)"/.exec(compose)?.[1]);
    expect(sidekiqTimeout).toBeGreaterThan(0);
    expect(sidekiqTimeout).toBeLessThanOrEqual(SHUTDOWN_STOP_SECONDS.app - 3);
  });

  it("starts them again at boot, and never fails a boot or a shutdown on a host with nothing deployed", () => {
    expect(unit).toContain(`ExecStart=-${paths.appDir}/bundle/scripts/compose.sh start`);
    expect(unit).toContain("RemainAfterExit=yes");
    expect(unit).toContain("WantedBy=multi-user.target");
  });

  it("is written and enabled by wait-ready", () => {
    const text = allCommands().waitReady;
    expect(text).toContain(`cat > /etc/systemd/system/${CHATWOOT_UNIT}.new <<'UNIT'\n${unit}UNIT\n`);
    expect(text).toContain(`systemctl enable --quiet ${CHATWOOT_UNIT}`);
  });
});

describe("the watchdog units wait-ready installs", () => {
  const units = renderWatchdogUnits(paths);
  it("run the deployed watchdog every minute, and skip the run before the first upload", () => {
    expect(units.service).toContain("ExecStart=/usr/bin/python3 /opt/chatwoot/bundle/scripts/watchdog.py run");
    expect(units.service).toContain("ConditionPathExists=/opt/chatwoot/bundle/scripts/watchdog.py");
    expect(units.service).toContain("Type=oneshot");
    expect(units.timer).toContain("OnUnitActiveSec=1min");
    expect(units.timer).toContain("WantedBy=timers.target");
  });
  it("are written, and the timer enabled and started, by wait-ready", () => {
    const text = allCommands().waitReady;
    expect(text).toContain(`cat > /etc/systemd/system/${WATCHDOG_SERVICE}.new <<'UNIT'\n${units.service}UNIT\n`);
    expect(text).toContain(`cat > /etc/systemd/system/${WATCHDOG_TIMER}.new <<'UNIT'\n${units.timer}UNIT\n`);
    expect(text).toContain(`systemctl enable --quiet --now ${WATCHDOG_TIMER}`);
  });
});

describeWithTools("the watchdog units, checked by systemd", ["systemd-analyze"], () => {
  it("pass systemd-analyze verify", () => {
    const dir = tempDir("unit");
    const units = renderWatchdogUnits({ appDir: dir, dataDir: dir });
    fs.writeFileSync(path.join(dir, WATCHDOG_SERVICE), units.service);
    fs.writeFileSync(path.join(dir, WATCHDOG_TIMER), units.timer);
    fs.mkdirSync(path.join(dir, "bundle/scripts"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bundle/scripts/watchdog.py"), "#!/usr/bin/env python3\n", { mode: 0o755 });
    const r = run("systemd-analyze", ["verify", path.join(dir, WATCHDOG_SERVICE), path.join(dir, WATCHDOG_TIMER)]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr.split("\n").filter((l) => l.includes("chatwoot-watchdog"))).toEqual([]);
  });
  it("would report a broken unit (the check can fail)", () => {
    const dir = tempDir("unit");
    fs.writeFileSync(path.join(dir, WATCHDOG_TIMER), renderWatchdogUnits({ appDir: dir, dataDir: dir }).timer.replace("OnUnitActiveSec=1min", "OnUnitActiveSec=every minute"));
    const r = run("systemd-analyze", ["verify", path.join(dir, WATCHDOG_TIMER)]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr).toContain("chatwoot-watchdog.timer");
  });
});

describeWithTools("the shutdown unit, checked by systemd", ["systemd-analyze"], () => {
  it("passes systemd-analyze verify", () => {
    const dir = tempDir("unit");
    const file = path.join(dir, CHATWOOT_UNIT);
    fs.writeFileSync(file, renderShutdownUnit({ appDir: dir, dataDir: dir }));
    fs.mkdirSync(path.join(dir, "bundle/scripts"), { recursive: true });
    fs.writeFileSync(path.join(dir, "bundle/scripts/compose.sh"), "#!/bin/sh\n", { mode: 0o755 });
    const r = run("systemd-analyze", ["verify", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stderr.split("\n").filter((l) => l.includes(CHATWOOT_UNIT))).toEqual([]);
  });
});

describe("write-env, run by sh on a scratch directory", () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const complete = `# header\nA='1'\nSECRET_KEY_BASE='sentinel-secret-value'\n${ENV_FILE_END}\n`;
  const writeEnv = (appDir: string, input: string) =>
    run("sh", ["-c", renderWriteEnvCommand({ ...paths, appDir }, "# masked\n")], { input });

  it("installs a complete file with mode 0600, even over a leftover .env.new of mode 0644", () => {
    const app = tempDir("env");
    dirs.push(app);
    fs.writeFileSync(path.join(app, ".env.new"), "stale\n", { mode: 0o644 });
    const r = writeEnv(app, complete);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(app, ".env"), "utf8")).toBe(complete);
    expect(fs.statSync(path.join(app, ".env")).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(app).sort()).toEqual([".env"]);
  });

  it("keeps the current .env when the stream is cut, and leaves no partial copy", () => {
    const app = tempDir("env");
    dirs.push(app);
    expect(writeEnv(app, complete).status).toBe(0);
    for (const cut of [complete.slice(0, complete.indexOf(ENV_FILE_END)), complete.slice(0, 20), ""]) {
      const r = writeEnv(app, cut);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("the env file arrived incomplete; the current .env is kept");
      expect(r.stdout + r.stderr).not.toContain("sentinel-secret-value");
      expect(fs.readFileSync(path.join(app, ".env"), "utf8")).toBe(complete);
      expect(fs.readdirSync(app).sort()).toEqual([".env"]);
    }
  });

  it("refuses a malformed line without printing it", () => {
    const app = tempDir("env");
    dirs.push(app);
    const r = writeEnv(app, complete.replace("A='1'", "A=sentinel-secret-value"));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("malformed line");
    expect(r.stdout + r.stderr).not.toContain("sentinel");
    expect(fs.existsSync(path.join(app, ".env"))).toBe(false);
  });

  it("keeps the env file it replaces as .env.previous", () => {
    const app = tempDir("env");
    dirs.push(app);
    expect(writeEnv(app, complete).status).toBe(0);
    const next = complete.replace("A='1'", "A='2'");
    expect(writeEnv(app, next).status).toBe(0);
    expect(fs.readFileSync(path.join(app, ".env.previous"), "utf8")).toBe(complete);
    expect(fs.statSync(path.join(app, ".env.previous")).mode & 0o777).toBe(0o600);
  });
});

