/**
 * @module HTTP functions `healthz` (`/v1.0/healthz`, `/v1.0/healthz/outbound`) and `metadata`.
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

app.http("healthz", { methods: ["GET", "HEAD"], route: "v1.0/healthz/{probe?}", authLevel: "anonymous", handler: serveDaprRequest });
app.http("metadata", { methods: ["GET"], route: "v1.0/metadata", authLevel: "anonymous", handler: serveDaprRequest });
