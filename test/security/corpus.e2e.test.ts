/**
 * @module End to end: the hostile-request corpus (./corpus.ts) sent over real HTTP, byte for byte, to the
 * local Functions host with the sample components. For each request: the documented status and errorCode
 * (or content type). After all of them: the host still runs and answers health, nothing it logged says
 * "unexpected error", and every piece of seeded data (state in the three stores, another caller's state,
 * blobs outside the app's key prefix, a Key Vault secret) is exactly as before, etags included.
 */
import * as http from "node:http";
import * as net from "node:net";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2eEnvironment, stopAndCheckResponses, type E2eEnvironment } from "../e2e/environment";
import { API_TOKEN_SETTING, buildCorpus, OTHER_SEED, OTHER_TOKEN, READER_TOKEN, SEEDS, STATE_STORES, TOKEN, UNPREFIXED_BLOB, VICTIM_BLOBS, VICTIM_CONTAINER, type CorpusCase } from "./corpus";

/** A response as received. */
interface Reply {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The state container of the sample `statestore` (Key Vault secret `storage-container`). */
const STATE_CONTAINER = "demo-state";
/**
 * Two writers (`demo`, `other`) on top of the sample's reader, and a per-caller rate limit generous for
 * the corpus (~500 requests as `demo`) but small enough to exceed on purpose at the end, even on a slow
 * machine: {@link BURST} requests always exceed 1000 + 20/s × the seconds they take.
 */
const ENV = { API_TOKEN: API_TOKEN_SETTING, RATE_LIMIT_PER_SECOND: "20", RATE_LIMIT_BURST: "1000" };
const BURST = 1500;

let env: E2eEnvironment;
let blobs: BlobServiceClient;
const corpus = buildCorpus();

function headerList(c: CorpusCase, host: string): [string, string][] {
  const list: [string, string][] = [];
  if (c.transport === "socket" ? c.noHost !== true : true) list.push(["Host", host]);
  if (c.token !== null) list.push(["dapr-api-token", c.token ?? TOKEN]);
  for (const [name, value] of c.headers ?? []) list.push([name, value]);
  const framed = list.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
  if (c.body !== undefined && !framed) list.push(["Content-Length", String(Buffer.byteLength(c.body))]);
  return list;
}

/** Sends with node:http: the path is the raw target, headers exactly as listed (no Host or framing added by Node). */
function sendHttp(port: number, c: CorpusCase): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method: c.method, path: c.path, headers: headerList(c, `127.0.0.1:${port}`).flat(), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    req.setTimeout(20_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end(c.body);
  });
}

/** Writes the request by hand (for what node:http refuses to send) and parses the first final response. */
function sendSocket(port: number, c: CorpusCase): Promise<Reply> {
  const version = c.httpVersion ?? "HTTP/1.1";
  const head =
    version === ""
      ? `${c.method} ${c.path}\r\n\r\n`
      : `${c.method} ${c.path} ${version}\r\n${headerList(c, `127.0.0.1:${port}`)
          .map(([n, v]) => `${n}: ${v}\r\n`)
          .join("")}Connection: close\r\n\r\n`;
  const payload = Buffer.concat([Buffer.from(head, "latin1"), c.body === undefined ? Buffer.alloc(0) : Buffer.from(c.body)]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, "127.0.0.1", () => socket.end(payload));
    socket.setTimeout(20_000, () => socket.destroy(new Error("timed out")));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.code === "EPIPE" ? undefined : reject(e)));
    socket.on("close", () => resolve(parseResponse(Buffer.concat(chunks))));
  });
}

function parseResponse(raw: Buffer): Reply {
  let rest = raw;
  for (;;) {
    const end = rest.indexOf("\r\n\r\n");
    if (end === -1) return { status: 0, headers: {}, body: rest };
    const lines = rest.subarray(0, end).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest.subarray(end + 4);
    // Interim responses (100 Continue) come before the final one.
    if (status >= 100 && status < 200) {
      rest = body;
      continue;
    }
    const length = headers["content-length"];
    if (length !== undefined) body = body.subarray(0, Number(length));
    return { status, headers, body };
  }
}

function send(c: CorpusCase): Promise<Reply> {
  return c.transport === "socket" ? sendSocket(env.port, c) : sendHttp(env.port, c);
}

/** GET a state key as a caller: status, body and etag. */
async function readState(store: string, key: string, token: string): Promise<{ status: number; body: string; etag: string | undefined }> {
  const reply = await sendHttp(env.port, { name: "read", method: "GET", path: `/v1.0/state/${store}/${encodeURIComponent(key)}`, token, expect: { status: 200, contentType: null }, ref: "" });
  return { status: reply.status, body: reply.body.toString("utf8"), etag: reply.headers.etag };
}

async function saveState(store: string, key: string, value: unknown, token: string): Promise<void> {
  const reply = await sendHttp(env.port, { name: "seed", method: "POST", path: `/v1.0/state/${store}`, token, body: JSON.stringify([{ key, value }]), expect: { status: 204, contentType: null }, ref: "" });
  if (reply.status !== 204) throw new Error(`seeding ${store}/${key} failed: ${reply.status} ${reply.body.toString("utf8")}`);
}

async function readSecret(): Promise<string> {
  const reply = await sendHttp(env.port, { name: "kv", method: "GET", path: "/v1.0/secrets/secretstore/demo-secret", expect: { status: 200, contentType: null }, ref: "" });
  return `${reply.status} ${reply.body.toString("utf8")}`;
}

async function blobText(container: string, name: string): Promise<string | undefined> {
  const client = blobs.getContainerClient(container).getBlockBlobClient(name);
  return (await client.exists()) ? (await client.downloadToBuffer()).toString("utf8") : undefined;
}

async function containerNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const container of blobs.listContainers()) names.push(container.name);
  return names.sort();
}

/** Blob names of the state container that are outside every caller's `<app-id>||` prefix. */
async function unprefixedStateBlobs(): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of blobs.getContainerClient(STATE_CONTAINER).listBlobsFlat()) if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*\|\|/.test(blob.name)) names.push(blob.name);
  return names.sort();
}

interface Snapshot {
  state: Map<string, { status: number; body: string; etag: string | undefined }>;
  secret: string;
  containers: string[];
}

async function snapshot(): Promise<Snapshot> {
  const state = new Map<string, { status: number; body: string; etag: string | undefined }>();
  for (const store of STATE_STORES) for (const seed of SEEDS) state.set(`${store}/${seed.key}`, await readState(store, seed.key, TOKEN));
  state.set(`other:memstore/${OTHER_SEED.key}`, await readState("memstore", OTHER_SEED.key, OTHER_TOKEN));
  return { state, secret: await readSecret(), containers: await containerNames() };
}

let before: Snapshot;
let corpusStarted = 0;

beforeAll(async () => {
  env = await startE2eEnvironment(ENV);
  if (env.azurite === undefined) throw new Error("the corpus needs Azurite");
  blobs = BlobServiceClient.fromConnectionString(env.azurite.connectionString);
  for (const store of STATE_STORES) for (const seed of SEEDS) await saveState(store, seed.key, seed.value, TOKEN);
  await saveState("memstore", OTHER_SEED.key, OTHER_SEED.value, OTHER_TOKEN);
  const victim = blobs.getContainerClient(VICTIM_CONTAINER);
  await victim.createIfNotExists();
  for (const [name, content] of Object.entries(VICTIM_BLOBS)) await victim.getBlockBlobClient(name).upload(content, Buffer.byteLength(content));
  const state = blobs.getContainerClient(STATE_CONTAINER);
  await state.createIfNotExists();
  await state.getBlockBlobClient(UNPREFIXED_BLOB.name).upload(UNPREFIXED_BLOB.content, UNPREFIXED_BLOB.content.length);
  before = await snapshot();
  for (const [where, read] of before.state) expect(read.status, where).toBe(200);
  expect(before.secret).toBe('200 {"demo-secret":"hello-from-key-vault"}\n');
  corpusStarted = Date.now();
});

afterAll(async () => {
  await stopAndCheckResponses(env, __filename);
});

describe("corpus size", () => {
  it("has at least 200 distinctly named cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((c) => c.name)).size).toBe(corpus.length);
  });
});

describe("hostile requests get the documented answer", () => {
  it.each(corpus)("$name", async (c) => {
    const reply = await send(c);
    const text = reply.body.toString("utf8");
    const where = `${c.method} ${c.path.slice(0, 120)} → ${reply.status} ${text.slice(0, 300)} (${c.ref})`;
    const statuses: readonly number[] = typeof c.expect.status === "number" ? [c.expect.status] : c.expect.status;
    expect(statuses, where).toContain(reply.status);
    if (c.expect.errorCode !== undefined) {
      expect(reply.headers["content-type"], where).toBe("application/json");
      const parsed: unknown = JSON.parse(text);
      expect(typeof parsed === "object" && parsed !== null && "errorCode" in parsed ? parsed.errorCode : undefined, where).toBe(c.expect.errorCode);
    }
    if (c.expect.contentType !== undefined && c.expect.contentType !== "*") expect(reply.headers["content-type"], where).toBe(c.expect.contentType ?? undefined);
    if (reply.status === 204) expect(reply.body.length, where).toBe(0);
    for (const needle of c.expect.bodyIncludes ?? []) expect(text, where).toContain(needle);
    for (const needle of c.expect.bodyExcludes ?? []) expect(text, where).not.toContain(needle);
    for (const name of c.expect.headersAbsent ?? []) expect(reply.headers[name], where).toBeUndefined();
  });
});

describe("after the corpus", () => {
  it("ran in reasonable time", () => {
    const seconds = (Date.now() - corpusStarted) / 1000;
    expect(seconds).toBeLessThan(60);
  });

  it("the host is still running and healthy", async () => {
    expect(env.host.exitCode).toBeNull();
    expect(env.host.signalCode).toBeNull();
    const health = await sendHttp(env.port, { name: "health", method: "GET", path: "/v1.0/healthz", token: null, expect: { status: 204, contentType: null }, ref: "" });
    expect(health.status).toBe(204);
  });

  it("nothing was served by an unexpected error path (no ERR_INTERNAL, no failed invocation, no host error)", () => {
    const lines = env.output().split("\n");
    expect(lines.filter((l) => /unexpected error while serving a request|Exception while executing function|Unhandled error while serving/.test(l))).toEqual([]);
  });

  it("every seeded state key is unchanged, value and etag (three stores, two callers)", async () => {
    const after = await snapshot();
    expect(Object.fromEntries(after.state)).toEqual(Object.fromEntries(before.state));
  });

  it("the Key Vault secret is unchanged", async () => {
    expect(await readSecret()).toBe(before.secret);
  });

  it("blobs outside the app's key prefix are untouched and no container appeared", async () => {
    const victims: Record<string, string | undefined> = {};
    for (const name of Object.keys(VICTIM_BLOBS)) victims[`${VICTIM_CONTAINER}/${name}`] = await blobText(VICTIM_CONTAINER, name);
    victims[`${STATE_CONTAINER}/${UNPREFIXED_BLOB.name}`] = await blobText(STATE_CONTAINER, UNPREFIXED_BLOB.name);
    const expected: Record<string, string> = {};
    for (const [name, content] of Object.entries(VICTIM_BLOBS)) expected[`${VICTIM_CONTAINER}/${name}`] = content;
    expected[`${STATE_CONTAINER}/${UNPREFIXED_BLOB.name}`] = UNPREFIXED_BLOB.content;
    // One comparison, so a failure shows every blob that changed.
    expect({ victims, unprefixedStateBlobs: await unprefixedStateBlobs(), containers: await containerNames() }).toEqual({
      victims: expected,
      unprefixedStateBlobs: [UNPREFIXED_BLOB.name],
      containers: before.containers,
    });
  });
});

describe("rate limiting (runs last: it exhausts budgets on purpose)", () => {
  async function burst(count: number, token: string): Promise<Reply[]> {
    const replies: Reply[] = [];
    const c: CorpusCase = { name: "burst", method: "GET", path: "/v1.0/metadata", token, expect: { status: 200, contentType: null }, ref: "" };
    for (let i = 0; i < count; i += 50) replies.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => sendHttp(env.port, c)))));
    return replies;
  }

  it("a caller over its budget gets 429 with Retry-After, and is served again afterwards", async () => {
    const replies = await burst(BURST, READER_TOKEN);
    const limited = replies.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]?.headers["retry-after"]).toMatch(/^\d+$/);
    expect(replies.every((r) => r.status === 200 || r.status === 429)).toBe(true);
    // Other callers keep their own budget.
    expect((await readState("memstore", "seed-a", TOKEN)).status).toBe(200);
  });

  it("repeated wrong tokens (credential guessing) are throttled with 429", async () => {
    const replies = await burst(BURST, "guess-token");
    expect(replies.filter((r) => r.status === 429).length).toBeGreaterThan(0);
    expect(replies.every((r) => r.status === 401 || r.status === 429)).toBe(true);
  });
});
