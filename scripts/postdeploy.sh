#!/bin/sh
# azd postdeploy hook (posix): subscribe the onKeyVaultEvent function to the vault's secret events.
#
# Why here and not in Bicep: an AzureFunction destination must name a function that already exists,
# and a Node.js v4 app's functions exist only once its code is deployed and indexed, which happens
# after provisioning. The AzureFunction endpoint type needs no validation handshake and no function
# key (unlike a WebHook to /runtime/webhooks/eventgrid), so nothing secret passes through here.
#
# Idempotent: `event-subscription create` is a create-or-update, so every `azd deploy` re-applies the
# same filter, schema and retry policy.
set -eu

FUNCTION_NAME=onKeyVaultEvent
EVENT_SUBSCRIPTION_NAME=kv-secrets-to-onkeyvaultevent
# The three events onKeyVaultEvent handles (src/runtime/keyVaultEvents.ts); others would only be ignored.
EVENT_TYPES="Microsoft.KeyVault.SecretNewVersionCreated Microsoft.KeyVault.SecretNearExpiry Microsoft.KeyVault.SecretExpired"
# Indexing after a deploy usually takes seconds; a cold Flex app can take a few minutes.
MAX_ATTEMPTS=40
DELAY_SECONDS=15

HOOK_NAME=postdeploy
HOOK_COMMAND="azd deploy"
. "$(dirname "$0")/common.sh"

SUBSCRIPTION=$(azd_value AZURE_SUBSCRIPTION_ID)
RESOURCE_GROUP=$(azd_value AZURE_RESOURCE_GROUP)
APP_NAME=$(azd_value AZURE_FUNCTION_APP_NAME)
APP_RESOURCE_ID=$(azd_value AZURE_FUNCTION_APP_ID)
SYSTEM_TOPIC=$(azd_value AZURE_KEY_VAULT_EVENTS_TOPIC_NAME)

attempt=1
until az functionapp function show --subscription "$SUBSCRIPTION" --resource-group "$RESOURCE_GROUP" \
  --name "$APP_NAME" --function-name "$FUNCTION_NAME" --query id --output tsv >/dev/null 2>&1; do
  if [ "$attempt" -ge "$MAX_ATTEMPTS" ]; then
    log "$FUNCTION_NAME is still not listed on $APP_NAME; check the deployment logs, then run 'azd hooks run postdeploy'"
    exit 1
  fi
  log "waiting for $APP_NAME to index $FUNCTION_NAME ($attempt/$MAX_ATTEMPTS)"
  sleep "$DELAY_SECONDS"
  attempt=$((attempt + 1))
done

# Event Grid schema: what @azure/functions types (EventGridEvent). One event per delivery, so a
# failure retries only that event. 30 attempts over at most 24 hours; the refreshSecrets timer
# catches anything that still gets lost.
# shellcheck disable=SC2086 # EVENT_TYPES is a list on purpose
az eventgrid system-topic event-subscription create \
  --subscription "$SUBSCRIPTION" \
  --resource-group "$RESOURCE_GROUP" \
  --system-topic-name "$SYSTEM_TOPIC" \
  --name "$EVENT_SUBSCRIPTION_NAME" \
  --endpoint-type azurefunction \
  --endpoint "$APP_RESOURCE_ID/functions/$FUNCTION_NAME" \
  --event-delivery-schema eventgridschema \
  --included-event-types $EVENT_TYPES \
  --max-events-per-batch 1 \
  --preferred-batch-size-in-kilobytes 64 \
  --max-delivery-attempts 30 \
  --event-ttl 1440 \
  --output none

log "Event Grid subscription $EVENT_SUBSCRIPTION_NAME on $SYSTEM_TOPIC delivers secret events to $APP_NAME/$FUNCTION_NAME"
