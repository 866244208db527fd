/**
 * @module Timer function `refreshSecrets`: keeps cached secrets and the components built from them
 * current (schedule `REFRESH_SCHEDULE`, every 5 minutes by default).
 */
import { app, type InvocationContext, type Timer } from "@azure/functions";
import { refreshSecrets, refreshTimer } from "../app";

/** Runs one refresh; the summary (counts and names, never values) goes to the invocation log. */
export async function refreshSecretsHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const summary = await refreshSecrets(timer.isPastDue ? "timer (past due)" : "timer");
  context.log(
    `refreshSecrets: ${summary.checked} checked, ${summary.changed.length} changed, ${summary.rebuilt.length} rebuilt, ${summary.failed.length} failed, ${summary.tokensChanged} token(s) rotated, ${summary.rotations.length} rotation attempt(s)`,
  );
  for (const line of summary.rotations) context.log(`refreshSecrets: ${line}`);
}

app.timer("refreshSecrets", { schedule: refreshTimer.schedule, runOnStartup: refreshTimer.runOnStartup, handler: refreshSecretsHandler });
