import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/observability/logger";
import { ResourceFileError } from "../../src/runtime/componentFiles";
import { createRuntimeManager, isStartupConfigurationError } from "../../src/runtime/manager";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, ComponentInitError, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

function realRuntime(): Promise<Runtime> {
  const yaml = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: env}\nspec: {type: secretstores.local.env, version: v1}\n";
  return buildRuntime({ appId: "demo", resources: parseResourceDocuments("c.yaml", yaml), apiTokens: ["t0ken-value"], providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} }, logger });
}

describe("runtime manager start-up", () => {
  it("shares one build between concurrent starts and reports its status", async () => {
    let builds = 0;
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 1000, build: () => (builds++, realRuntime()) });
    expect(manager.status()).toEqual({ state: "starting" });
    const [a, b] = await Promise.all([manager.start(), manager.start()]);
    expect(a).toBe(b);
    expect(builds).toBe(1);
    expect(manager.status().state).toBe("ready");
    await manager.close();
  });

  it("after a failed start, a later request tries again once the retry interval has passed", async () => {
    let now = 0;
    let attempts = 0;
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 1000,
      startRetryIntervalInMs: 10_000,
      now: () => now,
      build: async () => {
        attempts++;
        if (attempts === 1) throw new ComponentInitError("component kv failed to initialise: Key Vault is unreachable");
        return realRuntime();
      },
    });
    await expect(manager.start()).rejects.toThrow("unreachable");
    expect(manager.status()).toMatchObject({ state: "failed" });
    now = 5_000;
    await expect(manager.acquire?.()).rejects.toThrow("unreachable");
    expect(attempts).toBe(1);
    now = 10_000;
    const lease = await manager.acquire?.();
    expect(lease?.runtime.appId).toBe("demo");
    expect(attempts).toBe(2);
    lease?.release();
    await manager.close();
  });

  it("tells configuration mistakes from outages", () => {
    expect(isStartupConfigurationError(new ResourceFileError("f.yaml", "spec.type", "unknown"))).toBe(true);
    expect(isStartupConfigurationError(new ComponentInitError("Key Vault is unreachable"))).toBe(false);
  });
});
