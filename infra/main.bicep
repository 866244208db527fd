// vaultstate on Azure: the entry point `azd provision` deploys (see docs/deploy.md).
//
// Subscription scope because azd creates the resource group itself; everything else lives in that
// group and is split into modules under ./app by lifecycle and blast radius, not by resource type.
// Plain resources only, no `br/public:` registry modules: those need an OCI restore from MCR, and the
// offline checks in test/infra parse every file here without a Bicep compiler.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; seeds every resource name and the azd-env-name tag.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption (az functionapp list-flexconsumption-locations).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd (AZURE_PRINCIPAL_ID). It gets Key Vault Secrets Officer so the postprovision hook can create the caller tokens. Empty: no assignment (create the tokens another way).')
param principalId string = ''

@description('Kind of principal behind principalId: User for a person, ServicePrincipal for a CI identity.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('The Dapr app-id of this deployment (APP_ID).')
param appId string = 'vaultstate'

@description('Folder of Component, Configuration and Caller YAML files in the deployed package (COMPONENTS_PATH).')
param componentsPath string = 'components'

@description('NCRONTAB schedule of the refreshSecrets timer (REFRESH_SCHEDULE).')
param refreshSchedule string = '0 */5 * * * *'

@description('Extra callers (API_TOKEN): comma-separated `appId:role=secretstore:secretstore/<secret>` or `...=@Microsoft.KeyVault(...)` entries. Never a literal token: this value is stored in the azd environment and the app settings. Empty: only the Caller documents in components/.')
param apiToken string = ''

@description('Comma-separated Entra ID audiences accepted from callers (ENTRA_AUDIENCES). Empty turns Entra ID callers off.')
param entraAudiences string = ''

@description('Tenant whose Entra ID tokens are accepted (ENTRA_TENANT_ID); empty means the deployment tenant. Only used with entraAudiences.')
param entraTenantId string = ''

@description('Flex Consumption scale-out ceiling; the main cost and blast-radius lever.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory per Flex Consumption instance.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Automatic rotation of the state account key (rotation-key-source: arm) and of any other secret with a rotation policy. True grants the rotation identity Key Vault Secrets Officer on the vault and Storage Account Key Operator Service Role on the state account only, and sets ROTATION_ARM_SUBSCRIPTION_ID/ROTATION_ARM_RESOURCE_GROUP. False: no write role at all, and a secret with a rotation policy reports its rotation as failed.')
param rotationEnabled bool = false

@description('Key Vault purge protection. On (the default) nobody can purge a deleted vault or secret before the retention period ends, and it can never be turned off again; the vault name then stays blocked for keyVaultSoftDeleteRetentionInDays after `azd down`. Off only for throwaway environments.')
param purgeProtection bool = true

@description('Key Vault soft-delete retention. It cannot change after the vault exists, and with purge protection a deleted vault blocks its name for this long.')
@minValue(7)
@maxValue(90)
param keyVaultSoftDeleteRetentionInDays int = 90

@description('Appended to the Key Vault name (letters, digits, hyphens; at most 8). Empty keeps kv-<token>. Set a new one to redeploy an environment while its old vault is still soft-deleted and purge-protected.')
@maxLength(8)
param keyVaultNameSuffix string = ''

var abbrs = loadJsonContent('abbreviations.json')
// One token per subscription, environment and region keeps globally unique names stable across runs.
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Names the app also reads from its settings: Bicep creates them and passes the same names to the app,
// so the two can never disagree.
var appStorageNames = {
  deploymentContainer: 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
  lockContainer: 'vaultstate-locks'
  versionTable: 'vaultstateversions'
  auditTable: 'vaultstaterotations'
}
var stateStorageNames = {
  container: 'vaultstate'
  // components/tablestore.yaml names this table literally.
  table: 'vaultstate'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identities 'app/identities.bicep' = {
  name: 'identities'
  scope: rg
  params: {
    location: location
    tags: tags
    appIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    rotationIdentityName: '${abbrs.managedIdentityUserAssignedIdentities}rotation-${resourceToken}'
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    location: location
    tags: tags
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
  }
}

module appStorage 'app/app-storage.bicep' = {
  name: 'app-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    deploymentContainerName: appStorageNames.deploymentContainer
    lockContainerName: appStorageNames.lockContainer
    versionTableName: appStorageNames.versionTable
    auditTableName: appStorageNames.auditTable
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.keyVaultVaults}${resourceToken}${keyVaultNameSuffix}'
    systemTopicName: '${abbrs.eventGridSystemTopics}kv-${resourceToken}'
    softDeleteRetentionInDays: keyVaultSoftDeleteRetentionInDays
    purgeProtection: purgeProtection
  }
}

module stateStorage 'app/state-storage.bicep' = {
  name: 'state-storage'
  scope: rg
  params: {
    location: location
    tags: tags
    name: '${abbrs.storageStorageAccounts}state${resourceToken}'
    containerName: stateStorageNames.container
    tableName: stateStorageNames.table
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appStorageAccountName: appStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    stateStorageAccountName: stateStorage.outputs.name
    rotationEnabled: rotationEnabled
    appPrincipalId: identities.outputs.appPrincipalId
    rotationPrincipalId: identities.outputs.rotationPrincipalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  // The host starts as soon as the site exists; granting its roles first spares it a round of
  // failed storage and Key Vault calls on the very first start.
  dependsOn: [
    rbac
  ]
  params: {
    location: location
    tags: tags
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    appIdentityId: identities.outputs.appIdentityId
    appIdentityClientId: identities.outputs.appClientId
    rotationIdentityId: identities.outputs.rotationIdentityId
    rotationIdentityClientId: identities.outputs.rotationClientId
    appStorageBlobEndpoint: appStorage.outputs.blobEndpoint
    appStorageTableEndpoint: appStorage.outputs.tableEndpoint
    deploymentContainerName: appStorageNames.deploymentContainer
    lockContainerName: appStorageNames.lockContainer
    versionTableName: appStorageNames.versionTable
    auditTableName: appStorageNames.auditTable
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    appId: appId
    rotationEnabled: rotationEnabled
    componentsPath: componentsPath
    refreshSchedule: refreshSchedule
    apiToken: apiToken
    entraAudiences: entraAudiences
    entraTenantId: empty(entraTenantId) ? tenant().tenantId : entraTenantId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

// azd stores these in the environment (.azure/<env>/.env); the hooks and docs/deploy.md use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output AZURE_FUNCTION_APP_ID string = api.outputs.id
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_BASE_URL string = api.outputs.baseUrl
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output AZURE_KEY_VAULT_EVENTS_TOPIC_NAME string = keyVault.outputs.systemTopicName
output AZURE_STORAGE_ACCOUNT_NAME string = appStorage.outputs.name
output AZURE_STATE_STORAGE_ACCOUNT_NAME string = stateStorage.outputs.name
output AZURE_STATE_STORAGE_CONTAINER string = stateStorage.outputs.containerName
// The postprovision hook tags a storage-account-key it creates with a rotation policy only when true.
output AZURE_ROTATION_ENABLED bool = rotationEnabled
output AZURE_APP_IDENTITY_CLIENT_ID string = identities.outputs.appClientId
output AZURE_ROTATION_IDENTITY_CLIENT_ID string = identities.outputs.rotationClientId
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
