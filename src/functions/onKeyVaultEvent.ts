/**
 * @module Event Grid function `onKeyVaultEvent`: Key Vault secret events (Event Grid schema or
 * CloudEvents 1.0) refresh, rotate or report the secret within seconds.
 */
import { app, type InvocationContext } from "@azure/functions";
import { currentApp } from "./appHost";

/** Handles one event; a thrown error makes Event Grid retry the delivery. */
export async function onKeyVaultEventHandler(event: unknown, context: InvocationContext): Promise<void> {
  const vaultstate = await currentApp();
  context.log(`onKeyVaultEvent: ${await vaultstate.onKeyVaultEvent(event)}`);
}

app.eventGrid("onKeyVaultEvent", { handler: onKeyVaultEventHandler });
