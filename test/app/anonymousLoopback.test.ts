/**
 * Anonymous mode through the local host: decided by the connection's peer address, never by `Host` or
 * `X-Forwarded-For`. The app is served twice, on loopback and on a non-loopback address of this machine
 * (skipped when it has none); a request to the latter that claims `Host: 127.0.0.1` gets 401.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import * as http from "node:http";
import { networkInterfaces, tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/devEnvironment";

const HOST_MODULE = path.join(REPO_ROOT, "packages", "functions-host", "dist", "host.js");
const nonLoopback = Object.values(networkInterfaces())
  .flat()
  .find((info) => info !== undefined && !info.internal && info.family === "IPv4")?.address;

interface Served {
  url: string;
  child: ChildProcess;
}

let componentsDir: string;
const children: ChildProcess[] = [];

/** Serves the built app with startHost on `hostname` in a child process (one host per process). */
async function serve(hostname: string): Promise<Served> {
  const script = `require(${JSON.stringify(HOST_MODULE)}).startHost({ appDir: ${JSON.stringify(REPO_ROOT)}, hostname: ${JSON.stringify(hostname)}, port: 0, log: () => {} }).then((h) => console.log("URL " + h.url), (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(process.execPath, ["-e", script], {
    cwd: REPO_ROOT,
    env: { ...process.env, APP_ID: "anon", ALLOW_ANONYMOUS: "true", API_TOKEN: "", COMPONENTS_PATH: componentsDir, AzureWebJobsStorage: "", RATE_LIMIT_PER_SECOND: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      const match = /URL (\S+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.once("exit", (code) => reject(new Error(`host exited (${code}) before listening:\n${out}`)));
  });
  return { url, child };
}

/** A GET with exactly the headers given (Host included), so the request can claim any host. */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { headers }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  componentsDir = await mkdtemp(path.join(tmpdir(), "vs-anon-"));
  await writeFile(path.join(componentsDir, "memstore.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1, metadata: []}\n");
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  if (componentsDir !== undefined) await rm(componentsDir, { recursive: true, force: true });
});

describe("anonymous mode under the local host", () => {
  it("serves a loopback connection without a token", async () => {
    const { url } = await serve("127.0.0.1");
    const r = await get(`${url}/v1.0/metadata`, {});
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ id: "anon" });
  });

  it.skipIf(nonLoopback === undefined)("refuses a non-loopback connection whatever Host and X-Forwarded-For claim: 401", async () => {
    const { url } = await serve(nonLoopback ?? "");
    const port = new URL(url).port;
    const claims: Record<string, string>[] = [{}, { host: "127.0.0.1" }, { host: `127.0.0.1:${port}` }, { host: "localhost", "x-forwarded-for": "127.0.0.1" }, { host: "[::1]" }];
    for (const headers of claims) {
      const r = await get(`${url}/v1.0/metadata`, headers);
      expect({ headers, status: r.status, body: r.body.trim() }).toEqual({ headers, status: 401, body: "invalid api token" });
    }
    // Health probes stay open to everyone, as in daprd.
    expect((await get(`${url}/v1.0/healthz`, { host: "127.0.0.1" })).status).toBe(204);
  });
});
