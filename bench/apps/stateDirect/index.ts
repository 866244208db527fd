/**
 * @module bench/apps/stateDirect: the P3 baseline, a function app in the same local host (same host
 * settings) that does a state save and get with the Azure SDKs directly: `POST /v1.0/state/{store}`
 * with the app's request body (`[{"key","value"}]`) upserts each item, `GET /v1.0/state/{store}/{key}`
 * reads one back. Same Azurite, account and shared key, container and table as the app. What the app
 * costs beyond this is the app's own state path, not the host's two HTTP hops per save+get.
 */
import { AzureNamedKeyCredential, TableClient } from "@azure/data-tables";
import { app, type HttpRequest, type HttpResponseInit } from "@azure/functions";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";

/** A required setting; the bench passes every one. */
function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`bench app stateDirect: ${name} is not set`);
  return value;
}

const accountName = setting("BENCH_ACCOUNT_NAME");
const accountKey = setting("BENCH_ACCOUNT_KEY");
const container = new BlobServiceClient(setting("BENCH_BLOB_ENDPOINT"), new StorageSharedKeyCredential(accountName, accountKey)).getContainerClient(setting("BENCH_CONTAINER"));
const table = new TableClient(setting("BENCH_TABLE_ENDPOINT"), setting("BENCH_TABLE"), new AzureNamedKeyCredential(accountName, accountKey), { allowInsecureConnection: true });
/** Blob names and the table partition of this baseline, apart from the app's own keys. */
const PREFIX = "bench-direct";

interface Item {
  key: string;
  value: unknown;
}

function isItems(value: unknown): value is Item[] {
  return Array.isArray(value) && value.every((v: unknown) => typeof v === "object" && v !== null && typeof (v as { key?: unknown }).key === "string");
}

async function save(store: string, items: readonly Item[]): Promise<void> {
  for (const item of items) {
    const text = JSON.stringify(item.value);
    if (store === "tablestore") {
      await table.upsertEntity({ partitionKey: PREFIX, rowKey: item.key, Value: text }, "Replace");
    } else {
      const body = Buffer.from(text, "utf8");
      await container.getBlockBlobClient(`${PREFIX}||${item.key}`).upload(body, body.length);
    }
  }
}

async function get(store: string, key: string): Promise<string> {
  if (store === "tablestore") return (await table.getEntity<{ Value: string }>(PREFIX, key)).Value;
  const download = await container.getBlockBlobClient(`${PREFIX}||${key}`).download();
  const chunks: Buffer[] = [];
  for await (const chunk of download.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString("utf8");
}

async function handle(request: HttpRequest): Promise<HttpResponseInit> {
  const store = request.params.store ?? "";
  // An absent optional route parameter arrives as an empty string.
  const key = request.params.key === "" ? undefined : request.params.key;
  if (request.method === "POST" && key === undefined) {
    const items: unknown = await request.json();
    if (!isItems(items)) return { status: 400 };
    await save(store, items);
    return { status: 204 };
  }
  if (request.method === "GET" && key !== undefined) return { status: 200, headers: { "content-type": "application/json" }, body: await get(store, key) };
  return { status: 404 };
}

if (process.env.BENCH_HTTP_STREAM === "true") app.setup({ enableHttpStream: true });

app.http("healthz", { methods: ["GET"], route: "v1.0/healthz/{probe?}", authLevel: "anonymous", handler: async () => ({ status: 204 }) });
app.http("state", { methods: ["GET", "POST"], route: "v1.0/state/{store}/{key?}", authLevel: "anonymous", handler: handle });
