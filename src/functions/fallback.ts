/**
 * @module HTTP function `daprFallback`: every request no other function takes. daprd answers those
 * with its service-invocation fallback (404 `ERR_DIRECT_INVOKE`), and so do we, through the same API.
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

app.http("daprFallback", {
  methods: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
  route: "{*path}",
  authLevel: "anonymous",
  handler: serveDaprRequest,
});
