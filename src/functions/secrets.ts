/**
 * @module HTTP function `secrets`: `GET /v1.0/secrets/{store}/{name}` (including `/bulk`).
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

app.http("secrets", { methods: ["GET"], route: "v1.0/secrets/{store}/{name}", authLevel: "anonymous", handler: serveDaprRequest });
