#!/usr/bin/env node
/**
 * @module bench/run: `npm run bench`. Measures the running app on loopback: throughput and latency of
 * cached secret reads, state reads and writes (autocannon, bounded in time), and how long a new Key
 * Vault version takes to be served by the instance that gets the event and by a second instance.
 * Speed lives here, never in timed unit tests.
 */
import autocannon from "autocannon";
import { startDevEnvironment, type DevEnvironment } from "../tools/devEnvironment";

const TOKEN = "bench-token";
const DURATION_SECONDS = Number(process.env.BENCH_SECONDS ?? "5");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "20");

interface Scenario {
  name: string;
  method: "GET" | "POST";
  path: string;
  body?: string;
}

async function load(env: DevEnvironment, scenario: Scenario): Promise<string> {
  const result = await autocannon({
    url: `${env.url}${scenario.path}`,
    method: scenario.method,
    headers: { "dapr-api-token": TOKEN, "content-type": "application/json" },
    body: scenario.body,
    connections: CONNECTIONS,
    duration: DURATION_SECONDS,
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  return `${scenario.name.padEnd(40)} ${String(Math.round(result.requests.average)).padStart(7)} req/s   p50 ${String(result.latency.p50).padStart(4)} ms   p99 ${String(result.latency.p99).padStart(4)} ms   failed ${failed}`;
}

async function timeUntil(check: () => Promise<boolean>, timeoutInMs: number): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutInMs) {
    if (await check()) return performance.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Number.NaN;
}

async function served(url: string, value: string): Promise<boolean> {
  const r = await fetch(`${url}/v1.0/secrets/secretstore/demo-secret`, { headers: { "dapr-api-token": TOKEN } });
  const body = (await r.json()) as Record<string, string>;
  return body["demo-secret"] === value;
}

async function main(): Promise<void> {
  const env = await startDevEnvironment({
    port: 0,
    env: { API_TOKEN: `demo=${TOKEN}`, RATE_LIMIT_PER_SECOND: "0", COHERENCE_INTERVAL_SECONDS: "1", REFRESH_SCHEDULE: "0 0 0 1 1 *" },
    onHostOutput: () => {},
  });
  try {
    const peer = await env.startAnotherHost({}, () => {});
    for (const store of ["memstore", "statestore"]) {
      await fetch(`${env.url}/v1.0/state/${store}`, { method: "POST", headers: { "dapr-api-token": TOKEN }, body: JSON.stringify([{ key: "bench", value: { n: 1 } }]) });
    }
    const lines = [`vaultstate bench: ${CONNECTIONS} connections, ${DURATION_SECONDS} s per scenario, one host process on ${env.url}`, ""];
    for (const scenario of [
      { name: "GET secret (Key Vault, cached)", method: "GET", path: "/v1.0/secrets/secretstore/demo-secret" },
      { name: "GET secret (local file)", method: "GET", path: "/v1.0/secrets/localsecretstore/demo-secret" },
      { name: "GET state (memstore)", method: "GET", path: "/v1.0/state/memstore/bench" },
      { name: "POST state (memstore)", method: "POST", path: "/v1.0/state/memstore", body: JSON.stringify([{ key: "bench", value: { n: 2 } }]) },
      { name: "GET state (statestore, Blob on Azurite)", method: "GET", path: "/v1.0/state/statestore/bench" },
    ] satisfies Scenario[]) {
      lines.push(await load(env, scenario));
    }
    // Event-to-serve latency: the instance that gets the Event Grid delivery, then the other one.
    const vault = env.emulator?.store("vaultstate-dev");
    if (vault !== undefined) {
      await served(env.url, "");
      await served(peer.url, "");
      vault.set("demo-secret", { value: "bench-new-version" });
      const [first, second] = await Promise.all([timeUntil(() => served(env.url, "bench-new-version"), 10_000), timeUntil(() => served(peer.url, "bench-new-version"), 30_000)]);
      lines.push("", `new Key Vault version served: ${first.toFixed(0)} ms on the instance that got the event, ${second.toFixed(0)} ms on the other instance`);
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await env.stop();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
