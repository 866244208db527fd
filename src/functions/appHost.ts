/**
 * @module The process's one app. The app start hook (`src/index.ts`) creates and starts it, so a bad
 * setting or component file fails worker initialisation with a message naming it (an error thrown
 * while modules load would leave the real worker running with no functions); the trigger adapters
 * reach it through {@link currentApp}.
 */
import { createApp, defaultClients, type App } from "../app";
import { readSettings } from "../config/settings";

let started: Promise<App> | undefined;

/**
 * Reads the settings, builds the app and starts it, once per process.
 * @throws {@link SettingError} / `ResourceFileError` for a configuration mistake (start-up must fail)
 */
export function startApp(): Promise<App> {
  started ??= (async () => {
    const settings = readSettings();
    const app = createApp(settings, await defaultClients(settings));
    await app.start();
    return app;
  })();
  return started;
}

/** The started app; a trigger that fires before the start hook ran (a test harness) starts it. */
export function currentApp(): Promise<App> {
  return started ?? startApp();
}

/** Closes the app at shutdown (nothing to do if it never started). */
export async function stopApp(): Promise<void> {
  const app = started;
  started = undefined;
  if (app !== undefined) await (await app.catch(() => undefined))?.close();
}
