/** @module functions-host/test/settings: empty route prefix and local.settings.json Values reaching the app. */

import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

// local.settings.json is git-ignored, so the test writes the fixture's copy and removes it afterwards.
const SETTINGS_FILE = path.join(FIXTURES, "noprefix-app", "local.settings.json");

async function settingValue(host: RunningHost, name: string): Promise<unknown> {
  const res = await fetch(`${host.url}/settings/${name}`);
  expect(res.status).toBe(200);
  const body: unknown = await res.json();
  return typeof body === "object" && body !== null && "value" in body ? body.value : undefined;
}

describe("noprefix-app (routePrefix \"\") with local.settings.json", () => {
  let host: RunningHost;

  beforeAll(async () => {
    writeFileSync(
      SETTINGS_FILE,
      JSON.stringify({
        IsEncrypted: false,
        Values: { FIXTURE_SETTING: "from-local-settings", PRESET_SETTING: "from-file", NUMERIC_SETTING: 42 },
        Host: { LocalHttpPort: 1 },
      }),
    );
    // --port 0 beats Host.LocalHttpPort; PRESET_SETTING is already in the real environment, which wins.
    host = await startFixtureHost("noprefix-app", { PRESET_SETTING: "from-env" });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
    rmSync(SETTINGS_FILE, { force: true });
  });

  it("serves routes without a prefix", async () => {
    const res = await fetch(`${host.url}/hello/world`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("hello world");
  });

  it("does not serve the default api prefix", async () => {
    expect((await fetch(`${host.url}/api/hello/world`)).status).toBe(404);
  });

  it("puts Values into process.env before the app runs, real environment first", async () => {
    expect(await settingValue(host, "FIXTURE_SETTING")).toBe("from-local-settings");
    expect(await settingValue(host, "NUMERIC_SETTING")).toBe("42");
    expect(await settingValue(host, "PRESET_SETTING")).toBe("from-env");
    expect(host.stdout()).toContain("Skipping 'PRESET_SETTING' from local settings as it's already defined in current environment variables.");
  });
});
