/**
 * scripts/watchdog.py under faults, on the stand-in host of infra/test/watchdog-rig.ts: alert
 * endpoints that answer garbage or drip-feed, a state file of the wrong shape, a directory in its
 * place, a full disk (writes to /dev/full, the kernel's own ENOSPC), a host lock held for too long,
 * a wall clock that jumps, and a run killed while it sends. The watchdog never goes silent, never
 * repeats itself, and recovers by itself.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { describeWithTools, run } from "../test/tools";
import { waitUntil, watchdogRig } from "../test/watchdog-rig";

/** What a broken endpoint answers. */
const BAD_ANSWERS = {
  "a garbage status line": (s: net.Socket) => s.end("HTTX/9 banana\r\n\r\n"),
  "a short body": (s: net.Socket) => s.end("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nshort"),
  "too many headers": (s: net.Socket) => s.end("HTTP/1.1 200 OK\r\n" + Array.from({ length: 150 }, (_, i) => `X-H${i}: v\r\n`).join("") + "Content-Length: 0\r\n\r\n"),
  "a redirect to plain http on another host": (s: net.Socket) => s.end("HTTP/1.1 302 Found\r\nLocation: http://other.invalid/x\r\nContent-Length: 0\r\n\r\n"),
  "a byte every half second, for ever": (s: net.Socket) => {
    const t = setInterval(() => s.write("H"), 500);
    s.on("close", () => clearInterval(t));
    s.on("error", () => clearInterval(t));
  },
  "nothing at all": () => undefined,
} as const;
type Mode = keyof typeof BAD_ANSWERS;

describeWithTools("the watchdog under faults", ["python3", "openssl", "flock"], () => {
  const w = watchdogRig();
  let bad: net.Server;
  let badUrl = "";
  const badRequests: string[] = [];
  const open = new Set<net.Socket>();
  let mode: Mode = "a garbage status line";

  beforeAll(async () => {
    bad = net.createServer((s) => {
      open.add(s);
      s.on("close", () => open.delete(s));
      s.on("error", () => undefined);
      s.once("data", (d) => {
        badRequests.push(d.toString("utf8").split("\r\n")[0]!);
        BAD_ANSWERS[mode](s);
      });
    });
    await new Promise<void>((r) => bad.listen(0, "127.0.0.1", r));
    badUrl = `http://127.0.0.1:${(bad.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of open) s.destroy();
    await new Promise<void>((r) => bad.close(() => r()));
  });
  beforeEach(() => {
    badRequests.length = 0;
  });

  const checksOf = () => Object.fromEntries(Object.entries(w.state().checks).map(([k, v]) => [k, v.state]));
  const deadline = { WATCHDOG_TEST_DEADLINE: "1" };

  it.each(Object.keys(BAD_ANSWERS) as Mode[])("a webhook and a ping endpoint answering %s: the run completes, saves, tells the other channel, and names no URL", async (m) => {
    mode = m;
    expect((await w.watchdog(["run"], deadline)).status).toBe(0);
    w.setEnv("ALERT_WEBHOOK_URL", `${badUrl}/hook/secret-path-5e1a`);
    w.setEnv("ALERT_PING_URL", `${badUrl}/ping/secret-path-77b0`);
    w.smtp.messages.length = 0;
    w.setDisk(95, 30);
    const r = await w.watchdog(["run"], deadline);
    expect(r.status).toBe(0);
    // The broken ping at the start did not stop the checks; the state has all of them.
    expect(badRequests.some((l) => l.includes("/ping/secret-path-77b0/start"))).toBe(true);
    expect(checksOf()).toMatchObject({ disk: "fail", site: "ok", lock: "ok", state: "ok" });
    expect(w.smtp.messages.map((x) => x.data)).toEqual([expect.stringContaining("disk failing: ")]);
    const errors = (w.state() as unknown as { delivery_errors: Record<string, string> }).delivery_errors;
    expect(Object.keys(errors).sort()).toEqual(["ping", "webhook"]);
    expect(r.stderr).toContain(`could not deliver to webhook (${errors.webhook})`);
    expect(r.stdout + r.stderr).not.toContain("secret-path");
    expect(r.stderr).not.toContain("Traceback");
    // Mail got it through: the next run does not send it again.
    const again = await w.watchdog(["run"], deadline);
    expect(again.status).toBe(0);
    expect(w.smtp.messages).toHaveLength(1);
  });

  it("a redirect is not followed, and says so", async () => {
    mode = "a redirect to plain http on another host";
    w.setEnv("ALERT_WEBHOOK_URL", `${badUrl}/hook/x`);
    const r = await w.watchdog(["test-alert"], deadline);
    expect(r.stdout).toContain("webhook: FAILED (HTTP 302 (redirects are not followed))");
    expect(badRequests).toEqual(["POST /hook/x HTTP/1.1"]);
  });

  it.each([
    ["a list", []],
    ["checks as a string", { checks: "all good", facts: 5, silence_until: "never" }],
    ["checks of unknown states", { checks: { disk: { state: "bogus", since: "x" }, site: 7 }, facts: { recent_restarts: { rails: "x" } } }],
  ])("a state file of the wrong shape (%s): the run recovers and rewrites it", async (_what, content) => {
    fs.mkdirSync(path.dirname(w.stateFile()), { recursive: true });
    w.writeState(content);
    const r = await w.watchdog(["run"]);
    expect(r.stderr).not.toContain("Traceback");
    expect(r.status).toBe(0);
    expect(checksOf()).toMatchObject({ disk: "ok", site: "ok", state: "ok" });
    expect((await w.watchdog(["status"])).status).toBe(0);
  });

  it("a directory in place of the state file is moved aside, not deleted, and the run goes on", async () => {
    fs.mkdirSync(path.join(w.stateFile(), "inside"), { recursive: true });
    fs.writeFileSync(path.join(w.stateFile(), "inside/keep"), "x");
    const r = await w.watchdog(["run"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/state\.json was a directory; moved aside to .*state\.json\.broken-/);
    expect(fs.statSync(w.stateFile()).isFile()).toBe(true);
    const aside = fs.readdirSync(path.dirname(w.stateFile())).filter((f) => f.startsWith("state.json.broken-"));
    expect(aside).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(w.stateFile()), aside[0]!, "inside/keep"), "utf8")).toBe("x");
  });

  it("a full disk: alerts once that its state cannot be kept, keeps it in memory meanwhile, and says when it recovers", async () => {
    expect((await w.watchdog(["run"])).status).toBe(0);
    w.receiver.received.length = 0;
    // Every write of the state file lands on /dev/full: ENOSPC from the kernel, as on a full disk.
    const full = () => fs.symlinkSync("/dev/full", `${w.stateFile()}.new`);
    full();
    const first = await w.watchdog(["run"]);
    expect(first.status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringMatching(/state failing: cannot keep its state in .* \(OSError No space left on device\)/)]);
    for (let i = 0; i < 2; i++) {
      if (!fs.existsSync(`${w.stateFile()}.new`)) full();
      w.receiver.received.length = 0;
      expect((await w.watchdog(["run"])).status).toBe(0);
      expect(w.hooks()).toEqual([]);
    }
    fs.rmSync(`${w.stateFile()}.new`, { force: true });
    const freed = await w.watchdog(["run"]);
    expect(freed.status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("state recovered: state kept")]);
    expect(fs.existsSync(path.join(w.host.root, "run/chatwoot-watchdog/state.json"))).toBe(false);
  });

  it("a deploy that holds the host lock too long: alerts about the lock, then sends what is still wrong", async () => {
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_MONOTONIC: "1000" })).status).toBe(0);
    w.receiver.received.length = 0;
    w.setContainers({ rails: null });
    fs.writeFileSync(path.join(w.host.app, ".lock.owner"), "deploy.sh (pid 4242) since 2026-12-05T10:00:00Z\n");
    const holder: ChildProcess = spawn("flock", [path.join(w.host.app, ".lock"), "sleep", "900"], { stdio: "ignore", detached: true });
    try {
      await waitUntil(() => run("flock", ["-n", path.join(w.host.app, ".lock"), "true"]).status !== 0);
      const early = await w.watchdog(["run"], { WATCHDOG_FAKE_MONOTONIC: "1060" });
      expect(early.stdout).toContain("event(s) held back");
      expect(w.hooks()).toEqual([]);
      const late = await w.watchdog(["run"], { WATCHDOG_FAKE_MONOTONIC: String(1060 + 31 * 60) });
      expect(late.status).toBe(0);
      const texts = w.hooks().map((h) => h.text);
      expect(texts).toHaveLength(1);
      expect(texts[0]).toContain("lock failing: the host lock has been held for 31 min (limit 30) by deploy.sh (pid 4242)");
      expect(texts[0]).toContain("containers failing: rails missing");
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
  });

  it("silence takes a bounded duration, and a stored silence is never longer than that", async () => {
    const tooLong = await w.watchdog(["silence", "100000"]);
    expect(tooLong.status).toBe(2);
    expect(tooLong.stderr).toContain("silence takes at most 1440 minutes");
    expect((await w.watchdog(["run"])).status).toBe(0);
    // An older version's silence, 30 days long: 25 hours later it no longer holds anything back.
    const now = Math.floor(Date.now() / 1000);
    w.writeState({ ...w.state(), silence_until: now + 30 * 86400 });
    expect((await w.watchdog(["run"])).status).toBe(0);
    w.setDisk(95, 30);
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_TIME: String(now + 25 * 3600) })).status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk failing: ")]);
  });

  it("a clock that was days ahead and is corrected: reminders go on, and no restart warning lingers", async () => {
    const now = Math.floor(Date.now() / 1000);
    const ahead = String(now + 5 * 86400);
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_TIME: ahead, WATCHDOG_FAKE_MONOTONIC: "5000" })).status).toBe(0);
    w.setDisk(95, 30);
    w.setContainers({ rails: { restarts: 1 } });
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_TIME: ahead, WATCHDOG_FAKE_MONOTONIC: "5060" })).status).toBe(0);
    expect(w.state().checks.containers!.state).toBe("warn");
    // The clock is corrected; two hours pass on the monotonic clock.
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_TIME: String(now), WATCHDOG_FAKE_MONOTONIC: String(5060 + 7200) })).status).toBe(0);
    expect(w.state().checks.containers!.state).toBe("ok");
    // Seven hours after the correction the lasting disk failure is told again.
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"], { WATCHDOG_FAKE_TIME: String(now + 7 * 3600), WATCHDOG_FAKE_MONOTONIC: String(5060 + 7200 + 7 * 3600) })).status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk still failing: ")]);
  });

  it("a run killed while it sends: the next run does not send the same alert again", async () => {
    expect((await w.watchdog(["run"])).status).toBe(0);
    mode = "a byte every half second, for ever";
    w.setEnv("ALERT_WEBHOOK_URL", `${badUrl}/hook/slow`);
    w.smtp.messages.length = 0;
    w.setDisk(95, 30);
    const killed = w.watchdog(["run"], { WATCHDOG_TEST_DEADLINE: "600" });
    // Mail went out first; the webhook hangs: SIGKILL, as an OOM kill or a power cut would.
    await waitUntil(() => badRequests.includes("POST /hook/slow HTTP/1.1"));
    expect(w.smtp.messages).toHaveLength(1);
    run("pkill", ["-KILL", "-f", `${w.host.app}/bundle/scripts/watchdog.py run`]);
    await killed;
    w.setEnv("ALERT_WEBHOOK_URL", `${w.receiver.url}/hook/webhook-token-4c1d`);
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.smtp.messages).toHaveLength(1);
    expect(w.hooks()).toEqual([]);
  });

  it("a run stopped by systemd (SIGTERM) saves its state on the way out", async () => {
    mode = "nothing at all";
    w.setEnv("ALERT_PING_URL", `${badUrl}/ping/hang`);
    const stopped = w.watchdog(["run"], { WATCHDOG_TEST_DEADLINE: "600" });
    await waitUntil(() => badRequests.includes("POST /ping/hang/start HTTP/1.1"));
    run("pkill", ["-TERM", "-f", `${w.host.app}/bundle/scripts/watchdog.py run`]);
    const r = await stopped;
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("watchdog: stopped (SIGTERM); its state was saved");
    expect(fs.existsSync(w.stateFile())).toBe(true);
  });
});
