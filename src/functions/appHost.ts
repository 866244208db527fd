/**
 * @module The process's one app. The app start hook (`src/index.ts`) creates and starts it, so a bad
 * setting or component file fails worker initialisation with a message naming it (an error thrown
 * while modules load would leave the real worker running with no functions); the trigger adapters
 * reach it through {@link currentApp}.
 */
import { createApp, defaultClients, type App } from "../app";
import { readSettings } from "../config/settings";

let started: Promise<App> | undefined;
/** The app once its start finished, for callers that need not wait. */
let ready: App | undefined;

/**
 * Reads the settings, builds the app and starts it, once per process.
 * @throws {@link SettingError} / `ResourceFileError` for a configuration mistake (start-up must fail)
 */
export function startApp(): Promise<App> {
  started ??= (async () => {
    const settings = readSettings();
    const app = createApp(settings, await defaultClients(settings));
    await app.start();
    ready = app;
    return app;
  })();
  return started;
}

/** The started app; a trigger that fires before the start hook ran (a test harness) starts it. */
export function currentApp(): Promise<App> {
  return started ?? startApp();
}

/** The app if its start has finished, else undefined (then {@link currentApp}). */
export function startedApp(): App | undefined {
  return ready;
}

/** Closes the app at shutdown (nothing to do if it never started). */
export async function stopApp(): Promise<void> {
  const app = started;
  started = undefined;
  ready = undefined;
  if (app === undefined) return;
  const closing = await app.catch(() => undefined);
  // A start that finished while this stop waited must not leave the closed app behind as ready.
  if (ready === closing) ready = undefined;
  await closing?.close();
}
