#Requires -Version 7.0
# azd postdeploy hook (windows): subscribe the onKeyVaultEvent function to the vault's secret events.
#
# Why here and not in Bicep: an AzureFunction destination must name a function that already exists,
# and a Node.js v4 app's functions exist only once its code is deployed and indexed, which happens
# after provisioning. The AzureFunction endpoint type needs no validation handshake and no function
# key (unlike a WebHook to /runtime/webhooks/eventgrid), so nothing secret passes through here.
#
# Idempotent: `event-subscription create` is a create-or-update, so every `azd deploy` re-applies the
# same filter, schema and retry policy. Same behaviour as postdeploy.sh.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$FunctionName = 'onKeyVaultEvent'
$EventSubscriptionName = 'kv-secrets-to-onkeyvaultevent'
# The three events onKeyVaultEvent handles (src/runtime/keyVaultEvents.ts); others would only be ignored.
$EventTypes = @(
    'Microsoft.KeyVault.SecretNewVersionCreated'
    'Microsoft.KeyVault.SecretNearExpiry'
    'Microsoft.KeyVault.SecretExpired'
)
# Indexing after a deploy usually takes seconds; a cold Flex app can take a few minutes.
$MaxAttempts = 40
$DelaySeconds = 15

$HookName = 'postdeploy'
$HookCommand = 'azd deploy'
. "$PSScriptRoot/common.ps1"

$Subscription = Get-AzdValue 'AZURE_SUBSCRIPTION_ID'
$ResourceGroup = Get-AzdValue 'AZURE_RESOURCE_GROUP'
$AppName = Get-AzdValue 'AZURE_FUNCTION_APP_NAME'
$AppResourceId = Get-AzdValue 'AZURE_FUNCTION_APP_ID'
$SystemTopic = Get-AzdValue 'AZURE_KEY_VAULT_EVENTS_TOPIC_NAME'

for ($attempt = 1; ; $attempt++) {
    $indexed = Invoke-Az @('functionapp', 'function', 'show', '--subscription', $Subscription, '--resource-group', $ResourceGroup,
        '--name', $AppName, '--function-name', $FunctionName, '--query', 'id', '--output', 'tsv')
    if ($indexed.ExitCode -eq 0) { break }
    if ($attempt -ge $MaxAttempts) {
        Write-Log "$FunctionName is still not listed on $AppName; check the deployment logs, then run 'azd hooks run postdeploy'"
        exit 1
    }
    Write-Log "waiting for $AppName to index $FunctionName ($attempt/$MaxAttempts)"
    Start-Sleep -Seconds $DelaySeconds
}

# Event Grid schema: what @azure/functions types (EventGridEvent). One event per delivery, so a
# failure retries only that event. 30 attempts over at most 24 hours; the refreshSecrets timer
# catches anything that still gets lost.
$create = Invoke-Az (@(
        'eventgrid', 'system-topic', 'event-subscription', 'create',
        '--subscription', $Subscription,
        '--resource-group', $ResourceGroup,
        '--system-topic-name', $SystemTopic,
        '--name', $EventSubscriptionName,
        '--endpoint-type', 'azurefunction',
        '--endpoint', "$AppResourceId/functions/$FunctionName",
        '--event-delivery-schema', 'eventgridschema',
        '--included-event-types') + $EventTypes + @(
        '--max-events-per-batch', '1',
        '--preferred-batch-size-in-kilobytes', '64',
        '--max-delivery-attempts', '30',
        '--event-ttl', '1440',
        '--output', 'none'))
if ($create.ExitCode -ne 0) {
    Write-Log "cannot create the Event Grid subscription $EventSubscriptionName on ${SystemTopic}:"
    [Console]::Error.WriteLine($create.Output)
    exit 1
}

Write-Log "Event Grid subscription $EventSubscriptionName on $SystemTopic delivers secret events to $AppName/$FunctionName"
