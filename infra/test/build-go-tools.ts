/** Builds (or finds cached) the Go tools the tests use; .ci/run calls it before the tests. */
import { caddyDir, composeV2Binary, dotenvCheckBinary, etcdDir, kubernetesDir, resticDir } from "./go-tools";

const started = Date.now();
for (const [name, build] of [["docker-compose", composeV2Binary], ["dotenv-check", dotenvCheckBinary], ["restic", resticDir], ["caddy", caddyDir], ["etcd", etcdDir], ["kube-apiserver and kubectl", kubernetesDir]] as const) {
  const bin = build();
  if (!bin) {
    console.error(`${name}: Go is not installed`);
    process.exit(1);
  }
  console.log(`${name}: ${bin}`);
}
console.log(`Go test tools ready in ${Math.round((Date.now() - started) / 1000)} s`);
