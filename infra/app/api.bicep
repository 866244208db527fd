// The Flex Consumption plan and the function app azd deploys the code to (tag azd-service-name: api).
param location string
param tags object
param name string
param planName string
param appIdentityId string
param appIdentityClientId string
param rotationIdentityId string
param rotationIdentityClientId string
param appStorageBlobEndpoint string
param appStorageTableEndpoint string
param deploymentContainerName string
param lockContainerName string
param versionTableName string
param auditTableName string
param applicationInsightsConnectionString string
@description('Vault URI with its trailing slash.')
param keyVaultUri string
param appId string
@description('Sets the ROTATION_ARM_* settings that turn on the `arm` key-pair source (storage key rotation).')
param rotationEnabled bool
param componentsPath string
param refreshSchedule string
param entraAudiences string
param entraTenantId string
@description('API_TOKEN callers, or empty for none (the Caller documents in components/ still apply).')
param apiToken string
param maximumInstanceCount int
param instanceMemoryMB int

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    // Linux: Flex Consumption has no Windows workers.
    reserved: true
  }
}

// Settings every deployment gets. Host storage is identity-based (no connection string anywhere);
// the vaultstate settings are documented in README.md, Configuration.
var baseAppSettings = [
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: appIdentityClientId
  }
  {
    name: 'AzureWebJobsStorage__blobServiceUri'
    value: appStorageBlobEndpoint
  }
  {
    // vaultstate's version table and rotation audit live in the host account's tables.
    name: 'AzureWebJobsStorage__tableServiceUri'
    value: appStorageTableEndpoint
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${appIdentityClientId};Authorization=AAD'
  }
  {
    name: 'APP_ID'
    value: appId
  }
  {
    name: 'COMPONENTS_PATH'
    value: componentsPath
  }
  {
    // Read by components/secretstore.yaml (envRef).
    name: 'KEYVAULT_URI'
    value: keyVaultUri
  }
  {
    // components/secretstore.yaml azureClientId: without it the store would look for a
    // system-assigned identity, which this app does not have.
    name: 'KEYVAULT_CLIENT_ID'
    value: appIdentityClientId
  }
  {
    // Identity for @Microsoft.KeyVault(...) references the app resolves itself (component metadata,
    // API_TOKEN entries such as `app:writer=@Microsoft.KeyVault(VaultName=...;SecretName=...)`).
    name: 'KEY_VAULT_REFERENCE_CLIENT_ID'
    value: appIdentityClientId
  }
  {
    // For any DefaultAzureCredential outside vaultstate's own credential factory (which always
    // passes an explicit client id): without it, it would also look for a system-assigned identity.
    name: 'AZURE_CLIENT_ID'
    value: appIdentityClientId
  }
  {
    name: 'ROTATION_CLIENT_ID'
    value: rotationIdentityClientId
  }
  {
    name: 'ROTATION_LOCK_CONTAINER'
    value: lockContainerName
  }
  {
    name: 'ROTATION_AUDIT_TABLE'
    value: auditTableName
  }
  {
    name: 'VERSION_TABLE_NAME'
    value: versionTableName
  }
  {
    name: 'REFRESH_SCHEDULE'
    value: refreshSchedule
  }
]

// Extra callers beside the Caller documents, e.g. `orders:writer=secretstore:secretstore/caller-orders-token`.
// Only set when given: an empty API_TOKEN means the same as none, but keeping it out keeps the app's
// settings free of placeholders.
var apiTokenAppSettings = empty(apiToken) ? [] : [
  {
    name: 'API_TOKEN'
    value: apiToken
  }
]

// The `arm` key-pair source rotates the state account's keys through ARM; the state account lives in
// this resource group. Only with rotation on, when rbac.bicep grants the role that lets it do so.
var rotationAppSettings = rotationEnabled ? [
  {
    name: 'ROTATION_ARM_SUBSCRIPTION_ID'
    value: subscription().subscriptionId
  }
  {
    name: 'ROTATION_ARM_RESOURCE_GROUP'
    value: resourceGroup().name
  }
] : []

// Entra ID callers need both settings or the app refuses to start, so they come as a pair or not at all.
var entraAppSettings = empty(entraAudiences) ? [] : [
  {
    name: 'ENTRA_TENANT_ID'
    value: entraTenantId
  }
  {
    name: 'ENTRA_AUDIENCES'
    value: entraAudiences
  }
]

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentityId}': {}
      '${rotationIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Platform-resolved @Microsoft.KeyVault(...) settings, if an operator adds any, use the app
    // identity too (there is no system-assigned identity to fall back on).
    keyVaultReferenceIdentity: appIdentityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${appStorageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: appIdentityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: concat(baseAppSettings, apiTokenAppSettings, entraAppSettings, rotationAppSettings)
    }
  }
}

output name string = site.name
output id string = site.id
output baseUrl string = 'https://${site.properties.defaultHostName}'
