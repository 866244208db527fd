/**
 * @module Deadlines on every storage call, against a real Azurite that is frozen with SIGSTOP (the
 * kernel still accepts connections, nothing answers: a stalled service). Without deadlines these
 * calls hang until the socket dies; with them they fail with a timeout and recover once Azurite runs.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ApiResponse } from "../../../../src/api/errors";
import { createApi } from "../../../../src/api/router";
import { createBlobStateStore } from "../../../../src/components/state/azure/blobstorage/blobStateStore";
import { createTableStateStore } from "../../../../src/components/state/azure/tablestorage/tableStateStore";
import { isStateStoreUnavailableError, type StateStore } from "../../../../src/components/state/stateStore";
import type { Logger } from "../../../../src/observability/logger";
import { parseResourceDocuments } from "../../../../src/runtime/componentFiles";
import { buildRuntime } from "../../../../src/runtime/runtime";
import { useAzurite } from "../../../setup/azurite";
import { createAzureClients } from "../../../../src/azure/clients";

// An Azurite of this file's own: freezing it must not stall other test files.
const azurite = useAzurite();
const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
/** A margin for a loaded 2-core machine; the point is "seconds, not minutes", not precise timing. */
const SLACK_IN_MS = 15_000;

const blobProperties = (timeoutInSeconds: string): Record<string, string> => ({
  accountName: azurite().accountName,
  accountKey: azurite().accountKey,
  endpoint: new URL(azurite().blobEndpoint).origin,
  containerName: "deadlines",
  timeoutInSeconds,
});
const tableProperties = (timeoutInSeconds: string): Record<string, string> => ({
  accountName: azurite().accountName,
  accountKey: azurite().accountKey,
  serviceURL: new URL(azurite().tableEndpoint).origin,
  tableName: "deadlines",
  timeoutInSeconds,
});

/** Runs a call that must fail and reports the error and how long it took. */
async function timed(call: () => Promise<unknown>): Promise<{ error: unknown; elapsedInMs: number }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, elapsedInMs: performance.now() - started };
}

let paused = false;
afterEach(() => {
  if (paused) azurite().resume();
  paused = false;
});
const pause = (): void => {
  azurite().pause();
  paused = true;
};
const resume = (): void => {
  azurite().resume();
  paused = false;
};

describe.skipIf(process.platform === "win32")("storage deadlines with Azurite stopped (SIGSTOP)", () => {
  it("blob and table gets, saves and deletes fail with a timeout within the component's deadline, then recover", async () => {
    const stores: [string, StateStore][] = [
      ["blob", createBlobStateStore({ azure: createAzureClients({}), naming: "v2" })],
      ["table", createTableStateStore({ azure: createAzureClients({}) })],
    ];
    await stores[0][1].init(blobProperties("2"));
    await stores[1][1].init(tableProperties("2"));
    const key = `demo||${randomUUID()}`;
    for (const [, store] of stores) await store.set({ key, value: '"before"', metadata: {}, options: {} });

    pause();
    const outcomes = await Promise.all(
      stores.flatMap(([name, store]) => [
        timed(() => store.get({ key, metadata: {}, options: {} })).then((o) => ({ name: `${name} get`, ...o })),
        timed(() => store.set({ key, value: '"during"', metadata: {}, options: {} })).then((o) => ({ name: `${name} set`, ...o })),
        timed(() => store.delete({ key: `demo||${randomUUID()}`, metadata: {}, options: {} })).then((o) => ({ name: `${name} delete`, ...o })),
      ]),
    );
    for (const { name, error, elapsedInMs } of outcomes) {
      expect(isStateStoreUnavailableError(error) && error.failure === "timeout", `${name}: ${String(error)}`).toBe(true);
      expect((error as Error).message, name).toBe("the state store did not answer within 2000 ms");
      // Timers never fire early, so at least the deadline passed; and far less than a stalled socket's minutes.
      expect(elapsedInMs, name).toBeGreaterThanOrEqual(1_900);
      expect(elapsedInMs, name).toBeLessThan(2_000 + SLACK_IN_MS);
    }

    // The caller's (request's) deadline ends a call earlier than the component's own.
    const early = await timed(() => stores[0][1].get({ key, metadata: {}, options: {} }, { abortSignal: AbortSignal.timeout(300) }));
    expect(isStateStoreUnavailableError(early.error) && early.error.message === "the request's deadline passed before the state store answered").toBe(true);
    expect(early.elapsedInMs).toBeLessThan(2_000);

    resume();
    for (const [name, store] of stores) {
      // A save that timed out may still have been applied once Azurite resumed: either value is fine.
      expect(['"before"', '"during"'], name).toContain((await store.get({ key, metadata: {}, options: {} }))?.data);
      await store.set({ key, value: '"after"', metadata: {}, options: {} });
      expect((await store.get({ key, metadata: {}, options: {} }))?.data, name).toBe('"after"');
    }
    await Promise.all(stores.map(([, store]) => store.close()));
  }, 120_000);

  it("through the API: the request deadline turns a stalled store into a 500 with the operation's errorCode and no address", async () => {
    const component = (name: string, type: string, properties: Record<string, string>): string =>
      `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: ${name}}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n${Object.entries(properties)
        .map(([k, v]) => `  - {name: ${k}, value: "${v}"}`)
        .join("\n")}\n`;
    const yaml = [
      component("blobstore", "state.azure.blobstorage", blobProperties("60")),
      component("tablestore", "state.azure.tablestorage", tableProperties("60")),
      component("memstore", "state.in-memory", {}),
    ].join("---\n");
    const runtime = await buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("deadlines.yaml", yaml),
      apiTokens: ["demo=dev-token"],
      providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} },
      logger,
    });
    const api = createApi({
      runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
      authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
      logger,
      requestTimeoutInMs: 1_500,
      writeRequestTimeoutInMs: 1_500,
    });
    const call = async (method: string, url: string, body?: unknown): Promise<ApiResponse> =>
      api({
        method,
        url,
        headers: new Headers({ "dapr-api-token": "dev-token" }),
        body: async () => new TextEncoder().encode(body === undefined ? "" : JSON.stringify(body)),
      });
    const text = (r: ApiResponse): string => (r.body === undefined ? "" : typeof r.body === "string" ? r.body : Buffer.from(r.body).toString());
    try {
      pause();
      const cases: [string, () => Promise<ApiResponse>, string][] = [
        ["blob get", () => call("GET", "/v1.0/state/blobstore/k"), "ERR_STATE_GET"],
        ["table save", () => call("POST", "/v1.0/state/tablestore", [{ key: "k", value: 1 }]), "ERR_STATE_SAVE"],
        ["blob delete", () => call("DELETE", "/v1.0/state/blobstore/k"), "ERR_STATE_DELETE"],
        ["table transaction", () => call("POST", "/v1.0/state/tablestore/transaction", { operations: [{ operation: "upsert", request: { key: "k", value: 1 } }] }), "ERR_STATE_TRANSACTION"],
      ];
      const results = await Promise.all(
        cases.map(async ([name, run, errorCode]) => {
          const started = performance.now();
          const response = await run();
          return { name, errorCode, response, elapsedInMs: performance.now() - started };
        }),
      );
      for (const { name, errorCode, response, elapsedInMs } of results) {
        expect(response.status, name).toBe(500);
        const body = JSON.parse(text(response)) as { errorCode: string; message: string };
        expect(body.errorCode, name).toBe(errorCode);
        expect(body.message, name).toContain("the request's deadline passed before the state store answered");
        expect(body.message, name).not.toMatch(/127\.0\.0\.1|localhost|:\d{2,5}\b|https?:/);
        expect(elapsedInMs, name).toBeLessThan(1_500 + SLACK_IN_MS);
      }
      // Bulk get answers 200 with a per-key error, still within the deadline.
      const bulk = await call("POST", "/v1.0/state/blobstore/bulk", { keys: ["a", "b"] });
      expect(bulk.status).toBe(200);
      expect(JSON.parse(text(bulk))).toEqual([
        { key: "a", error: "the request's deadline passed before the state store answered" },
        { key: "b", error: "the request's deadline passed before the state store answered" },
      ]);
      // Other stores keep serving while storage is stalled.
      expect((await call("POST", "/v1.0/state/memstore", [{ key: "k", value: 1 }])).status).toBe(204);
      resume();
      expect((await call("POST", "/v1.0/state/blobstore", [{ key: "k", value: 2 }])).status).toBe(204);
      expect(text(await call("GET", "/v1.0/state/blobstore/k"))).toBe("2");
      expect((await call("POST", "/v1.0/state/tablestore", [{ key: "k", value: 3 }])).status).toBe(204);
    } finally {
      resume();
      await runtime.close();
    }
  }, 120_000);
});
