/**
 * @module HTTP functions `zDaprFallback` and `zDaprAlphaFallback`: every request under `/v1.0/` or
 * `/v1.0-alpha1/` that no other function takes. daprd answers those with its service-invocation
 * fallback (404 `ERR_DIRECT_INVOKE`), and so do we, through the same API.
 *
 * The catch-alls are scoped to the Dapr prefixes on purpose: with `routePrefix: ""`, a root catch-all
 * would compete with the Functions host's own `/admin/…` and `/runtime/webhooks/…` routes (the Event
 * Grid trigger's endpoint), a known source of hijacked system routes (azure-functions-host#2590,
 * #6990). Paths outside the Dapr prefixes get the host's plain 404.
 *
 * The Functions host tries routes in function-name order (case-insensitive) and the first match wins,
 * however specific a later route is; the "z" makes these catch-alls sort after every other function, so
 * they only get what no other route matches (and App Insights names the function that really served).
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

const ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

app.http("zDaprFallback", { methods: [...ALL_METHODS], route: "v1.0/{*path}", authLevel: "anonymous", handler: serveDaprRequest });
app.http("zDaprAlphaFallback", { methods: [...ALL_METHODS], route: "v1.0-alpha1/{*path}", authLevel: "anonymous", handler: serveDaprRequest });
