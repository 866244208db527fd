/**
 * Parity of start-up failures: a bad setting and a bad component file must stop the app loudly, with a
 * message that names the culprit, under the local host AND under the real Node.js worker (where the
 * only visible failure is a failed `workerInitResponse`: an error while modules load leaves the worker
 * on its default model with 0 functions and every route 404).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnHost } from "../../tools/devEnvironment";
import { startRealFunctionsHost, type StartupReport } from "./support/realFunctionsHost";
import { ensureWorkerInstalled, REPO_ROOT, workerUnavailableReason } from "./support/workerInstall";

const unavailable = workerUnavailableReason();
if (unavailable !== undefined) console.warn(unavailable);

/** A setting mistake the app must refuse: Entra ID audiences without issuers. */
const BAD_SETTING = { ENTRA_AUDIENCES: "api://vaultstate", ENTRA_ISSUERS: "", ENTRA_TENANT_ID: "" };

let workerDir: string;
let badComponents: string;

beforeAll(async () => {
  if (unavailable !== undefined) return;
  workerDir = (await ensureWorkerInstalled()).dir;
  badComponents = await mkdtemp(path.join(tmpdir(), "vs-parity-components-"));
  // A component without metadata.name: a configuration mistake, not an outage.
  await writeFile(path.join(badComponents, "broken.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  namespace: x\nspec:\n  type: state.in-memory\n  version: v1\n");
}, 600_000);

afterAll(async () => {
  if (badComponents !== undefined) await rm(badComponents, { recursive: true, force: true });
});

/** Starts the local host and returns its failure output; fails the test if it starts. */
async function localStartFailure(env: Record<string, string>): Promise<string> {
  let output = "";
  try {
    const host = await spawnHost({ port: 0, env: { ALLOW_ANONYMOUS: "true", ...env }, onOutput: (chunk) => (output += chunk), readyTimeoutInMs: 60_000 });
    await host.stop();
  } catch (e) {
    return `${e instanceof Error ? e.message : String(e)}\n${output}`;
  }
  throw new Error(`the local host started despite the mistake:\n${output}`);
}

async function realStartup(env: Record<string, string>): Promise<{ startup: StartupReport; functions: number; output: string }> {
  const host = await startRealFunctionsHost({ workerDir, appDir: REPO_ROOT, env: { ALLOW_ANONYMOUS: "true", ...env } });
  try {
    return { startup: host.startup, functions: host.functions.length, output: host.output() };
  } finally {
    await host.stop();
  }
}

describe.skipIf(unavailable !== undefined)("parity: start-up failures", () => {
  it("a bad component file stops the local host with a message naming the file", async () => {
    const output = await localStartFailure({ COMPONENTS_PATH: badComponents });
    expect(output).toContain("broken.yaml");
    expect(output).toContain("metadata.name");
  });

  it("a bad component file fails worker initialisation with a message naming the file", async () => {
    const { startup, functions } = await realStartup({ COMPONENTS_PATH: badComponents });
    expect(startup.failure?.stage).toBe("workerInit");
    expect(startup.failure?.message).toContain("broken.yaml");
    expect(startup.failure?.message).toContain("metadata.name");
    expect(functions).toBe(0);
  });

  it("a bad setting stops the local host with a message naming it", async () => {
    const output = await localStartFailure(BAD_SETTING);
    expect(output).toContain("ENTRA_ISSUERS");
  });

  it("a bad setting fails worker initialisation with a message naming it", async () => {
    const { startup } = await realStartup(BAD_SETTING);
    expect(startup.failure?.stage).toBe("workerInit");
    expect(startup.failure?.message).toContain("ENTRA_ISSUERS");
  });
});
