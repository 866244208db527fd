/**
 * Failed sign-in throttling through the local host: one bucket per connection peer address (the address
 * the host vouches for), never per `X-Forwarded-For`. Clients come from different loopback addresses
 * (127.0.0.2, 127.0.0.3: Linux routes all of 127/8 to lo), so each is a different socket peer.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/devEnvironment";

const HOST_MODULE = path.join(REPO_ROOT, "packages", "functions-host", "dist", "host.js");
const RATE = 1;
const BURST = 5;

let componentsDir: string;
let child: ChildProcess | undefined;
let url: string;

/** A GET from `localAddress`, with exactly the headers given. */
function get(from: string, target: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${target}`, { headers, localAddress: from, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  componentsDir = await mkdtemp(path.join(tmpdir(), "vs-throttle-"));
  await writeFile(path.join(componentsDir, "memstore.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1, metadata: []}\n");
  const script = `require(${JSON.stringify(HOST_MODULE)}).startHost({ appDir: ${JSON.stringify(REPO_ROOT)}, hostname: "127.0.0.1", port: 0, log: () => {} }).then((h) => console.log("URL " + h.url), (e) => { console.error(e); process.exit(1); });`;
  const started = spawn(process.execPath, ["-e", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, APP_ID: "throttle", API_TOKEN: "demo=right-token", ALLOW_ANONYMOUS: "false", COMPONENTS_PATH: componentsDir, AzureWebJobsStorage: "", RATE_LIMIT_PER_SECOND: String(RATE), RATE_LIMIT_BURST: String(BURST) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child = started;
  let out = "";
  url = await new Promise<string>((resolve, reject) => {
    started.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /URL (\S+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    started.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    started.once("exit", (code) => reject(new Error(`host exited (${code}) before listening:\n${out}`)));
  });
}, 60_000);

afterAll(async () => {
  if (child?.exitCode === null) child.kill("SIGKILL");
  if (componentsDir !== undefined) await rm(componentsDir, { recursive: true, force: true });
});

describe("failed sign-in throttling under the local host", () => {
  it("throttles a guessing client by its socket address; rotating X-Forwarded-For does not help; other clients keep their own bucket", async () => {
    const wrong = { "dapr-api-token": "guess" };
    // Exhaust 127.0.0.2's bucket (a refill of RATE per second may add a few attempts on a slow machine).
    let attempts = 0;
    while ((await get("127.0.0.2", "/v1.0/metadata", { ...wrong, "x-forwarded-for": `198.51.100.${attempts}` })) !== 429) {
      attempts++;
      expect(attempts).toBeLessThan(BURST + 30);
    }
    expect(attempts).toBeGreaterThanOrEqual(BURST);

    // Ten more guesses at once, each claiming another X-Forwarded-For: only what refilled meanwhile gets through.
    const started = Date.now();
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => get("127.0.0.2", "/v1.0/metadata", { ...wrong, "x-forwarded-for": `203.0.113.${i}` })));
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(burst.filter((s) => s === 401).length).toBeLessThanOrEqual(1 + RATE * seconds);
    expect(burst.every((s) => s === 401 || s === 429)).toBe(true);

    // Another client's bucket is full: its first BURST failures are plain 401s.
    const other = await Promise.all(Array.from({ length: BURST }, () => get("127.0.0.3", "/v1.0/metadata", wrong)));
    expect(other).toEqual(Array.from({ length: BURST }, () => 401));
    // A caller with a valid token from the throttled address is served.
    expect(await get("127.0.0.2", "/v1.0/metadata", { "dapr-api-token": "right-token" })).toBe(200);
  }, 60_000);
});
