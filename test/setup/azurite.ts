/**
 * @module Test helper: one Azurite per test file, started in `beforeAll` and stopped in `afterAll`.
 */
import { afterAll, beforeAll } from "vitest";
import { type AzuriteInstance, startAzurite } from "../../tools/azurite";

/**
 * Registers hooks that start Azurite (free ports, temp folder) for the calling test file.
 * @returns a getter for the running instance, valid inside tests and later hooks
 */
export function useAzurite(): () => AzuriteInstance {
  let instance: AzuriteInstance | undefined;
  beforeAll(async () => {
    instance = await startAzurite();
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (instance === undefined) throw new Error("Azurite is not running (useAzurite() hooks have not run)");
    return instance;
  };
}

/** A loopback HTTP proxy that can hold matching requests until released. */
export interface GatedProxy {
  /** `http://127.0.0.1:<port>`: use it as the endpoint instead of Azurite's origin. */
  origin: string;
  /** How many requests are currently held. */
  held(): number;
  /** Lets every held request (and all later ones) through. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Starts a proxy in front of `targetOrigin` that holds requests for which `hold` is true, so a test
 * can order a provider's background request after another client's write. Shared-key signatures do
 * not cover the host, so signed requests pass through unchanged.
 */
export async function startGatedProxy(targetOrigin: string, hold: (method: string, path: string) => boolean): Promise<GatedProxy> {
  const http = await import("node:http");
  const target = new URL(targetOrigin);
  const waiting: (() => void)[] = [];
  let released = false;
  const server = http.createServer((req, res) => {
    const forward = (): void => {
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on("error", () => res.destroy());
      req.pipe(upstream);
    };
    if (!released && hold(req.method ?? "", req.url ?? "")) waiting.push(forward);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    held: () => waiting.length,
    release: () => {
      released = true;
      for (const forward of waiting.splice(0)) forward();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
