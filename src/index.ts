/**
 * @module App entry: starts the component runtime when the Functions worker starts the app, so an
 * invalid component file fails start-up instead of the first request.
 */
import { app } from "@azure/functions";
import { runtime } from "./app";
import { isStartupConfigurationError } from "./runtime/manager";

app.hook.appStart(async () => {
  try {
    await runtime.start();
  } catch (e) {
    // A broken configuration will not fix itself: fail start-up loudly. Anything else (a vault or
    // storage account unreachable at cold start) is retried by the next request.
    if (isStartupConfigurationError(e)) throw e;
  }
});

app.hook.appTerminate(async () => {
  await runtime.close();
});
