/**
 * @module Event Grid function `onKeyVaultEvent`: Key Vault secret events (Event Grid schema or
 * CloudEvents 1.0) refresh, rotate or report the secret within seconds.
 */
import { app, type InvocationContext } from "@azure/functions";
import { onKeyVaultEvent } from "../app";

/** Handles one event; a thrown error makes Event Grid retry the delivery. */
export async function onKeyVaultEventHandler(event: unknown, context: InvocationContext): Promise<void> {
  context.log(`onKeyVaultEvent: ${await onKeyVaultEvent(event)}`);
}

app.eventGrid("onKeyVaultEvent", { handler: onKeyVaultEventHandler });
