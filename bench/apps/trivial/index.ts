/**
 * @module bench/apps/trivial: the P1 baseline, a function app that answers the secret route with a
 * fixed body and headers (the app's own answer, passed in by the bench), served by the same local host
 * with the same host settings. What the app costs beyond this is the app's own code.
 */
import { app, type HttpResponseInit } from "@azure/functions";

const body = process.env.BENCH_BODY ?? "{}";
const headers = JSON.parse(process.env.BENCH_HEADERS ?? "{}") as Record<string, string>;
const answer: HttpResponseInit = { status: 200, headers, body };

if (process.env.BENCH_HTTP_STREAM === "true") app.setup({ enableHttpStream: true });

app.http("healthz", { methods: ["GET"], route: "v1.0/healthz/{probe?}", authLevel: "anonymous", handler: async () => ({ status: 204 }) });
app.http("secrets", { methods: ["GET"], route: "v1.0/secrets/{store}/{name}", authLevel: "anonymous", handler: async () => answer });
