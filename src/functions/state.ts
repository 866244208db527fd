/**
 * @module HTTP function `state`: the Dapr state API under `/v1.0/state/{store}[/{key}|/bulk|/transaction]`.
 */
import { app } from "@azure/functions";
import { serveDaprRequest } from "./http";

app.http("state", { methods: ["GET", "POST", "PUT", "DELETE"], route: "v1.0/state/{store}/{key?}", authLevel: "anonymous", handler: serveDaprRequest });
