/** @module functions-host/test/cli: startup failures, local.settings.json refusal, arguments and signals of the CLI. */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_PATH, FIXTURES, killAllChildren, spawnNode, startFixtureHost } from "./helpers";

afterAll(killAllChildren);

describe("host CLI", () => {
  it("fails startup with the message of a throwing appStart hook", async () => {
    const run = spawnNode([CLI_PATH, "--port", "0", "--cwd", path.join(FIXTURES, "bad-start-app")]);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain("Host failed to start: appStart hook refused to start");
    expect(run.stdout()).not.toContain("Host listening");
  });

  it("names the main pattern when it matches no file", async () => {
    const run = spawnNode([CLI_PATH, "--port", "0", "--cwd", path.join(FIXTURES, "no-match-app")]);
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('Worker was unable to load entry point "dist/functions/*.js": Found zero files matching the supplied pattern');
  });

  it("refuses an encrypted (or IsEncrypted-less) local.settings.json before loading the app", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "host-cli-"));
    try {
      writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "x", main: "index.js" }));
      writeFileSync(path.join(dir, "index.js"), "process.stdout.write('app loaded\\n');\n");
      writeFileSync(path.join(dir, "local.settings.json"), JSON.stringify({ Values: { A: "1" } }));
      const run = spawnNode([CLI_PATH, "--port", "0", "--cwd", dir]);
      expect(await run.exited).toEqual({ code: 1, signal: null });
      expect(run.stderr()).toMatch(/Host failed to start: local\.settings\.json has "IsEncrypted": true/);
      expect(run.stdout()).not.toContain("app loaded");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits 2 with usage on a bad argument", async () => {
    const run = spawnNode([CLI_PATH, "--port", "not-a-port"]);
    expect(await run.exited).toEqual({ code: 2, signal: null });
    expect(run.stderr()).toContain("--port must be a port number");
    expect(run.stderr()).toContain("Usage: vaultstate-host [--port N] [--cwd DIR]");
  });

  it("stops cleanly with exit code 0 on SIGTERM", async () => {
    const host = await startFixtureHost("esm-app");
    expect((await fetch(`${host.url}/api/esm`)).status).toBe(200);
    expect(await host.stop("SIGTERM")).toEqual({ code: 0, signal: null });
    expect(host.stdout()).toContain("Received SIGTERM; shutting down.");
    expect(host.output()).toContain("[Host] Host stopped");
  });
});
