/**
 * @module App entry: turns HTTP streaming on and builds the app in the worker's app start hook, so an
 * invalid setting or component file fails start-up (worker initialisation) with a message naming it.
 */
import { app } from "@azure/functions";
import { startApp, stopApp } from "./functions/appHost";

// Bodies of any transfer encoding reach the API (the buffered path drops chunked bodies), read
// incrementally and bounded by MAX_REQUEST_BODY_BYTES.
app.setup({ enableHttpStream: true });

app.hook.appStart(async () => {
  await startApp();
});

app.hook.appTerminate(async () => {
  await stopApp();
});
