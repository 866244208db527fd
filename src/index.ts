/**
 * @module App entry: starts the component runtime when the Functions worker starts the app, so an
 * invalid component file fails start-up instead of the first request.
 */
import { app } from "@azure/functions";
import { runtime } from "./app";

app.hook.appStart(async () => {
  await runtime.start();
});

app.hook.appTerminate(async () => {
  await runtime.close();
});
