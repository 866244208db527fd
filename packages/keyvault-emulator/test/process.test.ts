/**
 * @module keyvault-emulator/test/process: the CLI as a child process (state file, signals, persistence)
 * and certificate generation racing across processes. Uses the compiled `dist/` (`npm test` builds first).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { generate } from "selfsigned";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDevCertificates } from "../src/certs";
import { admin } from "./helpers";

const execFileAsync = promisify(execFile);
const REPO = path.resolve(__dirname, "..");
const DIST = path.join(REPO, "dist");
const CLI = path.join(DIST, "cli.js");

interface StateFile {
  pid: number;
  vaults: Record<string, string>;
  identityEndpoint: string;
  identityHeader: string;
  adminUrl: string;
  caCertPath: string;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

function startCli(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function readState(file: string): Promise<StateFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as StateFile;
  } catch {
    return undefined;
  }
}

describe("Key Vault emulator as processes", () => {
  let work: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npx tsc -p tsconfig.json" (npm test does it) before these tests`);
    work = mkdtempSync(path.join(tmpdir(), "kv-emulator-proc-"));
  });

  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  it("generates one consistent CA and certificate when several processes race", async () => {
    const dir = path.join(work, "certs-race");
    const script = `require(${JSON.stringify(path.join(DIST, "certs.js"))}).ensureDevCertificates(${JSON.stringify(dir)}).then((p) => {
      const { X509Certificate } = require("node:crypto"); const fs = require("node:fs");
      console.log(JSON.stringify({ ca: new X509Certificate(fs.readFileSync(p.caCertPath)).fingerprint256, leaf: new X509Certificate(fs.readFileSync(p.certPath)).fingerprint256 }));
    });`;
    const results = await Promise.all([1, 2, 3, 4].map(() => execFileAsync(process.execPath, ["-e", script], { cwd: REPO })));
    const prints = results.map((r) => JSON.parse(r.stdout.trim()) as { ca: string; leaf: string });
    expect(new Set(prints.map((p) => p.ca)).size).toBe(1);
    expect(new Set(prints.map((p) => p.leaf)).size).toBe(1);
    const files = (await fs.readdir(dir)).sort();
    expect(files).toEqual(["ca-key.pem", "ca.pem", "localhost-key.pem", "localhost.pem"]);
    const ca = new X509Certificate(readFileSync(path.join(dir, "ca.pem")));
    const leaf = new X509Certificate(readFileSync(path.join(dir, "localhost.pem")));
    expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.subjectAltName).toBe("DNS:localhost, DNS:*.localhost, DNS:*.vault.localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(ca.ca).toBe(true);
  });

  it("reuses valid certificates and replaces an expired leaf without changing the CA", async () => {
    const dir = path.join(work, "certs-renew");
    const first = await ensureDevCertificates(dir);
    const caBefore = readFileSync(first.caCertPath, "utf8");
    const leafBefore = readFileSync(first.certPath, "utf8");
    const again = await ensureDevCertificates(dir);
    expect(readFileSync(again.certPath, "utf8")).toBe(leafBefore);

    const expired = await generate([{ name: "commonName", value: "localhost" }], {
      algorithm: "sha256",
      notBeforeDate: new Date(Date.now() - 10 * 86_400_000),
      notAfterDate: new Date(Date.now() - 86_400_000),
      ca: { cert: caBefore, key: readFileSync(path.join(dir, "ca-key.pem"), "utf8") },
    });
    await fs.writeFile(first.certPath, expired.cert);
    await fs.writeFile(first.keyPath, expired.private);
    await ensureDevCertificates(dir);
    const leafAfter = new X509Certificate(readFileSync(first.certPath));
    expect(readFileSync(first.caCertPath, "utf8")).toBe(caBefore);
    expect(Date.parse(leafAfter.validTo)).toBeGreaterThan(Date.now() + 300 * 86_400_000);

    await fs.writeFile(first.caCertPath, "not a certificate");
    await ensureDevCertificates(dir);
    const newCa = new X509Certificate(readFileSync(first.caCertPath));
    expect(new X509Certificate(readFileSync(first.certPath)).checkIssued(newCa)).toBe(true);
  });

  it("runs from the CLI: prints its endpoints, writes the state file, persists secrets and stops on SIGTERM", async () => {
    const seed = path.join(work, "seed.yaml");
    const stateFile = path.join(work, "state.json");
    const persist = path.join(work, "persist.json");
    await fs.writeFile(seed, ["vaults:", "  cli-vault:", "    secrets:", "      seeded: { value: from-seed, tags: { from: seed } }"].join("\n"));

    const run1 = startCli(["--seed", seed, "--state-file", stateFile, "--persist", persist, "--port", "0"]);
    children.push(run1.child);
    const state = await waitFor(() => readState(stateFile));
    expect(state.pid).toBe(run1.child.pid);
    expect(state.vaults["cli-vault"]).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await waitFor(async () => (run1.output().includes("admin:") ? true : undefined));
    expect(run1.output()).toContain(`IDENTITY_ENDPOINT=${state.identityEndpoint}`);
    expect(run1.output()).toContain(`IDENTITY_HEADER=${state.identityHeader}`);

    process.env.IDENTITY_ENDPOINT = state.identityEndpoint;
    process.env.IDENTITY_HEADER = state.identityHeader;
    const client = new SecretClient(state.vaults["cli-vault"] ?? "", new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
    expect((await client.getSecret("seeded")).value).toBe("from-seed");
    const written = await client.setSecret("added-later", "persist-me");
    await client.setSecret("seeded", "changed");
    expect(run1.output()).toContain("200 setSecret vault=cli-vault name=added-later");
    expect(run1.output()).not.toContain("persist-me");

    run1.child.kill("SIGTERM");
    expect(await run1.exited).toBe(0);
    expect(existsSync(stateFile)).toBe(false);
    expect(readFileSync(persist, "utf8")).toContain(written.properties.version);

    // Second run with the same persistence file: state survives, the seed is not re-applied.
    const run2 = startCli(["--seed", seed, "--state-file", stateFile, "--persist", persist, "--quiet"]);
    children.push(run2.child);
    const state2 = await waitFor(() => readState(stateFile));
    const added = await admin(state2.adminUrl, "GET", "/vaults/cli-vault/secrets/added-later");
    expect(added.json).toMatchObject({ value: "persist-me", version: written.properties.version });
    const seeded = (await admin(state2.adminUrl, "GET", "/vaults/cli-vault/secrets")).json as { secrets: Array<{ name: string; versions: string[] }> };
    expect(seeded.secrets.find((s) => s.name === "seeded")?.versions).toHaveLength(2);
    expect((await admin(state2.adminUrl, "GET", "/vaults/cli-vault/secrets/seeded")).json).toMatchObject({ value: "changed" });
    run2.child.kill("SIGINT");
    expect(await run2.exited).toBe(0);
    expect(run2.output()).not.toContain("[kv-emulator] 200");
  });

  it("rejects bad flags with usage and exit code 2", async () => {
    const run = startCli(["--port", "not-a-port"]);
    children.push(run.child);
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain("--port must be a port number");
    expect(run.output()).toContain("Usage:");
  });
});
