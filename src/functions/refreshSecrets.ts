/**
 * @module Timer function `refreshSecrets`: keeps cached secrets and the components built from them
 * current (schedule `REFRESH_SCHEDULE`, every 5 minutes by default).
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import { readTimerSettings } from "../config/settings";
import { currentApp } from "./appHost";

/** Runs one refresh; the summary (counts and names, never values) goes to the invocation log. */
export async function refreshSecretsHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const vaultstate = await currentApp();
  const summary = await vaultstate.refreshSecrets(timer.isPastDue ? "timer (past due)" : "timer");
  context.log(
    `refreshSecrets: ${summary.checked} checked, ${summary.changed.length} changed, ${summary.rebuilt.length} rebuilt, ${summary.failed.length} failed, ${summary.tokensChanged} token(s) rotated, ${summary.rotations.length} rotation attempt(s)`,
  );
  for (const line of summary.rotations) context.log(`refreshSecrets: ${line}`);
}

// Registration happens while modules load, before the start hook: the schedule is read with a
// parser that cannot throw, and the host validates it.
const timer = readTimerSettings();
app.timer("refreshSecrets", { schedule: timer.schedule, runOnStartup: timer.runOnStartup, handler: refreshSecretsHandler });
