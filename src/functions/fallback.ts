/**
 * @module HTTP functions `daprFallback` and `daprAlphaFallback`: every request under `/v1.0/` or
 * `/v1.0-alpha1/` that no other function takes. daprd answers those with its service-invocation
 * fallback (404 `ERR_DIRECT_INVOKE`), and so do we, through the same API.
 *
 * The catch-alls are scoped to the Dapr prefixes on purpose: with `routePrefix: ""`, a root catch-all
 * would compete with the Functions host's own `/admin/…` and `/runtime/webhooks/…` routes (the Event
 * Grid trigger's endpoint), a known source of hijacked system routes (azure-functions-host#2590,
 * #6990). Paths outside the Dapr prefixes get the host's plain 404.
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

app.http("daprFallback", { methods: [...ALL_METHODS], route: "v1.0/{*path}", authLevel: "anonymous", handler: serveDaprRequest });
app.http("daprAlphaFallback", { methods: [...ALL_METHODS], route: "v1.0-alpha1/{*path}", authLevel: "anonymous", handler: serveDaprRequest });
