/**
 * A real Kubernetes control plane for the tests: etcd and kube-apiserver built from the Go module
 * proxy (go-tools.ts), on 127.0.0.1 ports of their own, in a temporary directory, stopped and
 * deleted by stop(). No controller, scheduler or kubelet runs: the apiserver validates, admits and
 * stores objects (schemas, CRD schemas with CEL, immutability, RBAC); nothing is reconciled.
 *
 * Access is an admin's static token (system:masters) in a kubeconfig for kubectl; TokenRequest
 * works too (a service-account signing key is configured), so a test can act as a ServiceAccount.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { freePort } from "./chatwoot-stub";
import { etcdDir, kubernetesDir } from "./go-tools";
import { run, tempDir } from "./run";

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  server: string;
  /** A kubeconfig file for the admin (insecure-skip-tls-verify: the serving certificate is self-signed). */
  kubeconfig: string;
  /** The apiserver's serving CA (its self-signed certificate), for clients that verify. */
  caFile: string;
  /** The kubectl binary (for scripts that call it by name). */
  kubectlPath: string;
  /** Runs kubectl with the admin kubeconfig. */
  kubectl(args: string[], input?: string): { status: number | null; stdout: string; stderr: string };
  /** Waits until every CRD applied so far is established; throws with kubectl's reason otherwise. */
  crdsEstablished(): Promise<void>;
  stop(): void;
}

/** The binaries, or undefined when Go is missing (the caller skips, or fails under CI=true). */
export function controlPlaneTools(): { etcd: string; apiserver: string; kubectl: string } | undefined {
  const k = kubernetesDir();
  const e = etcdDir();
  if (!k || !e) return undefined;
  return { etcd: path.join(e, "etcd"), apiserver: path.join(k, "kube-apiserver"), kubectl: path.join(k, "kubectl") };
}

async function waitFor(what: string, check: () => Promise<boolean>, proc: ChildProcess, log: string, deadlineMs: number): Promise<void> {
  // The deadline only catches a hang; readiness takes a few seconds.
  const until = Date.now() + deadlineMs;
  while (!(await check())) {
    if (proc.exitCode !== null) throw new Error(`${what} exited (${proc.exitCode}): ${fs.readFileSync(log, "utf8").slice(-3000)}`);
    if (Date.now() > until) throw new Error(`${what} not ready: ${fs.readFileSync(log, "utf8").slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function startControlPlane(): Promise<ControlPlane> {
  const tools = controlPlaneTools();
  if (!tools) throw new Error("etcd and kube-apiserver cannot be built: Go is not installed");
  const dir = tempDir("kube");
  const procs: ChildProcess[] = [];
  const stop = () => {
    for (const p of procs.reverse()) if (p.exitCode === null) p.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const [client, peer, metrics, secure] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const etcdLog = path.join(dir, "etcd.log");
    const etcd = spawn(
      tools.etcd,
      [
        "--data-dir", path.join(dir, "etcd"),
        "--listen-client-urls", `http://127.0.0.1:${client}`,
        "--advertise-client-urls", `http://127.0.0.1:${client}`,
        "--listen-peer-urls", `http://127.0.0.1:${peer}`,
        "--initial-advertise-peer-urls", `http://127.0.0.1:${peer}`,
        "--initial-cluster", `default=http://127.0.0.1:${peer}`,
        "--listen-metrics-urls", `http://127.0.0.1:${metrics}`,
        "--unsafe-no-fsync",
      ],
      { stdio: ["ignore", fs.openSync(etcdLog, "w"), fs.openSync(etcdLog, "a")] },
    );
    procs.push(etcd);

    const token = randomBytes(24).toString("hex");
    fs.writeFileSync(path.join(dir, "tokens.csv"), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    fs.writeFileSync(path.join(dir, "sa.key"), privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "sa.pub"), publicKey.export({ type: "spki", format: "pem" }));
    const apiLog = path.join(dir, "apiserver.log");
    const apiserver = spawn(
      tools.apiserver,
      [
        "--etcd-servers", `http://127.0.0.1:${client}`,
        "--bind-address", "127.0.0.1",
        "--advertise-address", "127.0.0.1",
        // v1.37 refuses a loopback address for the endpoint reconciler.
        "--endpoint-reconciler-type", "none",
        "--secure-port", String(secure),
        "--cert-dir", path.join(dir, "certs"),
        "--token-auth-file", path.join(dir, "tokens.csv"),
        "--authorization-mode", "RBAC",
        "--service-account-issuer", "https://kubernetes.default.svc",
        "--service-account-key-file", path.join(dir, "sa.pub"),
        "--service-account-signing-key-file", path.join(dir, "sa.key"),
        "--service-cluster-ip-range", "10.96.0.0/16",
        // No controller creates service-account tokens for pods here.
        "--disable-admission-plugins", "ServiceAccount",
      ],
      { stdio: ["ignore", fs.openSync(apiLog, "w"), fs.openSync(apiLog, "a")] },
    );
    procs.push(apiserver);

    const server = `https://127.0.0.1:${secure}`;
    const kubeconfig = path.join(dir, "kubeconfig");
    fs.writeFileSync(
      kubeconfig,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: test, cluster: {server: " + JSON.stringify(server) + ", insecure-skip-tls-verify: true}}]",
        "users: [{name: admin, user: {token: " + JSON.stringify(token) + "}}]",
        "contexts: [{name: test, context: {cluster: test, user: admin}}]",
        "current-context: test",
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
    const kubectl = (args: string[], input?: string) => run(tools.kubectl, ["--kubeconfig", kubeconfig, ...args], { input, timeout: 120_000 });
    // Asked over HTTPS from here, not with a kubectl process per poll.
    const ready = () =>
      new Promise<boolean>((resolve) => {
        const req = https.get(`${server}/readyz`, { headers: { Authorization: `Bearer ${token}` }, rejectUnauthorized: false, timeout: 5_000 }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve(res.statusCode === 200 && body.trim() === "ok"));
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(false));
      });
    await waitFor("kube-apiserver", ready, apiserver, apiLog, 120_000);
    const caFile = path.join(dir, "certs", "apiserver.crt");
    const crdsEstablished = async () => {
      // kubectl wait reads each CRD's status.conditions; on a CRD applied a moment ago the apiserver
      // may not have written them yet (null), and kubectl fails on that instead of waiting: it is
      // asked again then (a condition, not a clock; bounded so that it cannot loop forever).
      for (let attempt = 1; ; attempt++) {
        const r = kubectl(["wait", "--for", "condition=established", "--timeout", "120s", "crd", "--all"]);
        if (r.status === 0) return;
        if (!/\.status\.conditions accessor error: <nil>/.test(r.stderr) || attempt >= 100) throw new Error(`CRDs not established: ${r.stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    return { server, kubeconfig, caFile, kubectlPath: tools.kubectl, kubectl, crdsEstablished, stop };
  } catch (e) {
    stop();
    throw e;
  }
}
