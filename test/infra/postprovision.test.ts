/**
 * @module Runs the postprovision hook (scripts/postprovision.sh) against a stand-in `az` whose vault is
 * a folder, and proves the provisioning rule of docs/deploy.md: a secret that exists is never
 * overwritten — not a caller token, not the storage key a rotation has replaced — and a missing one is
 * created, with its value passed through a file, never on a command line or in the output.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");
const HOOK = path.join(REPO, "scripts/postprovision.sh");
const STUB = path.join(__dirname, "fixtures/az-stub.sh");
const KEY1 = "c3RhdGUta2V5MS1mcm9tLWxpc3RLZXlzLW5ldmVyLXByaW50ZWQ=";
const ALL = ["caller-reader-token", "caller-ops-token", "storage-account-name", "storage-container", "storage-account-key"];

let dir = "";

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "vaultstate-hook-"));
  mkdirSync(path.join(dir, "vault"));
  mkdirSync(path.join(dir, "bin"));
  symlinkSync(STUB, path.join(dir, "bin", "az"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function seed(name: string, value: string): void {
  writeFileSync(path.join(dir, "vault", name), value);
}

function value(name: string): string | undefined {
  const file = path.join(dir, "vault", name);
  return existsSync(file) ? readFileSync(file, "utf8") : undefined;
}

function tags(name: string): string[] {
  return readFileSync(path.join(dir, "vault", `${name}.tags`), "utf8").trim().split(/\s+/);
}

function calls(): string[] {
  const log = path.join(dir, "calls.log");
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
}

function runHook(env: Record<string, string> = {}): { status: number | null; output: string } {
  const result = spawnSync("sh", [HOOK], {
    encoding: "utf8",
    env: {
      // Only the stub and the base system: no real az or azd can be reached.
      PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
      STUB_AZ_DIR: dir,
      STUB_KEY1: KEY1,
      AZURE_SUBSCRIPTION_ID: "00000000-0000-0000-0000-000000000001",
      AZURE_KEY_VAULT_NAME: "kv-test",
      AZURE_RESOURCE_GROUP: "rg-test",
      AZURE_STATE_STORAGE_ACCOUNT_NAME: "ststatetest",
      AZURE_STATE_STORAGE_CONTAINER: "vaultstate",
      VAULTSTATE_HOOK_DELAY_SECONDS: "0",
      ...env,
    },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe("postprovision hook against a stand-in az", () => {
  it("creates every missing secret: random caller tokens, the state account's name, container and key1", () => {
    const run = runHook();
    expect(run.status, run.output).toBe(0);
    const reader = value("caller-reader-token") ?? "";
    const ops = value("caller-ops-token") ?? "";
    expect(reader).toMatch(/^[0-9a-f]{64}$/);
    expect(ops).toMatch(/^[0-9a-f]{64}$/);
    expect(ops).not.toBe(reader);
    expect(value("storage-account-name")).toBe("ststatetest");
    expect(value("storage-container")).toBe("vaultstate");
    expect(value("storage-account-key"), "key1 byte for byte, no trailing newline").toBe(KEY1);
    expect(tags("caller-reader-token")).toEqual(["vaultstate=caller-token"]);
    // Rotation off: no policy, so nothing ever tries to rotate the key without the role to do it.
    expect(tags("storage-account-key")).toEqual(["vaultstate=state-storage", "rotation-active-key=key1"]);
  });

  it("never puts a value on a command line or in its output", () => {
    const run = runHook();
    expect(run.status, run.output).toBe(0);
    const values = ALL.map((n) => value(n) ?? "").filter((v) => v.length > 20);
    expect(values).toHaveLength(3);
    for (const v of values) {
      expect(run.output).not.toContain(v);
      expect(calls().join("\n")).not.toContain(v);
    }
    expect(calls().filter((c) => c.startsWith("keyvault secret set")).every((c) => c.includes("--file "))).toBe(true);
  });

  it("leaves every existing secret untouched: no write, not even of the same value, and no key listing", () => {
    for (const name of ALL) seed(name, `operator-value-of-${name}`);
    const run = runHook();
    expect(run.status, run.output).toBe(0);
    for (const name of ALL) expect(value(name), name).toBe(`operator-value-of-${name}`);
    expect(calls().filter((c) => c.startsWith("keyvault secret set"))).toEqual([]);
    expect(calls().filter((c) => c.startsWith("storage account keys"))).toEqual([]);
    for (const name of ALL) expect(run.output).toContain(`${name} exists in kv-test; left unchanged`);
  });

  it("keeps a rotated storage key (key2 in the vault) on every later provision, and creates only what is missing", () => {
    seed("storage-account-key", "rotated-to-key2");
    seed("caller-ops-token", "ops-token-handed-out");
    for (let i = 0; i < 2; i++) {
      const run = runHook({ AZURE_ROTATION_ENABLED: "true" });
      expect(run.status, run.output).toBe(0);
    }
    expect(value("storage-account-key")).toBe("rotated-to-key2");
    expect(value("caller-ops-token")).toBe("ops-token-handed-out");
    const created = calls()
      .filter((c) => c.startsWith("keyvault secret set"))
      .map((c) => /--name (\S+)/.exec(c)?.[1]);
    // The second run finds everything present: each missing secret was written exactly once.
    expect(created.sort()).toEqual(["caller-reader-token", "storage-account-name", "storage-container"]);
    expect(readFileSync(path.join(dir, "vault", "caller-reader-token.versions"), "utf8").trim().split("\n")).toHaveLength(1);
  });

  it("with rotation on, writes a new storage-account-key with the arm rotation policy", () => {
    const run = runHook({ AZURE_ROTATION_ENABLED: "true" });
    expect(run.status, run.output).toBe(0);
    expect(tags("storage-account-key").sort()).toEqual(
      [
        "vaultstate=state-storage",
        "rotation-interval=30d",
        "rotation-generator=storage-account-key",
        "rotation-storage-account=ststatetest",
        "rotation-key-source=arm",
        "rotation-active-key=key1",
      ].sort(),
    );
  });

  it("waits while Key Vault still refuses the new role assignment, then goes on", () => {
    const run = runHook({ STUB_FORBIDDEN_SHOWS: "2", VAULTSTATE_HOOK_MAX_ATTEMPTS: "5" });
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain("Key Vault does not accept this identity yet");
    expect(ALL.every((n) => value(n) !== undefined)).toBe(true);
  });

  it("fails, writing nothing, when the refusal outlasts its attempts", () => {
    const run = runHook({ STUB_FORBIDDEN_SHOWS: "100", VAULTSTATE_HOOK_MAX_ATTEMPTS: "2" });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain("cannot read secret caller-reader-token in kv-test");
    expect(calls().filter((c) => c.startsWith("keyvault secret set"))).toEqual([]);
  });
});
